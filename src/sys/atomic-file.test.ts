/**
 * src/sys/atomic-file.ts on real files: the new contents replace the old whole; a
 * process killed half-way through (strace injects SIGKILL at the syscall) leaves the old
 * file as it was; concurrent writers each leave a whole file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-file.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-atomic-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULE = join(import.meta.dir, "atomic-file.ts");
const WRITER = `
const [mod, path, fill, times, fsync] = process.argv.slice(1);
const { writeFileAtomic } = await import(mod);
for (let i = 0; i < Number(times); i++) writeFileAtomic(path, fill.repeat(1 << 18), { fsync: fsync === "fsync" });
`;

describe("writeFileAtomic", () => {
  test("replaces the file whole, with the mode asked for, and leaves no temporary file", () => {
    const path = join(dir, "plain");
    writeFileAtomic(path, "first\n", { mode: 0o600 });
    expect(readFileSync(path, "utf8")).toBe("first\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileAtomic(path, new TextEncoder().encode("second\n"), { fsync: false });
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(statSync(path).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(readdirSync(dir)).toEqual(["plain"]);
  });

  for (const [fsync, at] of [["fsync", "fsync"], ["no-fsync", "rename"]] as const) {
    test(`a writer killed after writing, before its rename (${fsync}), leaves the old file as it was`, () => {
      const sub = join(dir, `crash-${fsync}`);
      rmSync(sub, { recursive: true, force: true });
      mkdirSync(sub);
      const path = join(sub, "record");
      writeFileSync(path, "old\n");
      const r = Bun.spawnSync(["strace", "-f", "-qq", "-o", "/dev/null", "-e", `trace=${at}`, "-e", `inject=${at}:signal=KILL`, process.execPath, "-e", WRITER, MODULE, path, "n", "1", fsync], { stderr: "pipe" });
      expect(r.signalCode ?? r.exitCode).not.toBe(0);
      expect(readFileSync(path, "utf8")).toBe("old\n");
      // the crash left its full temporary file beside it, which a later write does not trip on
      const left = readdirSync(sub).filter((n) => n !== "record");
      expect(left).toHaveLength(1);
      expect(statSync(join(sub, left[0]!)).size).toBe(1 << 18);
      writeFileAtomic(path, "new\n");
      expect(readFileSync(path, "utf8")).toBe("new\n");
    });
  }

  test("a write that fails half-way (the file size limit) raises, keeps the old file and removes its temporary one", () => {
    const sub = join(dir, "efbig");
    mkdirSync(sub);
    const path = join(sub, "record");
    writeFileSync(path, "old\n");
    // dash counts ulimit -f in 512-byte blocks: 64 KiB, against the writer's 256 KiB
    const r = Bun.spawnSync(["sh", "-c", 'ulimit -f 128; exec "$@"', "sh", process.execPath, "-e", WRITER, MODULE, path, "n", "1", "fsync"], { stderr: "pipe" });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("EFBIG");
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(sub)).toEqual(["record"]);
  });

  test("concurrent writers of one path: a reader only ever sees one writer's whole file", async () => {
    const path = join(dir, "shared");
    writeFileSync(path, "z".repeat(1 << 18));
    const writers = ["a", "b", "c"].map((fill) => Bun.spawn([process.execPath, "-e", WRITER, MODULE, path, fill, "30", "no-fsync"], { stderr: "inherit" }));
    let reads = 0;
    const done = Promise.all(writers.map((w) => w.exited));
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      const text = readFileSync(path, "utf8");
      expect(text.length).toBe(1 << 18);
      expect(text.replaceAll(text[0]!, "")).toBe("");
      reads++;
      await Bun.sleep(0);
    }
    expect(await done).toEqual([0, 0, 0]);
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(dir).filter((n) => n.includes("shared"))).toEqual(["shared"]);
  });

  test("a missing directory raises ENOENT naming where it wrote", () => {
    expect(() => writeFileAtomic(join(dir, "missing", "x"), "data")).toThrow(`ENOENT: no such file or directory, open '${join(dir, "missing")}/.x.`);
  });
});
