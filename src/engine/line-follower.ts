/**
 * Reading a file that writers append whole lines to and rotate as docker's json-file does
 * (PATH is the newest file, PATH.1 the one before, … PATH.N the oldest; a rotation renames
 * each one up): all of it, oldest first, or incrementally from a position on, handing on
 * only complete lines — a line is whole once its writer's one write returned, so a partial
 * last line is left for the next read. A container's log (container/log-reader.ts) and the
 * engine's event journal (event-journal.ts) are both such files.
 *
 * A follower holds the file it reads open: when PATH has become another file (a rotation)
 * it reads the rest of its own, renamed away or even unlinked, then the next newer one, so
 * no line is lost or read twice however many rotations come between two reads.
 */
import { close, O, openPath, pathExists, preadFd, statFd, statPath } from "../sys/libc.ts";

/** a megabyte at a time: a large file starts flowing at once and holds one chunk */
const CHUNK = 1 << 20;

/** The complete lines of one read: `buf`'s bytes before `end`, which is just after a newline. */
export type EachLines = (buf: Uint8Array, end: number) => void;

/** Where a reader stands: the file it reads (by inode) and the bytes read of it. */
export interface FilePosition {
  ino: bigint;
  offset: number;
}

function openFile(path: string): number | undefined {
  try {
    return openPath(path, O.RDONLY | O.CLOEXEC);
  } catch {
    return undefined;
  }
}

function inode(path: string): bigint | undefined {
  try {
    return statPath(path).ino;
  } catch {
    return undefined;
  }
}

/**
 * Hand `each` an open file's complete lines from byte `offset` to its end, a chunk at a
 * time; returns the offset after the last complete line.
 */
function readCompleteLines(fd: number, offset: number, each: EachLines): number {
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
    each(buf, end);
    at += end;
  }
}

/** The end of PATH now (undefined when there is none yet): where a follower of only what comes next starts. */
export function fileEnd(path: string): FilePosition | undefined {
  try {
    const st = statPath(path);
    return { ino: st.ino, offset: st.size };
  } catch {
    return undefined;
  }
}

/** The rotated file's files, oldest first: PATH.N … PATH.1, PATH. */
export function rotatedFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; pathExists(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), path];
}

/** Hand `each` the complete lines of every file, oldest first; returns where a follower goes on. */
export function readRotatedLines(path: string, each: EachLines): FilePosition {
  let position: FilePosition = { ino: 0n, offset: 0 };
  for (const file of rotatedFiles(path)) {
    const fd = openFile(file);
    if (fd === undefined) continue;
    try {
      position = { ino: statFd(fd).ino, offset: readCompleteLines(fd, 0, each) };
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
  const files = rotatedFiles(path);
  const at = files.findIndex((f) => inode(f) === ino);
  if (at === files.length - 1) return undefined;
  return at < 0 ? files[0] : files[at + 1];
}

/**
 * Reads PATH's lines after `from` (from the newest file's start when undefined or no
 * longer there) as they are written: each `read` hands on what was completed since the
 * last, across rotations. `close` when done.
 */
export class LineFollower {
  private fd: number | undefined;
  private at: FilePosition = { ino: 0n, offset: 0 };

  constructor(private readonly path: string, from: FilePosition | undefined) {
    // the file `from` names, wherever rotation has moved it since
    const start = from ? rotatedFiles(path).find((f) => inode(f) === from.ino) : undefined;
    if (start !== undefined && from) {
      this.fd = openFile(start);
      this.at = { ...from };
    }
  }

  /** Hand `each` the lines completed since the last read; whether there were any (or a rotation moved it on). */
  read(each: EachLines): boolean {
    if (this.fd === undefined) {
      this.fd = openFile(this.path);
      if (this.fd === undefined) return false;
      this.at = { ino: statFd(this.fd).ino, offset: 0 };
    }
    let progressed = false;
    for (;;) {
      const was = this.at.offset;
      this.at.offset = readCompleteLines(this.fd, this.at.offset, each);
      progressed ||= this.at.offset !== was;
      const now = inode(this.path);
      if (now === undefined || now === this.at.ino) return progressed;
      // rotated: writers write whole lines, so the held file ends with one; on with the next newer file
      const next = newerFile(this.path, this.at.ino);
      const nextFd = next === undefined ? undefined : openFile(next);
      if (nextFd === undefined) return progressed;
      readCompleteLines(this.fd, this.at.offset, each);
      close(this.fd);
      this.fd = nextFd;
      this.at = { ino: statFd(nextFd).ino, offset: 0 };
      progressed = true;
    }
  }

  close(): void {
    if (this.fd !== undefined) close(this.fd);
    this.fd = undefined;
  }
}
