/**
 * The engine's event journal: what docker's daemon keeps in memory for `docker events
 * --since`, kept by a daemonless engine as podman's `file` events backend keeps it — one
 * JSON line per event (docker's event object: Type, Action, Actor, time, timeNano) in
 * `$RUNROOT/events/events.log`, written by the command that caused it: create, start,
 * die (exitCode), oom, kill (signal), stop, restart, pause, unpause, rename (oldName),
 * destroy, attach, exec_create/exec_start/exec_die; images' pull, tag, untag, delete, load,
 * import, push; volumes' and networks' create and destroy.
 *
 * Bounded: a write that takes the file past MAX_BYTES renames it to `events.log.1`
 * (replacing the older one), so the journal never holds more than about twice that. It
 * lives in the run root, as podman's does in /run/libpod: a reboot forgets it, as a
 * daemon restart forgets docker's.
 *
 * Concurrent writers never interleave lines: each line is one write(2) on a descriptor
 * opened O_APPEND, and for a regular file the kernel finds the end and writes the whole
 * buffer under the inode's lock (ext4, xfs, tmpfs: one writer at a time per file), so a
 * line is never split by another's — PIPE_BUF is a pipe's limit, not a file's; lines here
 * are a few hundred bytes anyway. Two rotations are serialised by a lock and the second
 * sees the file already small.
 */
import { close, mkdirParents, O, openPath, preadFd, renamePath, statFd, statPath, writeAll } from "../sys/libc.ts";
import { lockPath } from "../sys/lock-file.ts";
import type { EnginePaths } from "./paths.ts";
import { fileEnd, LineFollower, readRotatedLines } from "./line-follower.ts";

/** podman's default events_logfile_max_size: 1 MB, some 3,000 events */
export const MAX_BYTES = 1024 * 1024;

export type EventObject = "container" | "image" | "volume" | "network";

/** docker's event object (`docker events --format '{{json .}}'`), as the journal keeps it. */
export interface EngineEvent {
  Type: EventObject;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  /** Unix seconds */
  time: number;
  timeNano: number;
}

function journalFile(paths: EnginePaths): string {
  return `${paths.events}/events.log`;
}

/**
 * Append one event. Never fails the command that caused it: an event journal that cannot
 * be written (a full /run) costs the event, not the container.
 */
export function recordEvent(paths: EnginePaths, type: EventObject, action: string, id: string, attributes: Record<string, string> = {}, nowNano = BigInt(Date.now()) * 1_000_000n): void {
  const event: EngineEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: "local", time: Number(nowNano / 1_000_000_000n), timeNano: Number(nowNano) };
  const file = journalFile(paths);
  try {
    let fd: number;
    try {
      fd = openPath(file, O.RDWR | O.APPEND | O.CREAT | O.CLOEXEC, 0o600);
    } catch {
      mkdirParents(paths.events, 0o700);
      fd = openPath(file, O.RDWR | O.APPEND | O.CREAT | O.CLOEXEC, 0o600);
    }
    try {
      writeAll(fd, `${afterTornLine(fd) ? "\n" : ""}${JSON.stringify(event)}\n`, file);
      const st = statFd(fd);
      if (st.size > MAX_BYTES) rotate(file, st.ino);
    } finally {
      close(fd);
    }
  } catch {
    // the event is lost; the command's own work is done
  }
}

/**
 * Whether the journal ends without a newline: a write cut short (a full /run) left part of
 * a line, which this event's line must not continue — joined to it, it was no JSON and
 * lost. (Another writer's whole line landing between this look and the write costs an
 * empty line, which readers skip.)
 */
function afterTornLine(fd: number): boolean {
  const size = statFd(fd).size;
  if (size === 0) return false;
  const last = new Uint8Array(1);
  return preadFd(fd, last, size - 1) === 1 && last[0] !== 0x0a;
}

/** `events.log` → `events.log.1`, when it is still the file that grew past the bound (another writer may have rotated it). */
function rotate(file: string, ino: bigint): void {
  const lock = lockPath(`${file}.lock`, { create: true });
  try {
    const now = statPath(file);
    if (now.ino === ino && now.size > MAX_BYTES) renamePath(file, `${file}.1`);
  } finally {
    lock.release();
  }
}

/** The 8.64e15 ms either side of 1970 a Date holds, in ns: past it, toISOString throws. */
const MAX_TIME_NANO = 8.64e21;

/** A line berth wrote, not a foreign one that only looks like it: a reader uses its Actor's ID and Attributes and its time as a Date. */
function isEvent(e: unknown): e is EngineEvent {
  if (typeof e !== "object" || e === null) return false;
  const { Type, Action, Actor, timeNano } = e as Record<string, unknown>;
  if (typeof Type !== "string" || typeof Action !== "string" || typeof timeNano !== "number" || !(Math.abs(timeNano) <= MAX_TIME_NANO)) return false;
  if (typeof Actor !== "object" || Actor === null) return false;
  const { ID, Attributes } = Actor as Record<string, unknown>;
  return typeof ID === "string" && typeof Attributes === "object" && Attributes !== null && !Array.isArray(Attributes);
}

/** Parse journal text: each whole line's event, oldest first; a torn or foreign line is skipped. */
export function parseJournal(text: string): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const e = JSON.parse(line) as EngineEvent;
      if (isEvent(e)) out.push(e);
    } catch {}
  }
  return out;
}

/**
 * Reads the journal from a point on: `next()` gives the events written since the last
 * call, across rotations (the rest of the file it was reading, now `events.log.1`, then
 * the new one from its start) — line-follower.ts's reading, as `logs -f` reads a log.
 */
export class JournalReader {
  private follower: LineFollower | undefined;
  private readonly file: string;

  /** `fromStart`: the whole journal (events.log.1, then events.log) first; else only what is written from now on */
  constructor(paths: EnginePaths, fromStart: boolean) {
    this.file = journalFile(paths);
    if (!fromStart) this.follower = new LineFollower(this.file, fileEnd(this.file));
  }

  next(): EngineEvent[] {
    const out: EngineEvent[] = [];
    const each = (buf: Uint8Array, end: number) => out.push(...parseJournal(new TextDecoder().decode(buf.subarray(0, end))));
    if (this.follower) this.follower.read(each);
    else this.follower = new LineFollower(this.file, readRotatedLines(this.file, each));
    return out;
  }

  close(): void {
    this.follower?.close();
  }
}

/**
 * A container's event, with docker's attributes: its labels, `image` and `name` (the
 * name now, without docker's leading slash), and the action's own (`exitCode`,
 * `signal`, `oldName`, `execID`).
 */
export function recordContainerEvent(paths: EnginePaths, r: { Id: string; Name: string; Image: string; Labels?: Record<string, string> }, action: string, extra: Record<string, string> = {}): void {
  recordEvent(paths, "container", action, r.Id, { ...(r.Labels ?? {}), image: r.Image, name: r.Name.replace(/^\//, ""), ...extra });
}
