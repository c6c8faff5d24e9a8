/**
 * The event journal on a real filesystem: bounded by rotation, followed across it,
 * and written by several processes at once without a torn or mixed line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enginePaths } from "./paths.ts";
import { JournalReader, MAX_BYTES, parseJournal, recordContainerEvent, recordEvent } from "./event-journal.ts";
import { fromJournal } from "../observe/events.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function fresh() {
  const d = mkdtempSync(join(tmpdir(), "berth-journal-"));
  dirs.push(d);
  return enginePaths({ root: join(d, "root"), runroot: join(d, "run") });
}

describe("the event journal", () => {
  test("one docker event object per line: Type, Action, Actor (ID, Attributes), scope, time, timeNano", () => {
    const paths = fresh();
    recordContainerEvent(paths, { Id: "a".repeat(64), Name: "/web", Image: "busybox", Labels: { app: "x" } }, "die", { exitCode: "3" });
    recordEvent(paths, "network", "create", "n1", { name: "net", type: "bridge" }, 1_700_000_000_123_000_000n);
    const text = readFileSync(join(paths.events, "events.log"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const [die, net] = parseJournal(text);
    expect(die).toMatchObject({ Type: "container", Action: "die", Actor: { ID: "a".repeat(64), Attributes: { app: "x", image: "busybox", name: "web", exitCode: "3" } }, scope: "local" });
    expect(Math.abs(die!.timeNano / 1e6 - Date.now())).toBeLessThan(60_000);
    expect(net).toEqual({ Type: "network", Action: "create", Actor: { ID: "n1", Attributes: { name: "net", type: "bridge" } }, scope: "local", time: 1_700_000_000, timeNano: 1_700_000_000_123_000_000 });
  });
  test("bounded: past MAX_BYTES the file becomes events.log.1 (the older one dropped); a follower sees every event once, in order", () => {
    const paths = fresh();
    const reader = new JournalReader(paths, false);
    const seen: string[] = [];
    let n = 0;
    // three rotations' worth, read every 100 writes
    while (n < 4000 * 3) {
      recordEvent(paths, "volume", "create", `v${n}`, { driver: "local", pad: "x".repeat(200) });
      n++;
      if (n % 100 === 0) seen.push(...reader.next().map((e) => e.Actor.ID));
    }
    seen.push(...reader.next().map((e) => e.Actor.ID));
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
    const log = join(paths.events, "events.log");
    expect(existsSync(`${log}.1`)).toBe(true);
    const line = readFileSync(log, "utf8").split("\n")[0]!.length + 1;
    expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(MAX_BYTES + line);
    expect(statSync(log).size).toBeLessThanOrEqual(MAX_BYTES + line);
    // from the start: what is kept, oldest first, ending with the last written
    const all = new JournalReader(paths, true).next().map((e) => e.Actor.ID);
    expect(all.at(-1)).toBe(`v${n - 1}`);
    expect(all.length).toBeGreaterThan(MAX_BYTES / line);
    expect(all).toEqual(seen.slice(seen.length - all.length));
  });
  test("two rotations between two reads: the rest of the file read (gone from the directory by then), events.log.1 whole, then events.log — every event once, in order", () => {
    const paths = fresh();
    const reader = new JournalReader(paths, false);
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `v${from + i}`);
    const write = (from: number, to: number) => {
      for (let i = from; i < to; i++) recordEvent(paths, "volume", "create", `v${i}`, { driver: "local", pad: "x".repeat(200) });
    };
    write(0, 10);
    expect(reader.next().map((e) => e.Actor.ID)).toEqual(ids(0, 10));
    const log = join(paths.events, "events.log");
    const first = statSync(log).ino;
    // two and a half rotations' worth unread: the file being read is rotated out of the journal
    const end = 10 + Math.floor((2.5 * MAX_BYTES) / (statSync(log).size / 10));
    write(10, end);
    expect([first, statSync(log).ino]).not.toContain(statSync(`${log}.1`).ino);
    expect(reader.next().map((e) => e.Actor.ID)).toEqual(ids(10, end));
    write(end, end + 5);
    expect(reader.next().map((e) => e.Actor.ID)).toEqual(ids(end, end + 5));
    reader.close();
  });
  test("four processes writing at once: every line whole, none lost", async () => {
    const paths = fresh();
    const script = `import { recordEvent } from ${JSON.stringify(join(import.meta.dir, "event-journal.ts"))};
      const paths = JSON.parse(process.argv[2]);
      for (let i = 0; i < 500; i++) recordEvent(paths, "container", "start", process.argv[3] + "-" + i, { name: "w", pad: "y".repeat(150) });`;
    const file = join(paths.runroot, "..", "writer.ts");
    await Bun.write(file, script);
    const procs = ["a", "b", "c", "d"].map((w) => Bun.spawn([process.execPath, file, JSON.stringify(paths), w], { stdout: "inherit", stderr: "inherit" }));
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0]);
    const lines = readFileSync(join(paths.events, "events.log"), "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBe(2000);
    const ids = lines.map((l) => (JSON.parse(l) as { Actor: { ID: string } }).Actor.ID);
    for (const w of ["a", "b", "c", "d"]) expect(ids.filter((id) => id.startsWith(`${w}-`))).toEqual(Array.from({ length: 500 }, (_, i) => `${w}-${i}`));
  });
  test("a journal that cannot be written costs the event, not the command", () => {
    const paths = { ...fresh(), events: "/proc/self/no-such-dir/events" };
    expect(() => recordEvent(paths, "container", "start", "x")).not.toThrow();
  });
  test("a torn last line (a write cut short on a full /run) costs only itself: the event after it is read, by a follower and from the start", () => {
    const paths = fresh();
    recordEvent(paths, "volume", "create", "v0");
    const reader = new JournalReader(paths, false);
    appendFileSync(join(paths.events, "events.log"), '{"Type":"volume","Action":"cre');
    recordEvent(paths, "volume", "create", "v1");
    expect(reader.next().map((e) => e.Actor.ID)).toEqual(["v1"]);
    expect(new JournalReader(paths, true).next().map((e) => e.Actor.ID)).toEqual(["v0", "v1"]);
  });
  test("a foreign line that is JSON but not an event is skipped: events --since read its time or Actor and threw", () => {
    const foreign = [
      '{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{}},"timeNano":1e300}',
      '{"Type":"volume","Action":"create","Actor":"v","timeNano":1}',
      '{"Type":"volume","Action":"create","Actor":{"ID":7,"Attributes":{}},"timeNano":1}',
      '{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":"x"},"timeNano":1}',
    ];
    const good = '{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{"driver":"local"}},"scope":"local","time":1,"timeNano":1000000000}';
    const events = parseJournal(`${foreign.join("\n")}\n${good}\n`);
    expect(events.map((e) => e.Actor.ID)).toEqual(["v"]);
    expect(fromJournal(events[0]!).time).toBe("1970-01-01T00:00:01.000Z");
  });
});
