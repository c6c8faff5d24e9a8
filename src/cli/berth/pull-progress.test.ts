import { expect, test } from "bun:test";
import { layerLine, progressBar } from "./pull-progress.ts";

test("docker's bar: 50 wide, '>' at the head", () => {
  expect(progressBar(0, 100)).toBe(`[${" ".repeat(50)}]`);
  expect(progressBar(50, 100)).toBe(`[${"=".repeat(24)}>${" ".repeat(25)}]`);
  expect(progressBar(100, 100)).toBe(`[${"=".repeat(49)}>]`);
});

test("a downloading layer shows bytes, rate and time left; other statuses just the status", () => {
  const now = 10_000;
  expect(layerLine("abc123def456", { status: "Downloading", current: 1_000_000, total: 3_000_000, started: now - 2000 }, now))
    .toBe(`abc123def456: Downloading ${progressBar(1_000_000, 3_000_000)} 1MB/3MB 500kB/s 4s`);
  expect(layerLine("abc123def456", { status: "Pull complete" }, now)).toBe("abc123def456: Pull complete");
});
