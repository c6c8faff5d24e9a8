/**
 * A sealed in-memory copy of an executable, to run instead of its file: runc's defence
 * against CVE-2019-5736 (libcontainer/dmz's memfd clone). berth-init runs inside a
 * container's pid namespace between clone and execve (create, exec, enter); a container
 * process that may ptrace — CAP_SYS_PTRACE, which --cap-add and --privileged give — can
 * open its /proc/PID/exe despite PR_SET_DUMPABLE 0, and once the helper has exec'd, write
 * into what that link names. Run from this copy, the link names a memfd sealed against
 * writes, growth and shrinking: the write fails (EPERM), and could only have reached the
 * copy, never the host's binary.
 *
 * Copied with sendfile(2): copy_file_range refuses a copy between two filesystems (EXDEV,
 * Linux 5.19+), which the helper's disk and the memfd's tmpfs are.
 */
import { close, errno, O, openPath, preadFd, statFd, syscall, SysError } from "./libc.ts";

// x86_64 system call numbers (the helper is built for it, as sys/mount.ts's are)
const SYS_MEMFD_CREATE = 319;
const SYS_SENDFILE = 40;
const SYS_FCNTL = 72;

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
/** an executable memfd, said out loud: Linux 6.3+ logs a memfd made without MFD_EXEC or MFD_NOEXEC_SEAL, and vm.memfd_noexec may make it the rule */
const MFD_EXEC = 0x10;
const EINVAL = 22;

const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;

/**
 * A close-on-exec memfd holding a copy of `path`, sealed: exec it as `/proc/self/fd/N`
 * (the caller closes it once the child has exec'd). Undefined for a script (`#!`, a
 * test's wrapper around the helper): the kernel runs its interpreter, which reads the
 * script by the path it was exec'd by — a closed fd's — and a copy would guard nothing.
 * Throws SysError naming the call.
 */
export function sealedCopy(path: string): number | undefined {
  // one open for both looks: the first two bytes (pread leaves the offset), then the copy
  const src = openPath(path, O.RDONLY);
  try {
    const head = new Uint8Array(2);
    if (preadFd(src, head, 0) === 2 && head[0] === 0x23 && head[1] === 0x21) return undefined;
    return sealedCopyOf(src, path);
  } finally {
    close(src);
  }
}

/** The sealed memfd of open file `src` (named `path` in errors and in /proc/PID/exe). */
function sealedCopyOf(src: number, path: string): number {
  // its name, as /proc/PID/exe shows it: "/memfd:berth-init (deleted)"
  const name = new TextEncoder().encode(`${path.slice(path.lastIndexOf("/") + 1)}\0`);
  let mfd = syscall(SYS_MEMFD_CREATE, name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  // before Linux 6.3 MFD_EXEC is unknown, and every memfd may be executed
  if (mfd < 0 && errno() === EINVAL) mfd = syscall(SYS_MEMFD_CREATE, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) throw new SysError("memfd_create", errno(), path);
  try {
    for (let left = statFd(src).size; left > 0; ) {
      const n = syscall(SYS_SENDFILE, mfd, src, 0, left);
      if (n < 0) throw new SysError("sendfile", errno(), path);
      // the file shrank under us: what is there is not the helper
      if (n === 0) throw new SysError("sendfile", 5 /* EIO */, path);
      left -= n;
    }
    if (syscall(SYS_FCNTL, mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) throw new SysError("fcntl F_ADD_SEALS", errno(), path);
    return mfd;
  } catch (err) {
    close(mfd);
    throw err;
  }
}
