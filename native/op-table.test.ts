/**
 * The op table is written three times: src/plan/ops.ts (what the planner sends), the C
 * helper (its enum, the signature table every plan is checked against, the switch that
 * runs each op) and native/PROTOCOL.md (what a reader is told). A renumbered or added op
 * that misses one of them makes the helper run the wrong op or refuse the plan; this
 * test reads all three and fails on the first difference, naming it.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OP } from "../src/plan/ops.ts";

const dir = join(import.meta.dir, "berth-init");
const read = (path: string) => readFileSync(path, "utf8");

/** `enum { SETNS = 1, UNSHARE, ..., NOPS }` in the header: names to numbers, C's rules. */
function parseOpEnum(header: string): Map<string, number> {
  const body = /enum\s*\{([^}]*\bNOPS\b[^}]*)\}/.exec(header)?.[1];
  if (!body) throw new Error("no enum ending in NOPS in berth-init.h");
  const out = new Map<string, number>();
  let next = 0;
  for (const item of body.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Z_][A-Z0-9_]*)\s*(?:=\s*(\d+))?$/.exec(item);
    if (!m) throw new Error(`unreadable enum item ${JSON.stringify(item)}`);
    const value = m[2] === undefined ? next : Number(m[2]);
    out.set(m[1]!, value);
    next = value + 1;
  }
  out.delete("NOPS");
  return out;
}

/** The `case NAME:` labels of `static void run(const struct op *op)`'s switch. */
function parseSwitchCases(main: string): string[] {
  const start = main.indexOf("static void run(const struct op *op)");
  if (start < 0) throw new Error("no run() in main.c");
  const end = main.indexOf("\n}\n", start);
  return [...main.slice(start, end).matchAll(/^\tcase ([A-Z_][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

/** `[NAME] = "sig"` entries of the SIGNATURE table. */
function parseSignatures(plan: string): string[] {
  const body = /SIGNATURE\[NOPS\]\s*=\s*\{([^}]*)\}/.exec(plan)?.[1];
  if (!body) throw new Error("no SIGNATURE table in plan.c");
  return [...body.matchAll(/\[([A-Z_][A-Z0-9_]*)\]\s*=/g)].map((m) => m[1]!);
}

/** `| 12 | NAME | ... |` rows of PROTOCOL.md's op table. */
function parseProtocolTable(md: string): Map<string, number> {
  const section = md.slice(md.indexOf("## Ops"));
  const out = new Map<string, number>();
  for (const m of section.matchAll(/^\| (\d+) \| ([A-Z_][A-Z0-9_]*) \|/gm)) {
    if (out.has(m[2]!)) throw new Error(`PROTOCOL.md lists ${m[2]} twice`);
    out.set(m[2]!, Number(m[1]));
  }
  return out;
}

const planOps = new Map(Object.entries(OP));
const sorted = (names: Iterable<string>) => [...names].sort();

/** Every difference between the planner's table and another, one line each. */
function differences(what: string, other: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [name, code] of planOps) {
    if (!other.has(name)) out.push(`${what} has no ${name} (plan/ops.ts: ${code})`);
    else if (other.get(name) !== code) out.push(`${what}: ${name} is ${other.get(name)}, plan/ops.ts says ${code}`);
  }
  for (const name of other.keys()) if (!planOps.has(name)) out.push(`${what} has ${name}, plan/ops.ts does not`);
  return out;
}

describe("the op table", () => {
  test("the C enum has the planner's names and numbers", () => {
    expect(differences("berth-init.h's enum", parseOpEnum(read(join(dir, "berth-init.h"))))).toEqual([]);
  });

  test("every op has a signature and a case in the helper's switch, each once", () => {
    const cases = parseSwitchCases(read(join(dir, "main.c")));
    const signatures = parseSignatures(read(join(dir, "plan.c")));
    expect(cases.length).toBe(new Set(cases).size);
    expect(signatures.length).toBe(new Set(signatures).size);
    expect(sorted(cases)).toEqual(sorted(planOps.keys()));
    expect(sorted(signatures)).toEqual(sorted(planOps.keys()));
  });

  test("PROTOCOL.md's table has the planner's names and numbers", () => {
    expect(differences("PROTOCOL.md", parseProtocolTable(read(join(import.meta.dir, "PROTOCOL.md"))))).toEqual([]);
  });

  test("the parsers see a disagreement", () => {
    // each parser against a planted difference, so the checks above cannot pass vacuously
    const renumbered = parseOpEnum("enum {\n\tSETNS = 1, UNSHARE, FORK = 4, WRITE_FILE, NOPS\n};");
    expect([...renumbered]).toEqual([["SETNS", 1], ["UNSHARE", 2], ["FORK", 4], ["WRITE_FILE", 5]]);
    expect(differences("enum", renumbered)).toContain("enum has no USERNS_SYNC (plan/ops.ts: 3)");
    const table = parseProtocolTable("## Ops\n\n| code | name |\n|---|---|\n| 1 | SETNS | path |\n| 3 | UNSHARE | flags |\n");
    expect(differences("PROTOCOL.md", table)).toContain("PROTOCOL.md: UNSHARE is 3, plan/ops.ts says 2");
    expect(parseSwitchCases("static void run(const struct op *op)\n{\n\tswitch (op->code) {\n\tcase SETNS:\n\t\tbreak;\n\t}\n}\n")).toEqual(["SETNS"]);
    expect(parseSignatures('static const char *const SIGNATURE[NOPS] = {\n\t[SETNS] = "su", [FORK] = "uuu",\n};')).toEqual(["SETNS", "FORK"]);
  });
});
