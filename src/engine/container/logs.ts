/**
 * A container's log as berth-monitor writes it (conmon's k8s-file: `TIME STREAM P|F
 * TEXT` per chunk; `P` a partial line continued by the next chunk, `F` the end of one)
 * read with docker's
 * `logs` semantics: whole lines in order, stdout and stderr apart, `--tail N`, `--since`
 * and `--until` (RFC 3339, Unix seconds, or a duration before now such as 10m), `-t`
 * prefixing each line with its time. Pure.
 */
import { BerthError } from "../../errors.ts";
import { goDurationMs } from "../../go-duration.ts";

export interface LogLine {
  /** the time as written (RFC 3339 with nanoseconds) */
  time: string;
  /** ms since the epoch, for --since/--until */
  ms: number;
  stream: "stdout" | "stderr";
  /** the line, with its newline when it had one */
  text: string;
}

/**
 * Complete lines parsed from a run of k8s-file bytes: their printed bytes laid end to
 * end (with -t, each line's time first), so that consecutive lines of one stream are
 * printed by one write — `logs` of 100k lines is a handful of writes, not 100k.
 */
export interface LogBatch {
  bytes: Uint8Array;
  /** line i is bytes[ends[i - 1] ?? 0, ends[i]) */
  ends: number[];
  /** line i's stream as the fd it is printed to: 1 stdout, 2 stderr */
  fds: number[];
  /** line i's time as written (a joined line: its first chunk's); filled when the parser was asked for times */
  times: string[];
}

interface Pending {
  time: Uint8Array;
  parts: Uint8Array[];
}

const NL = 10;
const SP = 32;
const TAG_PARTIAL = 80; // "P"
const STDERR = [115, 116, 100, 101, 114, 114]; // "stderr"

/**
 * k8s-file bytes → batches of complete lines, `P` chunks joined to the `F` that ends
 * them (held between calls: a chunked read or `logs -f` cuts anywhere between lines).
 * Works on bytes: decoding 5 MB to a string and building an object per line was most
 * of `logs`' time.
 */
export class LogParser {
  /** by fd (1, 2): the partial line waiting for its end */
  private readonly pending: (Pending | undefined)[] = [undefined, undefined, undefined];
  private held = 0;
  private readonly utf8 = new TextDecoder();
  private readonly encoder = new TextEncoder();

  /**
   * timestamps: -t, each line printed after its time; times: fill LogBatch.times (--since,
   * --until); streamPartials: a `P` chunk is handed on at once as a line of its own
   * without a newline (a follower printing a prompt that waits for input), not held for
   * the `F` that ends it.
   */
  constructor(private readonly o: { timestamps?: boolean; times?: boolean; streamPartials?: boolean } = {}) {}

