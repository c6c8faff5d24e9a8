/**
 * Reading a container's log as berth-monitor writes it: all of it (`logs`), or following
 * it (`logs -f`, the foreground `run`) until the container has exited and the last bytes
 * are read. A megabyte at a time, handed on as batches of parsed lines, so that `logs` of
 * a large log starts printing at once and holds one chunk.
 *
 * The monitor rotates the log as docker's json-file: ctr.log is the newest file,
 * ctr.log.1 the one before, … up to max-file files. `logs` reads them oldest first; a
 * follower holds the file it reads open, and when ctr.log has become another file (a
 * rotation) it reads the rest of its own, then the next newer one.
 */
import { close, O, openPath, pathExists, preadFd, statFd, statPath } from "../../sys/libc.ts";
import type { LogBatch, LogParser } from "./logs.ts";

const CHUNK = 1 << 20;

function openLog(path: string): number | undefined {
  try {
    return openPath(path, O.RDONLY | O.CLOEXEC);
  } catch {
    return undefined;
  }
}

/**
 * Parse an open log file's complete lines from byte `offset` to its end, handing each
 * batch to `each`; returns the offset after the last complete line.
 */
function readFdFrom(fd: number, offset: number, parser: LogParser, each: (b: LogBatch) => void): number {
  let at = offset;
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
}

/** Where a reader stands in the log: the file it reads (by inode) and the bytes read of it. */
export interface LogPosition {
  ino: bigint;
  offset: number;
}

/** The end of the log now (undefined when there is none yet): where a follower of only what comes next starts. */
export function logEnd(path: string): LogPosition | undefined {
  try {
    const st = statPath(path);
    return { ino: st.ino, offset: st.size };
  } catch {
    return undefined;
  }
}

/** The log's files, oldest first: PATH.N … PATH.1, PATH. */
export function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; pathExists(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), path];
}

function inode(path: string): bigint | undefined {
  try {
    return statPath(path).ino;
  } catch {
    return undefined;
  }
}

/** Parse every file of the log, oldest first, handing each batch to `each`; returns where a follower goes on. */
export function readLog(path: string, parser: LogParser, each: (b: LogBatch) => void): LogPosition {
  let position: LogPosition = { ino: 0n, offset: 0 };
  for (const file of logFiles(path)) {
    const fd = openLog(file);
    if (fd === undefined) continue;
    try {
      position = { ino: statFd(fd).ino, offset: readFdFrom(fd, 0, parser, each) };
    } finally {
      close(fd);
    }
  }
  return position;
}

/**
 * The file after the one with inode `ino` (newer by one rotation): PATH.k → PATH.(k-1),
 * PATH.1 → PATH; when `ino` is gone (rotated out), the oldest file there is.
 */
function newerFile(path: string, ino: bigint): string | undefined {
  const files = logFiles(path);
  const at = files.findIndex((f) => inode(f) === ino);
  if (at === files.length - 1) return undefined;
  return at < 0 ? files[0] : files[at + 1];
}

/**
 * Hand `each` the log's lines after `from` (from the newest file's start when undefined),
 * as they are written and across rotations, until `done()` says the writer has finished
 * (then one last read). Between reads that found nothing new it awaits `idle` (25 ms by
 * default; the foreground `run` wakes as soon as the monitor ends).
 */
export async function followLog(path: string, from: LogPosition | undefined, parser: LogParser, each: (b: LogBatch) => void, done: () => boolean, idle: () => Promise<unknown> = () => Bun.sleep(25)): Promise<void> {
  let fd: number | undefined;
  let at: LogPosition = { ino: 0n, offset: 0 };
  // the file `from` names, wherever rotation has moved it since
  const start = from ? logFiles(path).find((f) => inode(f) === from.ino) : undefined;
  if (start !== undefined && from) {
    fd = openLog(start);
    at = { ...from };
  }
  try {
    for (;;) {
      const finished = done();
      if (fd === undefined) {
        fd = openLog(path);
        if (fd !== undefined) at = { ino: statFd(fd).ino, offset: 0 };
      }
      let progressed = false;
      if (fd !== undefined) {
        const was = at.offset;
        at.offset = readFdFrom(fd, at.offset, parser, each);
        progressed = at.offset !== was;
        const now = inode(path);
        if (now !== undefined && now !== at.ino) {
          // rotated: the monitor writes whole records, so the held file ends with one; on with the next newer file
          const next = newerFile(path, at.ino);
          const nextFd = next === undefined ? undefined : openLog(next);
          if (nextFd !== undefined) {
            readFdFrom(fd, at.offset, parser, each);
            close(fd);
            fd = nextFd;
            at = { ino: statFd(fd).ino, offset: 0 };
            continue;
          }
        }
      }
      if (finished) return;
      if (!progressed) await idle();
    }
  } finally {
    if (fd !== undefined) close(fd);
  }
}
