import { describe, expect, test } from "bun:test";
import { errorOf } from "../test/berth-error.ts";
import { goDurationMs, parseGoDuration } from "./go-duration.ts";

describe("Go durations, as go-runc sends events --interval", () => {
  const good: [string, number][] = [["5s", 5000], ["500ms", 500], ["1m30s", 90_000], ["1.5h", 5_400_000], ["250us", 0.25], ["0", 0], ["2m", 120_000], [".5s", 500]];
  for (const [text, ms] of good) test(`${text} is ${ms} ms`, () => expect(parseGoDuration(text, "--interval")).toBe(ms));
  test("a negative duration parses (the command then refuses it)", () => expect(parseGoDuration("-1s", "--interval")).toBe(-1000));
  for (const bad of ["5", "", "s", "5 s", "1d", "5sec", "1..5s"]) {
    test(`${JSON.stringify(bad)} is refused naming --interval`, () => {
      expect(errorOf(() => parseGoDuration(bad, "--interval")).message).toStartWith(`--interval: invalid duration ${JSON.stringify(bad)}`);
    });
  }
  test("docker's --since 10m: the same grammar, or undefined for what is not a duration", () => {
    expect(goDurationMs("1h30m")).toBe(5_400_000);
    expect(goDurationMs("1796500000")).toBeUndefined();
    expect(goDurationMs("2026-12-06T10:00:00Z")).toBeUndefined();
  });
});