  /**
   * The complete lines of buf[0, end); `end` falls just after a newline. The batch's
   * bytes are written over buf's when no partial line is held from an earlier call (a
   * printed line is never longer than its log line, so the writing never overtakes the
   * reading): print them, or copy them, before buf is read into again.
   */
  parse(buf: Uint8Array, end = buf.lastIndexOf(NL) + 1): LogBatch {
    const times: string[] = [];
    const wantTime = this.o.times === true || this.o.timestamps === true;
    // a joined line adds what was held from earlier reads: then into a buffer of its own
    const out = this.held === 0 ? buf : new Uint8Array(end + this.held + (this.o.timestamps ? 64 : 0));
    const ends: number[] = [];
    const fds: number[] = [];
    let w = 0;
    let at = 0;
    // the monitor writes every time at one width: where the last line's fields were, this
    // one's are (checked), which spares three searches a line
    let width = 0;
    while (at < end) {
      const nl = buf.indexOf(NL, at);
      if (nl < 0 || nl >= end) break;
      let a = at + width;
      let b = a + 7;
      let c = b + 2;
      if (width === 0 || c >= nl || buf[a] !== SP || buf[b] !== SP || buf[c] !== SP) {
        a = buf.indexOf(SP, at);
        b = a < 0 || a > nl ? -1 : buf.indexOf(SP, a + 1);
        if (b < 0 || b > nl) {
          at = nl + 1;
          continue;
        }
        c = buf.indexOf(SP, b + 1);
        if (c > nl) c = -1;
        width = a - at;
      }
      let fd = 1;
      if (b - a === 7 && buf[a + 4] === STDERR[3]) {
        fd = 2;
        for (let k = 0; k < 6; k++) if (buf[a + 1 + k] !== STDERR[k]) fd = 1;
      }
      const body = c < 0 ? nl : c + 1;
      const p = this.pending[fd];
      const partial = buf[b + 1] === TAG_PARTIAL;
      if (partial && !this.o.streamPartials) {
        const part = buf.slice(body, nl);
        if (p) p.parts.push(part);
        else this.pending[fd] = { time: buf.slice(at, a), parts: [part] };
        this.held += part.length + (p ? 0 : a - at);
        at = nl + 1;
        continue;
      }
      if (wantTime) {
        const time = this.utf8.decode(p ? p.time : buf.subarray(at, a));
        times.push(time);
        if (this.o.timestamps) {
          w += this.encoder.encodeInto(`${toRfc3339Nano(time)} `, out.subarray(w)).written;
        }
      }
      if (p) {
        for (const part of p.parts) {
          out.set(part, w);
          w += part.length;
          this.held -= part.length;
        }
        this.held -= p.time.length;
        this.pending[fd] = undefined;
      }
      // a streamed partial chunk goes without the record's newline
      const stop = partial ? nl : nl + 1;
      if (out === buf) buf.copyWithin(w, body, stop);
      else out.set(buf.subarray(body, stop), w);
      w += stop - body;
      ends.push(w);
      fds.push(fd);
      at = nl + 1;
    }
    return { bytes: out.subarray(0, w), ends, fds, times };
  }

  /**
   * The partial lines still waiting for the chunk that ends them, as lines without a
   * newline, oldest first: the log's last bytes once its writer has finished (a
   * program's `printf abc` with no newline after it), which docker prints as they are.
   */
  flush(): LogBatch {
    const waiting = [1, 2].flatMap((fd) => (this.pending[fd] ? [{ fd, p: this.pending[fd]! }] : []))
      .sort((x, y) => this.utf8.decode(x.p.time).localeCompare(this.utf8.decode(y.p.time)));
    const out = new Uint8Array(this.held + waiting.length * 64);
    const batch: LogBatch = { bytes: out, ends: [], fds: [], times: [] };
    let w = 0;
    for (const { fd, p } of waiting) {
      const time = this.utf8.decode(p.time);
      if (this.o.times === true || this.o.timestamps === true) batch.times.push(time);
      if (this.o.timestamps) w += this.encoder.encodeInto(`${toRfc3339Nano(time)} `, out.subarray(w)).written;
      for (const part of p.parts) {
        out.set(part, w);
        w += part.length;
      }
      batch.ends.push(w);
      batch.fds.push(fd);
      this.pending[fd] = undefined;
    }
    this.held = 0;
    batch.bytes = out.subarray(0, w);
    return batch;
  }
}

/** Parse complete chunks of a k8s-file log into lines (the batch above, one object a line). */
export function parseLog(text: string, parser = new LogParser({ times: true })): LogLine[] {
  const b = parser.parse(new TextEncoder().encode(text));
  const utf8 = new TextDecoder();
  return b.fds.map((fd, i) => ({
    time: b.times[i]!,
    ms: Date.parse(b.times[i]!),
    stream: fd === 2 ? "stderr" : "stdout",
    text: utf8.decode(b.bytes.subarray(b.ends[i - 1] ?? 0, b.ends[i])),
  }));
}

/**
 * docker's --since/--until: RFC 3339 (or a date), Unix seconds (with fraction), or a Go
 * duration before `nowMs` (`10m`, `1h30m`).
 */
