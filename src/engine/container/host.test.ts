import { describe, expect, test } from "bun:test";
import { parseBootTime } from "./host.ts";

describe("parseBootTime", () => {
  test("/proc/stat's btime line, in ms; none is undefined", () => {
    expect(parseBootTime("cpu  10 0 5 100\ncpu0 5 0 2 50\nintr 1 2\nctxt 99\nbtime 1765000000\nprocesses 4\n")).toBe(1765000000000);
    expect(parseBootTime("cpu  10 0 5 100\nctxt 99\n")).toBeUndefined();
    expect(parseBootTime("xbtime 12\n")).toBeUndefined();
  });
});
