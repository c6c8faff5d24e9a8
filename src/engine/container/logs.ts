/**
 * A container's log as conmon writes it (k8s-file: `TIME STREAM P|F TEXT` per chunk; `P`
 * a partial line continued by the next chunk, `F` the end of one) read with docker's
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

/** Parse complete chunks of a k8s-file log; `pending` carries partial lines between calls (follow mode). */
export function parseLog(text: string, pending: Map<string, LogLine> = new Map()): LogLine[] {
  const out: LogLine[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    if (nl < 0) break;
    const line = text.slice(at, nl);
    at = nl + 1;
    const a = line.indexOf(" ");
    const b = line.indexOf(" ", a + 1);
    const c = line.indexOf(" ", b + 1);
    if (a < 0 || b < 0) continue;
    const time = line.slice(0, a);
    const stream = line.slice(a + 1, b) === "stderr" ? "stderr" : "stdout";
    const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
    const body = c < 0 ? "" : line.slice(c + 1);
    const prev = pending.get(stream);
    const merged: LogLine = prev ? { ...prev, text: prev.text + body } : { time, ms: Date.parse(time), stream, text: body };
    if (tag.startsWith("P")) {
      pending.set(stream, merged);
      continue;
    }
    pending.delete(stream);
    merged.text += "\n";
    out.push(merged);
  }
  return out;
}

/** How many bytes of `text` parseLog consumed (up to the last newline). */
export function consumed(text: string): number {
  return text.lastIndexOf("\n") + 1;
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

/** The lines `logs` prints, in order. */
export function selectLines(lines: LogLine[], o: LogOptions): LogLine[] {
  let out = lines.filter((l) => (o.sinceMs === undefined || l.ms >= o.sinceMs) && (o.untilMs === undefined || l.ms <= o.untilMs));
  if (o.tail !== undefined) out = o.tail <= 0 ? [] : out.slice(-o.tail);
  return out;
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
