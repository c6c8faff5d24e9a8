/**
 * The op table is written three times: src/plan/ops.ts (what the planner sends), the C
 * helper (its enum, the signature table every plan is checked against, the switches that
 * run each op: main.c's and the concerns' it hands ops on to) and native/PROTOCOL.md
 * (what a reader is told). A renumbered or added op that misses one of them makes the
 * helper run the wrong op or refuse the plan; this test reads all three and fails on the
 * first difference, naming it.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
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

/** The `case NAME:` labels of the switch in the function that starts at `signature`. */
function switchCases(source: string, signature: string): string[] {
  const start = source.indexOf(signature);
  if (start < 0) throw new Error(`no ${signature}`);
  const end = source.indexOf("\n}\n", start);
  return [...source.slice(start, end).matchAll(/^\tcase ([A-Z_][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

/**
 * The ops the helper runs, as an auditor follows them: the `case NAME:` labels of main.c's
 * `static void run(const struct op *op)`, and of each `run_X_op(op)` its `default:` hands
 * an op on to — a concern's own switch, defined in one of the helper's files.
 */
function dispatchedCases(files: Record<string, string>): string[] {
  const signature = "static void run(const struct op *op)";
  const main = files["main.c"] ?? "";
  const cases = switchCases(main, signature);
  const run = main.slice(main.indexOf(signature), main.indexOf("\n}\n", main.indexOf(signature)));
  const handedOn = run.includes("\tdefault:") ? run.slice(run.indexOf("\tdefault:")) : "";
  for (const [, name] of handedOn.matchAll(/\b(run_[a-z]+_op)\(op\)/g)) {
    const own = `int ${name}(const struct op *op)`;
    const where = Object.values(files).filter((text) => text.includes(`\n${own}\n`));
    if (where.length !== 1) throw new Error(`${name}, which main.c's run() hands ops to, is defined in ${where.length} files`);
    cases.push(...switchCases(where[0]!, own));
  }
  return cases;
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
    const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith(".c")).map((f) => [f, read(join(dir, f))]));
    const cases = dispatchedCases(files);
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
    const run = "static void run(const struct op *op)\n{\n\tswitch (op->code) {\n\tcase SETNS:\n\t\tbreak;\n\tdefault:\n\t\trun_host_op(op);\n\t}\n}\n";
    const host = "#include \"berth-init.h\"\n\nint run_host_op(const struct op *op)\n{\n\tswitch (op->code) {\n\tcase FORK:\n\tcase SETNS:\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n";
    expect(dispatchedCases({ "main.c": run, "host.c": host })).toEqual(["SETNS", "FORK", "SETNS"]);
    expect(() => dispatchedCases({ "main.c": run })).toThrow("run_host_op, which main.c's run() hands ops to, is defined in 0 files");
    expect(parseSignatures('static const char *const SIGNATURE[NOPS] = {\n\t[SETNS] = "su", [FORK] = "uuu",\n};')).toEqual(["SETNS", "FORK"]);
  });
});
