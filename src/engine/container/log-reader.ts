/**
 * Reading a container's log as berth-monitor writes it: all of it (`logs`), or following
 * it (`logs -f`, the foreground `run`) until the container has exited and the last bytes
 * are read, handed on as batches of parsed lines. The monitor rotates the log as docker's
 * json-file (ctr.log the newest, ctr.log.1 the one before, … up to max-file files); the
 * reading across rotations is line-follower.ts's, shared with the event journal.
 */
import { LineFollower, readRotatedLines, type FilePosition } from "../line-follower.ts";
import type { LogBatch, LogParser } from "./logs.ts";

/** Parse every file of the log, oldest first, handing each batch to `each`; returns where a follower goes on. */
export function readLog(path: string, parser: LogParser, each: (b: LogBatch) => void): FilePosition {
  return readRotatedLines(path, (buf, end) => each(parser.parse(buf, end)));
}

/**
 * Hand `each` the log's lines after `from` (from the newest file's start when undefined),
 * as they are written and across rotations, until `done()` says the writer has finished
 * (then one last read). Between reads that found nothing new it awaits `idle` (25 ms by
 * default; the foreground `run` wakes as soon as the monitor ends).
 */
export async function followLog(path: string, from: FilePosition | undefined, parser: LogParser, each: (b: LogBatch) => void, done: () => boolean, idle: () => Promise<unknown> = () => Bun.sleep(25)): Promise<void> {
  const follower = new LineFollower(path, from);
  try {
    for (;;) {
      const finished = done();
      const progressed = follower.read((buf, end) => each(parser.parse(buf, end)));
      if (finished) return;
      if (!progressed) await idle();
    }
  } finally {
    follower.close();
  }
}
