import { describe, expect, test } from "bun:test";
import { kernelAtLeast, kernelVersion } from "./kernel-version.ts";

describe("kernelVersion", () => {
  test("reads major and minor, ignoring the patch level and the distribution's suffix", () => {
    expect(kernelVersion("6.18.0-rc1-amd64\n")).toBe(6018);
    expect(kernelVersion("5.7.19")).toBe(5007);
    expect(kernelVersion("4.19.0-26-cloud-amd64")).toBe(4019);
  });
  test("garbage reads as 0, which no feature check passes", () => {
    expect(kernelVersion("")).toBe(0);
    expect(kernelVersion("linux")).toBe(0);
    expect(kernelAtLeast("", 3, 0)).toBe(false);
  });
  test("compares minor numbers as numbers, not strings", () => {
    expect(kernelAtLeast("5.10.0", 5, 7)).toBe(true);
    expect(kernelAtLeast("5.6.0", 5, 7)).toBe(false);
    expect(kernelAtLeast("6.1.0", 5, 7)).toBe(true);
    expect(kernelAtLeast("5.7.0", 5, 7)).toBe(true);
  });
});
