/**
 * Go's time.ParseDuration grammar (`5s`, `500ms`, `1m30s`, `1.5h`, `-1s`, `.5s`): what
 * go-runc sends as `events --interval` and docker takes in `logs --since 10m`. Pure.
 */
import { BerthError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration in ms; undefined when `text` is not one ("0" is, as in Go).
 *
 * @example goDurationMs("1m30s") // → 90000
 */
export function goDurationMs(text: string): number | undefined {
  if (text === "0") return 0;
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of text.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return m[1] === "-" ? -ms : ms;
}

/** A Go duration given to `flag`, in ms; anything else fails naming the flag and the form. */
export function parseGoDuration(text: string, flag: string): number {
  const ms = goDurationMs(text);
  if (ms === undefined) throw new BerthError(`invalid duration ${JSON.stringify(text)}; use a number with a unit, e.g. 5s, 500ms or 1m30s`, { field: flag });
  return ms;
}
