import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENGINE_RECORDS, keepsExitRecords } from "./diagnose-gather.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-gather-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keepsExitRecords", () => {
  test("podman's exit codes only where its file events backend writes its log; CRI-O's never; no engine, none", () => {
    const log = join(dir, "events.log");
    const where = { ...ENGINE_RECORDS, podmanEvents: log };
    expect(keepsExitRecords("podman", where)).toBe(false);
    writeFileSync(log, "");
    expect(keepsExitRecords("podman", where)).toBe(true);
    expect(["docker", "containerd", "kubernetes", "berth", "cri-o", undefined].map((e) => keepsExitRecords(e, where))).toEqual([true, true, true, true, false, false]);
  });
});
