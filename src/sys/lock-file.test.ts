/**
 * src/sys/lock-file.ts with real processes: a lock another process holds makes a taker
 * wait, or fail with LockBusyError when it will not wait; the holder's death frees it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LockBusyError, lockPath, updateLocked } from "./lock-file.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-lock-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Takes the lock (waiting as long as it takes), says so, and holds it until its stdin closes.
const HOLDER = `
const [mod, path] = process.argv.slice(1);
const { lockPath } = await import(mod);
process.stdout.write("taking\\n");
lockPath(path);
process.stdout.write("held\\n");
for await (const _ of Bun.stdin.stream()) {}
`;

/** A process running HOLDER on `path`, and its stdout read line by line. */
function holder(path: string) {
  const proc = Bun.spawn([process.execPath, "-e", HOLDER, join(import.meta.dir, "lock-file.ts"), path], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return "";
      buffered += new TextDecoder().decode(value);
    }
  };
  return { proc, nextLine };
}

/** The pids /proc/locks shows waiting for a flock. */
function waiters(): number[] {
  return [...readFileSync("/proc/locks", "utf8").matchAll(/^\d+: -> FLOCK +ADVISORY +WRITE +(\d+) /gm)].map((m) => Number(m[1]));
}

describe("lockPath", () => {
  test("a lock another process holds: fails at once with timeoutMs 0, after the wait with a timeout, naming the path", async () => {
    const path = join(dir, "held");
    mkdirSync(path);
    const h = holder(path);
    try {
      expect(await h.nextLine()).toBe("taking");
      expect(await h.nextLine()).toBe("held");
      expect(() => lockPath(path, { timeoutMs: 0 })).toThrow(new LockBusyError(path, 0));
      expect(() => lockPath(path, { timeoutMs: 0 })).toThrow(`${path} is locked by another process; retry when its command has finished`);
      expect(() => lockPath(path, { timeoutMs: 20 })).toThrow(`${path} is locked by another process (waited 20 ms)`);
    } finally {
      h.proc.kill("SIGKILL");
      await h.proc.exited;
    }
    // the kernel dropped the killed holder's lock: nothing stale is left
    lockPath(path, { timeoutMs: 0 }).release();
  });

  test("without a timeout the taker waits until the holder releases, then has it", async () => {
    const path = join(dir, "waited");
    mkdirSync(path);
    const mine = lockPath(path);
    const h = holder(path);
    try {
      expect(await h.nextLine()).toBe("taking");
      // the kernel lists a process blocked in flock in /proc/locks, behind "->"
      while (!waiters().includes(h.proc.pid)) await Bun.sleep(5);
      mine.release();
      expect(await h.nextLine()).toBe("held");
      expect(() => lockPath(path, { timeoutMs: 0 })).toThrow(LockBusyError);
    } finally {
      h.proc.stdin.end();
      await h.proc.exited;
    }
    lockPath(path, { timeoutMs: 0 }).release();
  });

  test("two locks in one process exclude each other too (flock is per open file)", () => {
    const path = join(dir, "same-process");
    mkdirSync(path);
    const first = lockPath(path);
    expect(() => lockPath(path, { timeoutMs: 0 })).toThrow(LockBusyError);
    first.release();
    lockPath(path, { timeoutMs: 0 }).release();
  });

  test("a missing path is ENOENT unless create is asked, which makes a 0600 file", () => {
    const path = join(dir, "made", "x.lock");
    expect(() => lockPath(path)).toThrow(`ENOENT: no such file or directory, open '${path}'`);
    mkdirSync(join(dir, "made"));
    lockPath(path, { create: true }).release();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe("updateLocked", () => {
  test("a change is written only when its bytes change; a fsync function decides on the document as read, before the change", () => {
    const path = join(dir, "doc.json");
    const file = { path, lock: join(dir, "doc.lock"), dir, read: () => (statOrUndefined(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, number>) : {}), serialize: (d: Record<string, number>) => JSON.stringify(d) };
    const seen: Record<string, number>[] = [];
    updateLocked(file, (d) => void (d.a = 1), { fsync: (d) => (seen.push({ ...d }), false) });
    updateLocked(file, (d) => void delete d.a, { fsync: (d) => (seen.push({ ...d }), true) });
    expect(seen).toEqual([{}, { a: 1 }]);
    expect(readFileSync(path, "utf8")).toBe("{}");
    const before = statSync(path).mtimeMs;
    updateLocked(file, () => {});
    expect(statSync(path).mtimeMs).toBe(before);
  });
});

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
