/**
 * A tiny eBPF instruction encoder: just the opcodes the cgroup device filter needs.
 *
 * Why by hand: no npm library assembles eBPF (the ecosystem's assemblers are Go's
 * cilium/ebpf and C's libbpf, both needing a toolchain we do not ship), and the program
 * is a few dozen fixed-shape instructions — runc and crun build it the same way.
 * Pure: bytes out, no I/O.
 *
 * Encoding (include/uapi/linux/bpf.h `struct bpf_insn`, little-endian on x86_64):
 *   u8 code | u8 dst:4 (low) src:4 (high) | s16 off | s32 imm
 */

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

export interface Insn {
  code: number;
  dst: Reg;
  src: Reg;
  /** jump distance, counted from the next instruction */
  off: number;
  imm: number;
}

// Instruction classes, sizes, modes, operations and sources.
const LDX = 0x01, ALU = 0x04, JMP = 0x05, JMP32 = 0x06;
const W = 0x00, MEM = 0x60;
const K = 0x00, X = 0x08;
const AND = 0x50, RSH = 0x70, MOV = 0xb0;
const JEQ = 0x10, JNE = 0x50, EXIT = 0x90;

export type JumpOp = "jeq" | "jne";
const JUMP_OPS: Record<JumpOp, number> = { jeq: JEQ, jne: JNE };

const insn = (code: number, dst: Reg, src: Reg, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** dst = *(u32 *)(src + off) */
export const loadWord = (dst: Reg, src: Reg, off: number) => insn(LDX | MEM | W, dst, src, off, 0);
/** dst = (u32)dst & imm */
export const and32 = (dst: Reg, imm: number) => insn(ALU | AND | K, dst, 0, 0, imm);
/** dst = (u32)dst >> imm */
export const rsh32 = (dst: Reg, imm: number) => insn(ALU | RSH | K, dst, 0, 0, imm);
/** dst = (u32)src */
export const mov32Reg = (dst: Reg, src: Reg) => insn(ALU | MOV | X, dst, src, 0, 0);
/** dst = (u32)imm */
export const mov32 = (dst: Reg, imm: number) => insn(ALU | MOV | K, dst, 0, 0, imm);
/**
 * if ((u32)dst OP (u32)imm) skip `off` instructions. JMP32 (Linux 5.1+) rather than the
 * 64-bit JMP runc uses, so numbers ≥ 2^31 compare right: a 64-bit compare sign-extends
 * the immediate and could never equal the zero-extended register.
 */
export const jump32 = (op: JumpOp, dst: Reg, imm: number, off: number) => insn(JMP32 | JUMP_OPS[op] | K, dst, 0, off, imm);
/** if ((u32)dst OP (u32)src) skip `off` instructions */
export const jump32Reg = (op: JumpOp, dst: Reg, src: Reg, off: number) => insn(JMP32 | JUMP_OPS[op] | X, dst, src, off, 0);
/** return r0 */
export const exit = () => insn(JMP | EXIT, 0, 0, 0, 0);

/** The program as the kernel's BPF_PROG_LOAD reads it: 8 bytes per instruction. */
export function encode(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * 8);
  const view = new DataView(bytes.buffer);
  insns.forEach((i, n) => {
    view.setUint8(n * 8, i.code);
    view.setUint8(n * 8 + 1, (i.src << 4) | i.dst);
    view.setInt16(n * 8 + 2, i.off, true);
    view.setInt32(n * 8 + 4, i.imm | 0, true);
  });
  return bytes;
}
