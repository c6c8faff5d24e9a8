/**
 * Reading the kernel log from /dev/kmsg, without dmesg: every record still in the ring
 * buffer, oldest first. Opened non-blocking so the read stops at the newest record
 * instead of waiting for the next one; each read(2) returns exactly one record.
 */
import { errnoOf } from "../errors.ts";
import { close, O, openPath, readFd } from "../sys/libc.ts";

/** One kmsg record is at most 8 KiB (PRINTK_MESSAGE_MAX + its header). */
const RECORD_MAX = 8192;

/**
 * The records, or undefined when the log cannot be read (not root, or
 * kernel.dmesg_restrict for an unprivileged caller).
 *
 * @example readKernelLog()?.filter((r) => r.includes("oom-kill:"))
 */
export function readKernelLog(path = "/dev/kmsg"): string[] | undefined {
  const follower = KernelLogFollower.open(path);
  if (!follower) return undefined;
  try {
    return follower.next();
  } finally {
    follower.close();
  }
}

/**
 * The kernel log as it grows: one open /dev/kmsg, each `next()` the records written
 * since the last (the first: all the ring buffer holds). `berth events` follows it for
 * OOM kills whose cgroup came and went between two of its looks.
 */
export class KernelLogFollower {
  private readonly buf = new Uint8Array(RECORD_MAX);
  private readonly utf8 = new TextDecoder();

  private constructor(private fd: number) {}

  /** undefined when the log cannot be read (not root, or kernel.dmesg_restrict). */
  static open(path = "/dev/kmsg"): KernelLogFollower | undefined {
    try {
      return new KernelLogFollower(openPath(path, O.RDONLY | O.NONBLOCK));
    } catch {
      return undefined;
    }
  }

  next(): string[] {
    const out: string[] = [];
    for (;;) {
      let n: number;
      try {
        n = readFd(this.fd, this.buf);
      } catch (err) {
        // EPIPE: records were overwritten while reading; the next read goes on from the oldest left
        if (errnoOf(err) === "EPIPE") continue;
        break; // EAGAIN: no newer record
      }
      if (n <= 0) break;
      out.push(this.utf8.decode(this.buf.subarray(0, n)));
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) close(this.fd);
    this.fd = -1;
  }
}
