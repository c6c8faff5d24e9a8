/**
 * Shape checks for JSON from config.json and friends: each names the exact field and
 * the accepted form, e.g. `process.user.uid: got "0"; use a whole number 0..4294967294`.
 *
 * Every number is checked to be an integer within the kernel's range for its field
 * before anything uses it: a number past the range is never wrapped or clamped
 * (`additionalGids: [2^64]` once became group 0). JSON numbers past 2^53 arrive
 * rounded, so no field takes them unless its own check says what they mean.
 */
import { BerthError } from "../errors.ts";

/** An inclusive integer range. */
export interface IntRange {
  lo: number;
  hi: number;
}

export type Kind = "int" | "uint" | "bool" | "string" | IntRange;

const SAFE = Number.MAX_SAFE_INTEGER;

/** The integer ranges fields share; a field with its own range passes `{ lo, hi }`. */
export const RANGES = {
  /** any JSON integer that is exact */
  int: { lo: -SAFE, hi: SAFE },
  uint: { lo: 0, hi: SAFE },
  /** a uid or gid: 2^32−1 is the kernel's "no id" (-1) */
  id: { lo: 0, hi: 2 ** 32 - 2 },
  /** permission bits with setuid, setgid and sticky */
  mode: { lo: 0, hi: 0o7777 },
  u16: { lo: 0, hi: 2 ** 16 - 1 },
  u32: { lo: 0, hi: 2 ** 32 - 1 },
  i32: { lo: -(2 ** 31), hi: 2 ** 31 - 1 },
} satisfies Record<string, IntRange>;

/**
 * A value as an error message shows it: short, one line, never the whole of a deep or
 * huge value (formatting a 100k-deep array would overflow the stack).
 */
export function describeValue(value: unknown): string {
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "string") {
    const s = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    return s;
  }
  if (value !== null && typeof value === "object") {
    // small and flat ([], {"a": 1}) as JSON; anything deeper only by what it is
    if (Object.values(value).every((v) => v === null || typeof v !== "object")) {
      const json = JSON.stringify(value);
      if (json.length <= 60) return json;
    }
    return Array.isArray(value) ? "an array" : "an object";
  }
  return String(value);
}

/** 2^64 as 18446744073709551616, not 18446744073709552000: what was written, as far as a double tells. */
function formatNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? BigInt(n).toString() : String(n);
}

function rangeText(r: IntRange): string {
  return `${formatNumber(r.lo)}..${formatNumber(r.hi)}`;
}

/**
 * Refuse an integer outside `r`, naming the field: `18446744073709551616 is out of range
 * (0..4294967294)`. For the safe-integer bounds, say why there is one.
 */
export function inRange(value: number, r: IntRange, field: string): void {
  if (value >= r.lo && value <= r.hi) return;
  const why = Math.abs(value) > SAFE && (r.hi === SAFE || r.lo === -SAFE) ? "; JSON numbers past 2^53 are not exact" : "";
  throw new BerthError(`${formatNumber(value)} is out of range (${rangeText(r)}${why})`, { field });
}

function form(kind: Kind): string {
  if (kind === "bool") return "true or false";
  if (kind === "string") return "a string";
  if (kind === "int") return "a whole number";
  if (kind === "uint") return "a whole number ≥ 0";
  return `a whole number ${rangeText(kind)}`;
}

export function check(value: unknown, kind: Kind, field: string): void {
  if (kind === "bool" || kind === "string") {
    if (typeof value !== (kind === "bool" ? "boolean" : "string")) throw new BerthError(`got ${describeValue(value)}; use ${form(kind)}`, { field });
    // a C string ends at NUL: "a\0b" would reach the kernel as "a"
    if (kind === "string" && (value as string).includes("\0")) throw new BerthError(`${describeValue(value)} contains a NUL byte; remove it`, { field });
    return;
  }
  // a negative number for "uint" is a wrong form, not a range the user must look up
  if (typeof value !== "number" || !Number.isInteger(value) || (kind === "uint" && value < 0)) throw new BerthError(`got ${describeValue(value)}; use ${form(kind)}`, { field });
  inRange(value, kind === "int" ? RANGES.int : kind === "uint" ? RANGES.uint : kind, field);
}

export function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BerthError(`got ${describeValue(value)}; use a JSON object`, { field });
  }
  return value as Record<string, unknown>;
}

export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new BerthError(`got ${describeValue(value)}; use a JSON array`, { field });
  return value;
}

/**
 * Check the listed keys of `obj`; unknown keys are left alone (newer spec versions add
 * fields). A required key may not be null; an optional null means unset and is dropped,
 * so the range checks and the planner see it as omitted.
 */
export function fields(obj: Record<string, unknown>, base: string, spec: Record<string, Kind>, required: string[] = []): void {
  for (const key of required) {
    if (obj[key] === undefined) throw new BerthError(`is required`, { field: `${base}.${key}` });
    if (obj[key] === null) throw new BerthError(`is null; it is required${spec[key] ? `: use ${form(spec[key]!)}` : ""}`, { field: `${base}.${key}` });
  }
  for (const [key, kind] of Object.entries(spec)) {
    if (obj[key] === null) delete obj[key];
    else if (obj[key] !== undefined) check(obj[key], kind, `${base}.${key}`);
  }
}

/**
 * How deep `value` nests, stopping past `limit`: a 100k-deep array in an unknown field
 * overflowed the stack of everything that walks the config later (copying it, saving
 * it). The walk recurses at most `limit` + 1 levels, so it cannot overflow itself; plain
 * loops, not Object.values and a stack of pairs: every create walks docker's seccomp
 * profile before JavaScriptCore has compiled anything (0.16 → 0.05 ms).
 */
export function nestingDepth(value: unknown, limit: number): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 1;
  const walk = (v: object, depth: number): void => {
    if (depth > deepest) deepest = depth;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && deepest <= limit; i++) {
        const child: unknown = v[i];
        if (child !== null && typeof child === "object") walk(child, depth + 1);
      }
      return;
    }
    for (const key in v) {
      if (deepest > limit) return;
      const child: unknown = (v as Record<string, unknown>)[key];
      if (child !== null && typeof child === "object") walk(child, depth + 1);
    }
  };
  walk(value, 1);
  return deepest;
}

/** Drop the optional keys that are null (JSON's "unset") before the validator looks at them. */
export function dropNulls(obj: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) if (obj[key] === null) delete obj[key];
}

/** A JSON object's key as part of a field path: `linux.sysctl["a.b"]`, escaped so it stays one line. */
export function keyField(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}
