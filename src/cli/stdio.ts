/**
 * Output of the CLIs, written to fd 1 and 2 directly through libc (sys/libc.ts says why
 * not node:fs). process.stdout/stderr build a stream on first use, which costs ~6 ms:
 * more than the whole work of `berth-runtime state` or `berth stats --interval 0`. They
 * are the way out only when the libc binding itself is missing, so that error is seen.
 */
import { LibcBindingError, writeAll } from "../sys/libc.ts";

function write(fd: 1 | 2, text: string | Uint8Array): void {
  try {
    writeAll(fd, text);
  } catch (err) {
    if (!(err instanceof LibcBindingError)) throw err;
    (fd === 1 ? process.stdout : process.stderr).write(text);
  }
}

export const writeOut = (text: string | Uint8Array): void => write(1, text);
export const writeErr = (text: string | Uint8Array): void => write(2, text);

/** Runs of a container's log, each to its stream (logs.ts cuts them: one write per run). */
export function writeRuns(runs: { fd: number; bytes: Uint8Array }[]): void {
  for (const r of runs) write(r.fd === 2 ? 2 : 1, r.bytes);
}
