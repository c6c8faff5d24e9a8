/**
 * The init plan's wire format (native/PROTOCOL.md): what the helper reads from its
 * socket. Little-endian, length-prefixed, no parsing beyond reading integers in C.
 *
 *   plan := "BRTHPLN3" u32 total_len u32 op_count op*
 *   op   := u32 code u32 arg_count arg*
 *   arg  := u32 len bytes[len]      (string: bytes + NUL; integer: 8 bytes u64; raw bytes)
 */
import { OP, type InitPlan } from "./ops.ts";

/**
 * The last digit is the protocol's version: raised whenever an op's arguments change, so
 * a helper from another build refuses the plan at its first 8 bytes ("magic") instead
 * of misreading an op. 2: FORK takes (wait, console). 3: FORK takes (wait, console, cgroup).
 */
const MAGIC = "BRTHPLN3";
const encoder = new TextEncoder();

/** A string argument's bytes, without the NUL the wire adds. */
function stringBytes(arg: string): Uint8Array {
  const s = encoder.encode(arg);
  if (s.includes(0)) throw new Error(`plan string contains a NUL byte: ${JSON.stringify(arg)}`);
  return s;
}

function checkInteger(arg: number | bigint): void {
  // validation keeps every number in its field's range; one past 64 bits here would wrap silently
  if (typeof arg === "number" && (!Number.isInteger(arg) || arg < -(2 ** 63) || arg >= 2 ** 64)) throw new Error(`plan integer out of 64 bits: ${arg}`);
}

/** Serialise a plan for native/berth-init. */
export function encodePlan(plan: InitPlan): Uint8Array {
  // Two passes into one buffer: each string encoded once, every length and integer written
  // through one DataView (a buffer and a DataView per argument, then a copy, was ~0.5 ms of a create)
  const bytesOf: (Uint8Array | undefined)[] = [];
  let size = 16;
  for (const step of plan.ops) {
    size += 8;
    for (const arg of step.args) {
      const bytes = typeof arg === "string" ? stringBytes(arg) : arg instanceof Uint8Array ? arg : undefined;
      if (bytes === undefined) checkInteger(arg as number | bigint);
      bytesOf.push(bytes);
      size += 4 + (bytes === undefined ? 8 : bytes.length + (typeof arg === "string" ? 1 : 0));
    }
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  encoder.encodeInto(MAGIC, out);
  view.setUint32(8, size, true);
  view.setUint32(12, plan.ops.length, true);
  let at = 16;
  let k = 0;
  for (const step of plan.ops) {
    view.setUint32(at, OP[step.op], true);
    view.setUint32(at + 4, step.args.length, true);
    at += 8;
    for (const arg of step.args) {
      const bytes = bytesOf[k++];
      if (bytes === undefined) {
        view.setUint32(at, 8, true);
        if (typeof arg === "number" && arg >= 0) {
          // exact in doubles: an integer below 2^64 splits into two 32-bit halves without BigInt
          view.setUint32(at + 4, arg % 2 ** 32, true);
          view.setUint32(at + 8, Math.floor(arg / 2 ** 32), true);
        } else {
          view.setBigUint64(at + 4, BigInt.asUintN(64, BigInt(arg as number | bigint)), true);
        }
        at += 12;
        continue;
      }
      // a string's NUL is the new buffer's zero after it
      const len = bytes.length + (typeof arg === "string" ? 1 : 0);
      view.setUint32(at, len, true);
      out.set(bytes, at + 4);
      at += 4 + len;
    }
  }
  return out;
}
