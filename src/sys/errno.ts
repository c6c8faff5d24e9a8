/**
 * errno numbers (x86_64 Linux) → name and a short meaning, for error lines such as
 * `bpf(BPF_PROG_ATTACH) on /sys/fs/cgroup/x: EPERM (operation not permitted)`.
 * Pure table; the numbers come from asm-generic/errno-base.h and errno.h.
 */

type ErrnoTable = Record<number, [name: string, meaning: string]>;
let table: ErrnoTable | undefined;

/** Made at the first error told, not at every process's start (the table is most of this module's load). */
const errnoTable = (): ErrnoTable => (table ??= {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted system call"],
  5: ["EIO", "input/output error"],
  6: ["ENXIO", "no such device or address"],
  7: ["E2BIG", "argument list too long"],
  8: ["ENOEXEC", "exec format error"],
  9: ["EBADF", "bad file descriptor"],
  10: ["ECHILD", "no child processes"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "cannot allocate memory"],
  13: ["EACCES", "permission denied"],
  14: ["EFAULT", "bad address"],
  15: ["ENOTBLK", "block device required"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "file exists"],
  18: ["EXDEV", "invalid cross-device link"],
  19: ["ENODEV", "no such device"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "is a directory"],
  22: ["EINVAL", "invalid argument"],
  23: ["ENFILE", "too many open files in system"],
  24: ["EMFILE", "too many open files"],
  25: ["ENOTTY", "inappropriate ioctl for device"],
  26: ["ETXTBSY", "text file busy"],
  27: ["EFBIG", "file too large"],
  28: ["ENOSPC", "no space left on device"],
  29: ["ESPIPE", "illegal seek"],
  30: ["EROFS", "read-only file system"],
  31: ["EMLINK", "too many links"],
  32: ["EPIPE", "broken pipe"],
  33: ["EDOM", "numerical argument out of domain"],
  34: ["ERANGE", "numerical result out of range"],
  35: ["EDEADLK", "resource deadlock avoided"],
  36: ["ENAMETOOLONG", "file name too long"],
  37: ["ENOLCK", "no locks available"],
  38: ["ENOSYS", "function not implemented"],
  39: ["ENOTEMPTY", "directory not empty"],
  40: ["ELOOP", "too many levels of symbolic links"],
  61: ["ENODATA", "no data available"],
  75: ["EOVERFLOW", "value too large for defined data type"],
  84: ["EILSEQ", "invalid or incomplete multibyte or wide character"],
  88: ["ENOTSOCK", "socket operation on non-socket"],
  95: ["EOPNOTSUPP", "operation not supported"],
  98: ["EADDRINUSE", "address already in use"],
  99: ["EADDRNOTAVAIL", "cannot assign requested address"],
  101: ["ENETUNREACH", "network is unreachable"],
  104: ["ECONNRESET", "connection reset by peer"],
  110: ["ETIMEDOUT", "connection timed out"],
  111: ["ECONNREFUSED", "connection refused"],
  122: ["EDQUOT", "disk quota exceeded"],
  125: ["ECANCELED", "operation canceled"],
  // Kernel-internal, but bpf(2) and some drivers leak it to user space.
  524: ["ENOTSUPP", "operation not supported (kernel-internal code)"],
});

/** `EPERM` for 1; `errno 4242` for a number not in the table. */
export function errnoName(n: number): string {
  return errnoTable()[n]?.[0] ?? `errno ${n}`;
}

/** `operation not permitted` for 1; `unknown error` for a number not in the table. */
export function errnoMeaning(n: number): string {
  return errnoTable()[n]?.[1] ?? "unknown error";
}

/** `EPERM (operation not permitted)`: the form error lines use. */
export function describeErrno(n: number): string {
  const e = errnoTable()[n];
  return e ? `${e[0]} (${e[1]})` : `errno ${n}`;
}
