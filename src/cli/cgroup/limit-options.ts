/**
 * Wiring the limit flags into a command (create, set, run) and turning the
 * parsed options into validated `linux.resources`, merged over `--resources FILE`.
 */
import { readFileSync, statSync } from "node:fs";
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import type { LinuxResources } from "../../spec/linux-resources.ts";
import { validateResources } from "../../spec/validate-resources.ts";
import { errorForFlags, LIMIT_OPTIONS, limitsToResources, type LimitFlags } from "./limits.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addLimitOptions(cmd: Command): Command {
  for (const [flags, help, repeatable] of LIMIT_OPTIONS) {
    if (repeatable) cmd.option(flags, help, collect);
    else cmd.option(flags, help);
  }
  cmd.option("--resources <file>", "an OCI linux.resources JSON file (- for stdin); flags override it");
  return cmd;
}

/** A block device path → [major, minor], from its rdev. */
function deviceNumbers(path: string): [number, number] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new BerthError(`${path} does not exist; give a block device path or MAJ:MIN`, { field: "--io-max" });
  }
  if (!st.isBlockDevice()) throw new BerthError(`${path} is not a block device; give a block device path or MAJ:MIN`, { field: "--io-max" });
  // Linux dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31.
  const rdev = st.rdev;
  return [((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), (rdev & 0xff) | ((rdev >> 12) & ~0xff)];
}

function readResourcesFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new BerthError(`cannot read ${file}: ${(err as Error).message}`, { field: "--resources" });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BerthError(`${file} is not valid JSON: ${(err as Error).message}`, { field: "--resources" });
  }
}

export interface ParsedLimits {
  resources: LinuxResources;
  flagOf: Map<string, string>;
}

export function limitsFromOptions(opts: LimitFlags & { resources?: string }): ParsedLimits {
  const fromFlags = limitsToResources(opts, deviceNumbers);
  const base = opts.resources ? validateResources(readResourcesFile(opts.resources)) : {};
  const merged: LinuxResources = { ...base };
  for (const [key, value] of Object.entries(fromFlags.resources)) {
    const prev = (base as Record<string, unknown>)[key];
    (merged as Record<string, unknown>)[key] =
      prev && typeof prev === "object" && !Array.isArray(prev) && !Array.isArray(value) ? { ...prev, ...value } : value;
  }
  try {
    return { resources: validateResources(merged), flagOf: fromFlags.flagOf };
  } catch (err) {
    throw errorForFlags(err, fromFlags.flagOf);
  }
}
