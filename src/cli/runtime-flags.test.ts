import { describe, expect, test } from "bun:test";
import { FlagError, parseFlags } from "./runtime-flags.ts";

const CREATE = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-subreaper": { type: "boolean" },
} as const;

describe("runc's flag grammar", () => {
  test("--flag value and --flag=value are the same", () => {
    expect(parseFlags(["--bundle", "/b", "id"], CREATE).values.bundle).toBe("/b");
    expect(parseFlags(["--bundle=/b", "id"], CREATE).values.bundle).toBe("/b");
    expect(parseFlags(["--pid-file=/p=x", "id"], CREATE).values["pid-file"]).toBe("/p=x");
  });

  test("short flags, and single-dash long flags as go-runc sends them", () => {
    expect(parseFlags(["-b", "/b", "id"], CREATE).values.bundle).toBe("/b");
    expect(parseFlags(["-no-subreaper", "id"], CREATE).values["no-subreaper"]).toBe(true);
    expect(parseFlags(["-bundle", "/b", "id"], CREATE).values.bundle).toBe("/b");
  });

  test("booleans take no value, or true/false after =", () => {
    expect(parseFlags(["--no-pivot", "id"], CREATE).values["no-pivot"]).toBe(true);
    expect(parseFlags(["--no-pivot=false", "id"], CREATE).values["no-pivot"]).toBe(false);
    expect(parseFlags(["--no-pivot=true", "id"], CREATE).values["no-pivot"]).toBe(true);
    expect(() => parseFlags(["--no-pivot=maybe", "id"], CREATE)).toThrow("--no-pivot takes no value");
    // a boolean never swallows the next token
    expect(parseFlags(["--no-pivot", "id"], CREATE).positionals).toEqual(["id"]);
  });

  test("flags stop at the first positional: ps options after the id pass through", () => {
    const r = parseFlags(["--bundle", "/b", "id", "-ef", "--no-pivot"], CREATE);
    expect(r.positionals).toEqual(["id", "-ef", "--no-pivot"]);
    expect(r.values["no-pivot"]).toBeUndefined();
  });

  test("-- ends the flags; a lone - is a positional", () => {
    expect(parseFlags(["--", "-id"], CREATE).positionals).toEqual(["-id"]);
    expect(parseFlags(["-"], CREATE).positionals).toEqual(["-"]);
  });

  test("strict: an unknown flag or a missing value is an error naming the flag", () => {
    expect(() => parseFlags(["--nope", "id"], CREATE)).toThrow(new FlagError("unknown flag --nope"));
    expect(() => parseFlags(["--nope=1", "id"], CREATE)).toThrow("unknown flag --nope");
    expect(() => parseFlags(["--bundle"], CREATE)).toThrow("--bundle needs a value");
  });

  test("not strict (global flags): unknown flags are collected and skipped", () => {
    const r = parseFlags(["--root", "/r", "--weird", "--other=x", "state", "id"], { root: { type: "string" } }, { strict: false });
    expect(r.values.root).toBe("/r");
    expect(r.unknown).toEqual(["--weird", "--other=x"]);
    expect(r.positionals).toEqual(["state", "id"]);
  });

  test("a flag's value may start with a dash", () => {
    expect(parseFlags(["--bundle", "-odd", "id"], CREATE).values.bundle).toBe("-odd");
  });
});

describe("parseFlags: repeated flags", () => {
  test("a multiple flag collects every value in order, in both spellings", () => {
    const r = parseFlags(["-e", "A=1", "--env=B=2", "--env", "C=3", "id"], { env: { type: "string", short: "e", multiple: true } });
    expect(r.values.env).toEqual(["A=1", "B=2", "C=3"]);
    expect(r.positionals).toEqual(["id"]);
  });

  test("a single-valued flag keeps the last value", () => {
    expect(parseFlags(["--cwd", "/a", "--cwd", "/b"], { cwd: { type: "string" } }).values.cwd).toBe("/b");
  });
});
