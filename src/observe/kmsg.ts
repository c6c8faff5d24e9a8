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
  let fd: number;
  try {
    fd = openPath(path, O.RDONLY | O.NONBLOCK);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  const buf = new Uint8Array(RECORD_MAX);
  const utf8 = new TextDecoder();
  try {
    for (;;) {
      let n: number;
      try {
        n = readFd(fd, buf);
      } catch (err) {
        // EPIPE: records were overwritten while reading; the next read goes on from the oldest left
        if (errnoOf(err) === "EPIPE") continue;
        break; // EAGAIN: no newer record
      }
      if (n <= 0) break;
      out.push(utf8.decode(buf.subarray(0, n)));
    }
  } finally {
    close(fd);
  }
  return out;
}
