/**
 * The project's one handle on libc.so.6, through Bun's FFI: raw syscall(2) for the
 * calls Bun has no API for (bpf, and later others), errno, close.
 *
 * Opened on first use, never at import: the runtime CLI is exec'd several times per
 * container and most of its commands never need it.
 */
import type { Pointer } from "bun:ffi";

// bun:ffi is required on first use, not imported: loading it costs a few ms, and
// `berth-runtime state` (exec'd by callers in loops) never needs it.
const ffi = () => require("bun:ffi") as typeof import("bun:ffi");

const I64 = "i64" as const;

function open() {
  return ffi().dlopen("libc.so.6", {
    // long syscall(long nr, ...): variadic in C, but on x86_64 every integer argument
    // travels in a register either way, so a fixed six-i64 signature is the same call.
    syscall: { args: [I64, I64, I64, I64, I64, I64], returns: I64 },
    __errno_location: { args: [], returns: "ptr" },
    close: { args: ["i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    mkfifo: { args: ["cstring", "u32"], returns: "i32" },
    socketpair: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  }).symbols;
}

let lib: ReturnType<typeof open> | undefined;
const libc = () => (lib ??= open());

export type SyscallArg = number | bigint | Pointer;

/**
 * syscall(2): the raw return value, -1 on failure with the reason in {@link errno}.
 * Read errno right after, before anything else can call into libc.
 */
export function syscall(nr: number, a1: SyscallArg = 0, a2: SyscallArg = 0, a3: SyscallArg = 0, a4: SyscallArg = 0, a5: SyscallArg = 0): number {
  return Number(libc().syscall(nr, a1, a2, a3, a4, a5));
}

/** The calling thread's errno: the reason the last failed libc call gave. */
export function errno(): number {
  const at = libc().__errno_location();
  if (at === null) throw new Error("__errno_location returned NULL");
  return ffi().read.i32(at as Pointer);
}

/** close(2); returns 0, or -1 with {@link errno} set. */
export function close(fd: number): number {
  return libc().close(fd);
}

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2) on an open fd; returns 0, or -1 with {@link errno} set. */
export function flock(fd: number, op: number): number {
  return libc().flock(fd, op);
}

/** mkfifo(3); returns 0, or -1 with {@link errno} set. */
export function mkfifo(path: string, mode: number): number {
  return libc().mkfifo(Buffer.from(`${path}\0`), mode);
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;

/** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): two connected fds, or -1 with {@link errno} set. */
export function socketPair(): [number, number] | -1 {
  const fds = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ffi().ptr(fds)) !== 0) return -1;
  return [fds[0]!, fds[1]!];
}
