import { describe, expect, test } from "bun:test";
import { diffSnapshots, formatEvent, matchesFilter, parseEventFilters, type Snapshot } from "./events.ts";

const T = "2025-01-01T00:00:00.000Z";
const snap = (berth: [string, string, number?][], ooms: [string, number][] = []): Snapshot => ({
  berth: new Map(berth.map(([id, status, code]) => [id, { status, pid: 42, cgroup: `/berth/${id}`, ...(code !== undefined && { exitCode: code }) }])),
  oomKills: new Map(ooms),
  owners: new Map([["/berth/a", { runtime: "berth", id: "a" }]]),
});

describe("events between two looks", () => {
  test("lifecycle transitions of berth containers", () => {
    expect(diffSnapshots(snap([]), snap([["a", "created"]]), T).map((e) => e.type)).toEqual(["create"]);
    expect(diffSnapshots(snap([]), snap([["a", "paused"]]), T).map((e) => e.type)).toEqual(["create", "start", "pause"]);
    expect(diffSnapshots(snap([["a", "created"]]), snap([["a", "running"]]), T)).toEqual([{ time: T, type: "start", runtime: "berth", id: "a", cgroup: "/berth/a", pid: 42 }]);
    expect(diffSnapshots(snap([["a", "paused"]]), snap([["a", "running"]]), T).map((e) => e.type)).toEqual(["resume"]);
    expect(diffSnapshots(snap([["a", "running"]]), snap([["a", "stopped", 3]]), T)[0]).toMatchObject({ type: "exit", exitCode: 3 });
    expect(diffSnapshots(snap([["a", "running"]]), snap([["a", "stopped"]]), T)[0]).toMatchObject({ type: "exit", exitCode: null });
    expect(diffSnapshots(snap([["a", "running"]]), snap([]), T).map((e) => e.type)).toEqual(["exit", "delete"]);
    expect(diffSnapshots(snap([["a", "stopped"]]), snap([]), T).map((e) => e.type)).toEqual(["delete"]);
  });
  test("OOM kills: one event per cgroup whose count rose, owned by the container it is in", () => {
    const e = diffSnapshots(snap([], [["/berth/a/sub", 1], ["/x", 2]]), snap([], [["/berth/a/sub", 3], ["/x", 2], ["/new", 1]]), T);
    expect(e).toEqual([
      { time: T, type: "oom", runtime: "berth", id: "a", cgroup: "/berth/a/sub", count: 2 },
      { time: T, type: "oom", cgroup: "/new", count: 1 },
    ]);
  });
  test("filters: the same key ORs, different keys AND; bad ones are one line", () => {
    const f = parseEventFilters(["event=oom", "event=exit", "cgroup=/berth"]);
    expect(matchesFilter({ time: T, type: "oom", cgroup: "/berth/a" }, f)).toBe(true);
    expect(matchesFilter({ time: T, type: "oom", cgroup: "/berthx" }, f)).toBe(false);
    expect(matchesFilter({ time: T, type: "start", cgroup: "/berth/a" }, f)).toBe(false);
    expect(matchesFilter({ time: T, type: "start", id: "abcdef", name: "web" }, parseEventFilters(["container=abc"]))).toBe(true);
    expect(matchesFilter({ time: T, type: "start", id: "abcdef", name: "web" }, parseEventFilters(["container=web"]))).toBe(true);
    expect(() => parseEventFilters(["event"])).toThrow('--filter: invalid filter "event"; use event=TYPE, container=ID or cgroup=PATH');
  });
  test("the table line", () => {
    expect(formatEvent({ time: T, type: "exit", runtime: "berth", id: "a", pid: 42, cgroup: "/berth/a", exitCode: null })).toBe(`${T} exit   berth a (pid=42, cgroup=/berth/a, exitCode=unknown)`);
    expect(formatEvent({ time: T, type: "oom", cgroup: "/x", count: 1 })).toBe(`${T} oom    cgroup /x (kills=1)`);
  });
});
