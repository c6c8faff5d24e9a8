import { describe, expect, test } from "bun:test";
import { BerthError } from "./errors.ts";
import { errorOf } from "../test/berth-error.ts";
import { filterBool, parseFilterFlag, parseKeyValues, quoteInput, splitKeyValue } from "./key-value.ts";

describe("splitKeyValue: KEY=VALUE at the first '='", () => {
  test("the value keeps every '=' after the first, and may be empty", () => {
    expect(splitKeyValue("o=size=64m")).toEqual(["o", "size=64m"]);
    expect(splitKeyValue("k=")).toEqual(["k", ""]);
    expect(splitKeyValue("k==")).toEqual(["k", "="]);
    expect(splitKeyValue("==")).toEqual(["", "="]);
  });
  test("no '=' is no pair (the caller's KEY alone); an empty key is told apart from it", () => {
    expect(splitKeyValue("flag")).toBeUndefined();
    expect(splitKeyValue("")).toBeUndefined();
    expect(splitKeyValue("=x")).toEqual(["", "x"]);
  });
  test("NUL bytes, spaces and non-ASCII are data, never separators", () => {
    expect(splitKeyValue("a\0b=c\0=d")).toEqual(["a\0b", "c\0=d"]);
    expect(splitKeyValue("\0")).toBeUndefined();
    expect(splitKeyValue(" k = v ")).toEqual([" k ", " v "]);
    expect(splitKeyValue("ключ=значение=✓")).toEqual(["ключ", "значение=✓"]);
  });
});

describe("parseKeyValues: docker's KEY=VALUE flags (--sysctl, --annotation, --opt, --set)", () => {
  test("pairs in order, repeats kept for the caller, '=' inside the value kept", () => {
    expect(parseKeyValues(["b=1", "a=x=y", "b=", "c=\0"], "--opt")).toEqual([["b", "1"], ["a", "x=y"], ["b", ""], ["c", "\0"]]);
    expect(parseKeyValues(undefined, "--opt")).toEqual([]);
    expect(parseKeyValues([], "--opt")).toEqual([]);
  });
  test("no '=' or an empty key: one line naming the flag, the entry and the form", () => {
    for (const bad of ["novalue", "", "=x", "=", "\0"]) {
      let err: unknown;
      try {
        parseKeyValues(["ok=1", bad], "--sysctl");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).field).toBe("--sysctl");
      expect((err as BerthError).message).toBe(`--sysctl: invalid ${JSON.stringify(bad)}; use KEY=VALUE`);
      expect((err as BerthError).message).not.toContain("\0");
    }
  });
  test("a flag names its own form", () => {
    expect(() => parseKeyValues(["pids.max"], "--set", "FILE=VALUE, e.g. memory.high=48m")).toThrow('--set: invalid "pids.max"; use FILE=VALUE, e.g. memory.high=48m');
  });
});

describe("--filter KEY=VALUE: parseFilterFlag, filterBool, quoteInput", () => {
  const keys = ["name", "label", "dangling"];
  const line = (text: string) => `--filter: invalid filter ${quoteInput(text)}; use KEY=VALUE with KEY one of name, label, dangling`;
  test("a known key; the value may be empty and keeps its own =", () => {
    expect(parseFilterFlag("label=a=b", keys)).toEqual(["label", "a=b"]);
    expect(parseFilterFlag("name=", keys)).toEqual(["name", ""]);
  });
  test("no =, an empty or unknown key, a key in another case, NUL in the key: one line naming the keys", () => {
    for (const bad of ["label", "", "=x", "nope=1", "Name=web", "na\0me=web", " name=web"]) {
      const { message } = errorOf(() => parseFilterFlag(bad, keys));
      expect(message).toBe(line(bad));
      expect(message).not.toMatch(/[\0\n]/);
    }
  });
  test("true, false, 1, 0 in any case; anything else named with the two forms", () => {
    expect(["true", "TRUE", "1", "false", "False", "0"].map((v) => filterBool("dangling", v))).toEqual([true, true, true, false, false, false]);
    expect(() => filterBool("dangling", "yes")).toThrow('--filter: invalid dangling "yes"; use dangling=true or dangling=false');
    expect(() => filterBool("dangling", "")).toThrow('--filter: invalid dangling ""');
  });
  test("quoted input: control characters escaped (C1 and DEL too), cut at 80 characters", () => {
    expect(quoteInput("a\0b\n\u001b\u007f\u009b")).toBe('"a\\u0000b\\n\\u001b\\u007f\\u009b"');
    expect(quoteInput("é".repeat(200))).toBe(`"${"é".repeat(80)}…"`);
    expect(quoteInput("x".repeat(80))).toBe(`"${"x".repeat(80)}"`);
  });
});
