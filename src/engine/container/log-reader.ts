/**
 * Reading a container's log file as conmon appends to it: all of it (`logs`), or
 * following it (`logs -f`, the foreground `run`) until the container has exited and the
 * last bytes are read. A megabyte at a time, handed on as batches of parsed lines, so
 * that `logs` of a large log starts printing at once and holds one chunk. conmon
 * truncates the file at --log-size-max: a file smaller than the offset read so far is
 * read again from its start.
 */
import { close, O, openPath, preadFd, statFd } from "../../sys/libc.ts";
import type { LogBatch, LogParser } from "./logs.ts";

const CHUNK = 1 << 20;

/**
 * Parse the log's complete lines from byte `offset` to its end, handing each batch to
 * `each`; returns the offset after the last complete line.
 */
export function readLogFrom(path: string, offset: number, parser: LogParser, each: (b: LogBatch) => void): number {
  let fd: number;
  try {
    fd = openPath(path, O.RDONLY);
  } catch {
    return offset;
  }
  try {
    let at = statFd(fd).size < offset ? 0 : offset; // truncated by conmon's --log-size-max
    let buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = preadFd(fd, buf, at);
      if (n <= 0) return at;
      const end = buf.lastIndexOf(10, n - 1) + 1;
      if (end === 0) {
        if (n < buf.length) return at; // the last line is not finished yet
        buf = new Uint8Array(buf.length * 2); // one line longer than the buffer
        continue;
      }
      each(parser.parse(buf, end));
      at += end;
    }
  } finally {
    close(fd);
  }
}

/**
 * Hand `each` the log's lines from byte `offset` on, as they are written, until `done()`
 * says the writer has finished (then one last read). Returns the final offset. Between
 * reads that found nothing new it awaits `idle` (25 ms by default; the foreground `run`
 * wakes as soon as the monitor ends).
 */
export async function followLog(path: string, offset: number, parser: LogParser, each: (b: LogBatch) => void, done: () => boolean, idle: () => Promise<unknown> = () => Bun.sleep(25)): Promise<number> {
  let at = offset;
  for (;;) {
    const finished = done();
    const was = at;
    at = readLogFrom(path, at, parser, each);
    if (finished) return at;
    if (at === was) await idle();
  }
}