export function parseLogTime(text: string, flag: string, nowMs: number): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const ago = goDurationMs(t);
  if (ago !== undefined) return nowMs - ago;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new BerthError(`invalid time ${JSON.stringify(text)}; use RFC 3339 (2026-01-02T15:04:05Z), Unix seconds, or a duration such as 10m`, { field: flag });
  return ms;
}

export interface LogOptions {
  tail?: number;
  sinceMs?: number;
  untilMs?: number;
  timestamps?: boolean;
}

const inWindow = (ms: number, o: LogOptions) => (o.sinceMs === undefined || ms >= o.sinceMs) && (o.untilMs === undefined || ms <= o.untilMs);

/** The lines `logs` prints, in order. */
export function selectLines(lines: LogLine[], o: LogOptions): LogLine[] {
  let out = lines.filter((l) => inWindow(l.ms, o));
  if (o.tail !== undefined) out = o.tail <= 0 ? [] : out.slice(-o.tail);
  return out;
}

/** The indexes of a batch's lines inside --since/--until, in order; undefined when there is no window (all of them). */
export function linesInWindow(b: LogBatch, o: LogOptions): number[] | undefined {
  if (o.sinceMs === undefined && o.untilMs === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < b.times.length; i++) if (inWindow(Date.parse(b.times[i]!), o)) out.push(i);
  return out;
}

/** A stretch of a batch's bytes printed by one write. */
export interface LogRun {
  fd: number;
  bytes: Uint8Array;
}

/** The picked lines (all when undefined) as runs: consecutive lines of one stream are one run. */
export function logRuns(b: LogBatch, picked?: number[]): LogRun[] {
  const runs: LogRun[] = [];
  const n = picked ? picked.length : b.ends.length;
  let from = -1;
  let to = -1;
  let fd = 0;
  for (let k = 0; k < n; k++) {
    const i = picked ? picked[k]! : k;
    const start = b.ends[i - 1] ?? 0;
    if (b.fds[i] === fd && start === to) {
      to = b.ends[i]!;
      continue;
    }
    if (from >= 0) runs.push({ fd, bytes: b.bytes.subarray(from, to) });
    fd = b.fds[i]!;
    from = start;
    to = b.ends[i]!;
  }
  if (from >= 0) runs.push({ fd, bytes: b.bytes.subarray(from, to) });
  return runs;
}

/** --tail N over batches read one after another: keeps the batches holding the last N picked lines. */
export class LogTail {
  private kept: { b: LogBatch; picked: number[] }[] = [];
  private count = 0;

  constructor(private readonly n: number) {}

  add(b: LogBatch, picked: number[] = b.ends.map((_, i) => i)): void {
    if (this.n <= 0 || picked.length === 0) return;
    this.kept.push({ b: { ...b, bytes: b.bytes.slice() }, picked }); // its bytes are the read buffer's, read into again
    this.count += picked.length;
    while (this.count - this.kept[0]!.picked.length >= this.n) this.count -= this.kept.shift()!.picked.length;
  }

  /** The last N lines as runs. */
  runs(): LogRun[] {
    const skip = Math.max(0, this.count - this.n);
    return this.kept.flatMap(({ b, picked }, k) => logRuns(b, k === 0 ? picked.slice(skip) : picked));
  }
}

/** One line as `logs` prints it: with `-t`, docker's RFC 3339 nano time first. */
export function formatLine(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${toRfc3339Nano(l.time)} ${l.text}` : l.text;
}

/** conmon's `2026-12-06T08:30:40.685010506+00:00` → docker's `2026-12-06T08:30:40.685010506Z` */
export function toRfc3339Nano(time: string): string {
  return time.replace(/\+00:00$/, "Z");
}

/** `--tail all|N` */
export function parseTail(text: string): number | undefined {
  if (text === "all" || text === "-1") return undefined;
  if (!/^\d+$/.test(text)) throw new BerthError(`invalid value ${JSON.stringify(text)}; use a number of lines or all`, { field: "--tail" });
  return Number(text);
}
