/**
 * Shape checks for JSON from config.json and friends: each names the exact field and
 * the accepted form, e.g. `process.user.uid: got "0"; use a whole number ≥ 0`.
 */
import { BerthError } from "../errors.ts";

export type Kind = "int" | "uint" | "bool" | "string";

const FORMS: Record<Kind, string> = {
  int: "a whole number",
  uint: "a whole number ≥ 0",
  bool: "true or false",
  string: "a string",
};

export function check(value: unknown, kind: Kind, field: string): void {
  const ok =
    kind === "bool" ? typeof value === "boolean"
    : kind === "string" ? typeof value === "string"
    : typeof value === "number" && Number.isInteger(value) && (kind === "int" || value >= 0);
  if (!ok) throw new BerthError(`got ${JSON.stringify(value)}; use ${FORMS[kind]}`, { field });
}

export function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BerthError(`got ${JSON.stringify(value)}; use a JSON object`, { field });
  }
  return value as Record<string, unknown>;
}

export function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new BerthError(`got ${JSON.stringify(value)}; use a JSON array`, { field });
  return value;
}

/** Check the listed keys of `obj`; unknown keys are left alone (newer spec versions add fields). */
export function fields(obj: Record<string, unknown>, base: string, spec: Record<string, Kind>, required: string[] = []): void {
  for (const key of required) {
    if (obj[key] === undefined) throw new BerthError(`is required`, { field: `${base}.${key}` });
  }
  for (const [key, kind] of Object.entries(spec)) {
    // JSON null means unset: drop it so the range checks and the planner see it as omitted.
    if (obj[key] === null) delete obj[key];
    else if (obj[key] !== undefined) check(obj[key], kind, `${base}.${key}`);
  }
}

