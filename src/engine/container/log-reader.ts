/**
 * Reading a container's log file as conmon appends to it: all of it (`logs`), or
 * following it (`logs -f`, the foreground `run`) until the container has exited and the
 * last bytes are read. conmon truncates the file at --log-size-max: a file smaller than
 * the offset read so far is read again from its start.
 */
import { close, O, openPath, preadFd, statFd } from "../../sys/libc.ts";
import { consumed, parseLog, type LogLine } from "./logs.ts";

function readFrom(path: string, offset: number): { text: string; size: number } {
  let fd: number;
  try {
    fd = openPath(path, O.RDONLY);
  } catch {
    return { text: "", size: 0 };
  }
  try {
    const size = statFd(fd).size;
    if (size <= offset) return { text: "", size };
    const buf = new Uint8Array(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = preadFd(fd, buf.subarray(got), offset + got);
      if (n <= 0) break;
      got += n;
    }
    return { text: new TextDecoder().decode(buf.subarray(0, got)), size };
  } finally {
    close(fd);
  }
}

/** Every complete line in the log now, and the byte offset after the last one (to follow from). */
export function readLog(path: string): { lines: LogLine[]; offset: number } {
  const { text } = readFrom(path, 0);
  const used = consumed(text);
  return { lines: parseLog(text.slice(0, used)), offset: Buffer.byteLength(text.slice(0, used)) };
}

/**
 * Call `emit` with the log's lines from byte `offset` on, as they are written, until
 * `done()` says the writer has finished (then one last read). Returns the final offset.
 */
export async function followLog(path: string, offset: number, emit: (lines: LogLine[]) => void, done: () => boolean, pollMs = 25): Promise<number> {
  const pending = new Map<string, LogLine>();
  let at = offset;
  for (;;) {
    const finished = done();
    const { text, size } = readFrom(path, at);
    if (size < at) at = 0; // truncated by conmon's --log-size-max
    const used = consumed(text);
    if (used > 0) {
      emit(parseLog(text.slice(0, used), pending));
      at += Buffer.byteLength(text.slice(0, used));
    }
    if (finished) return at;
    if (used === 0) await Bun.sleep(pollMs);
  }
}
