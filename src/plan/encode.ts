/**
 * The init plan's wire format (native/PROTOCOL.md): what the helper reads from its
 * socket. Little-endian, length-prefixed, no parsing beyond reading integers in C.
 *
 *   plan := "BRTHPLN3" u32 total_len u32 op_count op*
 *   op   := u32 code u32 arg_count arg*
 *   arg  := u32 len bytes[len]      (string: bytes + NUL; integer: 8 bytes u64; raw bytes)
 */
import { OP, type InitPlan, type OpArg } from "./ops.ts";

/**
 * The last digit is the protocol's version: raised whenever an op's arguments change, so
 * a helper from another build refuses the plan at its first 8 bytes ("magic") instead
 * of misreading an op. 2: FORK takes (wait, console). 3: FORK takes (wait, console, cgroup).
 */
const MAGIC = "BRTHPLN3";
const encoder = new TextEncoder();

function argBytes(arg: OpArg): Uint8Array {
  if (arg instanceof Uint8Array) return arg;
  if (typeof arg === "string") {
    const s = encoder.encode(arg);
    if (s.includes(0)) throw new Error(`plan string contains a NUL byte: ${JSON.stringify(arg)}`);
    const out = new Uint8Array(s.length + 1);
    out.set(s);
    return out;
  }
  // validation keeps every number in its field's range; one past 64 bits here would wrap silently
  if (typeof arg === "number" && (!Number.isInteger(arg) || arg < -(2 ** 63) || arg >= 2 ** 64)) throw new Error(`plan integer out of 64 bits: ${arg}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(arg)), true);
  return out;
}

/** Serialise a plan for native/berth-init. */
export function encodePlan(plan: InitPlan): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 16;
  for (const step of plan.ops) {
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint32(0, OP[step.op], true);
    view.setUint32(4, step.args.length, true);
    parts.push(head);
    size += 8;
    for (const arg of step.args) {
      const bytes = argBytes(arg);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, bytes.length, true);
      parts.push(len, bytes);
      size += 4 + bytes.length;
    }
  }
  const out = new Uint8Array(size);
  out.set(encoder.encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, size, true);
  view.setUint32(12, plan.ops.length, true);
  let at = 16;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
