import { describe, expect, test } from "bun:test";
import { diffSnapshots, ExitCodes, formatEvent, fromJournal, matchesFilter, parseEventFilters, type HostEvent, type Snapshot } from "./events.ts";

const T = "2025-01-01T00:00:00.000Z";
const snap = (berth: [string, string, number?, boolean?][], ooms: [string, number][] = []): Snapshot => ({
  berth: new Map(berth.map(([id, status, code, started]) => [id, { status, pid: 42, cgroup: `/berth/${id}`, ...(code !== undefined && { exitCode: code }), ...(started !== undefined && { started }) }])),
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
    // a look that fell inside berth-runtime's create: the start still shows, and a create that died is an exit
    expect(diffSnapshots(snap([]), snap([["a", "creating"]]), T).map((e) => e.type)).toEqual(["create"]);
    expect(diffSnapshots(snap([["a", "creating"]]), snap([["a", "created"]]), T)).toEqual([]);
    expect(diffSnapshots(snap([["a", "creating"]]), snap([["a", "running"]]), T).map((e) => e.type)).toEqual(["start"]);
    expect(diffSnapshots(snap([["a", "creating"]]), snap([["a", "stopped"]]), T).map((e) => e.type)).toEqual(["exit"]);
    // a whole run between two looks (a look on a loaded host takes seconds): first seen stopped, the steps it took
    // still show — start only when its exec.fifo was gone (a created container killed before start never ran)
    expect(diffSnapshots(snap([]), snap([["a", "stopped", 3, true]]), T).map((e) => [e.type, e.exitCode])).toEqual([["create", undefined], ["start", undefined], ["exit", 3]]);
    expect(diffSnapshots(snap([]), snap([["a", "stopped", undefined, false]]), T).map((e) => [e.type, e.exitCode])).toEqual([["create", undefined], ["exit", null]]);
    expect(diffSnapshots(snap([["a", "created"]]), snap([["a", "stopped", 3, true]]), T).map((e) => e.type)).toEqual(["start", "exit"]);
    expect(diffSnapshots(snap([["a", "created"]]), snap([["a", "stopped", 3, false]]), T).map((e) => e.type)).toEqual(["exit"]);
    expect(diffSnapshots(snap([["a", "running"]]), snap([["a", "stopped", 3, true]]), T).map((e) => e.type)).toEqual(["exit"]);
    expect(diffSnapshots(snap([["a", "stopped", 3, true]]), snap([["a", "stopped", 3, true]]), T)).toEqual([]);
  });
  test("OOM kills: one event per cgroup whose count rose, owned by the container it is in", () => {
    const e = diffSnapshots(snap([], [["/berth/a/sub", 1], ["/x", 2]]), snap([], [["/berth/a/sub", 3], ["/x", 2], ["/new", 1]]), T);
    expect(e).toEqual([
      { time: T, type: "oom", runtime: "berth", id: "a", cgroup: "/berth/a/sub", count: 2 },
      { time: T, type: "oom", cgroup: "/new", count: 1 },
    ]);
  });
  test("a kill and the exit it caused, seen in one look: the kill first; an engine's container berth-runtime made carries both names", () => {
    const ID = "c6ad9fda6ee968eca19293adb470cda2659bcc82bac792903ef7a9a3a125ae36";
    const cg = `/libpod_parent/libpod-${ID}`;
    const state = (status: string) => new Map([[ID, { status, pid: 42, cgroup: cg, engine: "podman", name: "oom" }]]);
    const owners = new Map([[cg, { engine: "podman", runtime: "berth", id: ID, name: "oom" }]]);
    const e = diffSnapshots({ berth: state("running"), oomKills: new Map([[cg, 0]]), owners }, { berth: new Map(), oomKills: new Map([[cg, 1]]), owners: new Map() }, T);
    expect(e.map((x) => x.type)).toEqual(["oom", "exit", "delete"]);
    expect(e[0]).toEqual({ time: T, type: "oom", engine: "podman", runtime: "berth", id: ID, name: "oom", cgroup: cg, count: 1 });
    expect(e[1]).toMatchObject({ engine: "podman", runtime: "berth", id: ID, name: "oom", exitCode: null });
    expect(formatEvent({ ...e[1]!, exitCode: 137 })).toBe(`${T} exit   oom (engine=podman, runtime=berth-runtime, id=c6ad9fda6ee9, pid=42, cgroup=${cg}, exitCode=137)`);
  });
  test("with the kernel log followed, its kills are the OOM events: a cgroup made and removed between two looks still counts", () => {
    const gone = "/libpod_parent/libpod-x";
    const after: Snapshot = { berth: new Map(), oomKills: new Map(), owners: new Map([[gone, { engine: "podman", id: "x", name: "hog" }]]), loggedKills: [gone, gone, "/y"] };
    expect(diffSnapshots(snap([]), after, T)).toEqual([
      { time: T, type: "oom", engine: "podman", id: "x", name: "hog", cgroup: gone, count: 2 },
      { time: T, type: "oom", cgroup: "/y", count: 1 },
    ]);
  });
  test("the kernel log's kills and the counters together: a burst past the log's rate limit shows whole, and a kill logged before it is counted is told once", () => {
    const look = (ooms: [string, number][], logged: string[]): Snapshot => ({ ...snap([], ooms), loggedKills: logged });
    const counts = (events: HostEvent[]) => events.map((e) => [e.cgroup, e.count]);
    // twelve kills, ten lines: the kernel printed the first ten (oom_rs: 10 in 5 s)
    expect(counts(diffSnapshots(look([["/b", 0]], []), look([["/b", 12]], Array(10).fill("/b")), T))).toEqual([["/b", 12]]);
    // the counters are read before the log: a kill between the two reads is in this look's log and the next look's counter
    const first = look([["/b", 0]], []);
    const logged = look([["/b", 0]], ["/b"]);
    const counted = look([["/b", 1]], []);
    expect(counts(diffSnapshots(first, logged, T))).toEqual([["/b", 1]]);
    expect(counts(diffSnapshots(logged, counted, T))).toEqual([]);
    // …and a kill of the next look still shows
    expect(counts(diffSnapshots(counted, look([["/b", 2]], ["/b"]), T))).toEqual([["/b", 1]]);
    // a logged kill whose cgroup was removed before the counters were read: carried nowhere
    const gone = look([], ["/c"]);
    expect(counts(diffSnapshots(first, gone, T))).toEqual([["/c", 1]]);
    expect(gone.loggedUncounted).toEqual(new Map());
    // a kill between the first look's two reads (its log is the past): counted by the next look, so told
    expect(counts(diffSnapshots(look([["/b", 0]], ["/b"]), look([["/b", 1]], []), T))).toEqual([["/b", 1]]);
    // no kernel log (not root): the counters alone
    expect(counts(diffSnapshots(snap([], [["/b", 1]]), snap([], [["/b", 3]]), T))).toEqual([["/b", 2]]);
  });
  const other = (): HostEvent => ({ time: T, type: "oom", cgroup: "/x", count: 1 });
  test("exit codes the engine's monitor reaped: held until the engine records them, however many looks that takes; the events after them kept behind", () => {
    const codes: Record<string, number> = {};
    const held = new ExitCodes((e) => codes[e.id!]);
    const exit: HostEvent = { time: T, type: "exit", engine: "podman", runtime: "berth", id: "a", exitCode: null };
    const del: HostEvent = { time: T, type: "delete", engine: "podman", runtime: "berth", id: "a" };
    const other: HostEvent = { time: T, type: "oom", cgroup: "/x", count: 1 };
    expect(held.push([exit], 0)).toEqual([]);
    // a loaded host: podman's cleanup takes many looks (the count of looks is no measure of it)
    for (let ms = 200; ms < 20_000; ms += 200) expect(held.push([], ms)).toEqual([]);
    expect(held.push([other], 20_000)).toEqual([]);
    codes.a = 137;
    expect(held.push([del], 20_200)).toEqual([{ ...exit, exitCode: 137 }, other, del]);
  });
  test("an exit the engine never records: released with null once its container is deleted (after a grace for the engine's write), or after the longest wait", () => {
    const exit: HostEvent = { time: T, type: "exit", engine: "podman", runtime: "berth", id: "b", exitCode: null };
    const del: HostEvent = { time: T, type: "delete", engine: "podman", runtime: "berth", id: "b" };
    const deleted = new ExitCodes(() => undefined, { afterDeleteMs: 2_000, maxMs: 30_000 });
    expect(deleted.push([exit], 0)).toEqual([]);
    expect(deleted.push([del], 5_000)).toEqual([]);
    expect(deleted.push([], 6_999)).toEqual([]);
    expect(deleted.push([], 7_000)).toEqual([exit, del]);
    // another container's delete does not end the wait
    const never = new ExitCodes(() => undefined, { afterDeleteMs: 2_000, maxMs: 30_000 });
    expect(never.push([exit, { ...del, id: "c" }], 0)).toEqual([]);
    expect(never.push([], 29_999)).toEqual([]);
    expect(never.push([], 30_000)).toEqual([exit, { ...del, id: "c" }]);
    // an engine whose records this host does not keep (CRI-O's; podman's events on journald): at once, with null
    const unkept = new ExitCodes(() => null);
    expect(unkept.push([exit, del], 0)).toEqual([exit, del]);
    // a code already read (the zombie was caught), or no engine to ask: at once
    expect(never.push([{ ...exit, exitCode: 3 }, { ...exit, engine: undefined }], 30_000)).toEqual([{ ...exit, exitCode: 3 }, { ...exit, engine: undefined }]);
    // the end of the stream (--until): what is held goes out, with the code if the engine has it by then
    const ending = new ExitCodes((e) => (e.id === "d" ? 1 : undefined));
    expect(ending.push([exit, { ...exit, id: "d" }, other()], 0)).toEqual([]);
    expect(ending.flush()).toEqual([exit, { ...exit, id: "d", exitCode: 1 }, other()]);
    expect(ending.flush()).toEqual([]);
  });
  test("docker's filters: event=die/destroy/unpause are exit/delete/resume; type=container is every event, type=image none", () => {
    const e = (type: HostEvent["type"]): HostEvent => ({ time: T, type, id: "abcdef" });
    const docker = parseEventFilters(["event=die", "event=destroy", "event=unpause"]);
    expect(["exit", "delete", "resume", "start"].map((t) => matchesFilter(e(t as HostEvent["type"]), docker))).toEqual([true, true, true, false]);
    expect(matchesFilter(e("oom"), parseEventFilters(["type=container"]))).toBe(true);
    expect(matchesFilter(e("oom"), parseEventFilters(["type=image"]))).toBe(false);
    expect(matchesFilter(e("oom"), parseEventFilters(["type=oom"]))).toBe(true);
  });
  test("filters: the same key ORs, different keys AND; bad ones are one line", () => {
    const f = parseEventFilters(["event=oom", "event=exit", "cgroup=/berth"]);
    expect(matchesFilter({ time: T, type: "oom", cgroup: "/berth/a" }, f)).toBe(true);
    expect(matchesFilter({ time: T, type: "oom", cgroup: "/berthx" }, f)).toBe(false);
    expect(matchesFilter({ time: T, type: "start", cgroup: "/berth/a" }, f)).toBe(false);
    expect(matchesFilter({ time: T, type: "start", id: "abcdef", name: "web" }, parseEventFilters(["container=abc"]))).toBe(true);
    expect(matchesFilter({ time: T, type: "start", id: "abcdef", name: "web" }, parseEventFilters(["container=web"]))).toBe(true);
    const keys = "use KEY=VALUE with KEY one of event, type, container, image, volume, network, cgroup";
    expect(() => parseEventFilters(["event"])).toThrow(`--filter: invalid filter "event"; ${keys}`);
    expect(() => parseEventFilters(["=oom"])).toThrow(`--filter: invalid filter "=oom"; ${keys}`);
    expect(() => parseEventFilters(["until=1h"])).toThrow(`--filter: invalid filter "until=1h"; ${keys}`);
  });
  test("the table line", () => {
    expect(formatEvent({ time: T, type: "exit", runtime: "berth", id: "a", pid: 42, cgroup: "/berth/a", exitCode: null })).toBe(`${T} exit   a (runtime=berth-runtime, pid=42, cgroup=/berth/a, exitCode=unknown)`);
    expect(formatEvent({ time: T, type: "oom", cgroup: "/x", count: 1 })).toBe(`${T} oom    cgroup /x (kills=1)`);
  });
});

/**
 * `berth events --filter container=NAME` of podman's container that berth-runtime made,
 * OOM-killed: created, started, killed, reaped by conmon, its died event written by
 * podman's cleanup, deleted by the runtime. A look reads berth-runtime's states, then the
 * kernel log; on a loaded host (the cgroup v2 VM under TCG) a look takes seconds, and any
 * run of steps can fall between two looks, or between the two reads of one.
 */
describe("a podman container berth-runtime made, OOM-killed, however its steps fall between the looks", () => {
  const ID = "c6ad9fda6ee968eca19293adb470cda2659bcc82bac792903ef7a9a3a125ae36";
  const cg = `/libpod_parent/libpod-${ID}`;
  /**
   * What one look saw: the runtime's state (none: not made yet, still being created, or
   * deleted), the cgroup's OOM-kill counter (none: no cgroup), the kill in the kernel log, podman's record.
   */
  interface Look { state?: "created" | "running" | "stopped"; started?: boolean; zombie?: number; counter?: number; kill?: boolean; recorded?: boolean }
  const snapshot = (l: Look): Snapshot => ({
    berth: new Map(l.state ? [[ID, { status: l.state, pid: 42, cgroup: cg, engine: "podman", name: "oom", ...(l.started !== undefined && { started: l.started }), ...(l.zombie !== undefined && { exitCode: l.zombie }) }]] : []),
    oomKills: new Map(l.counter === undefined ? [] : [[cg, l.counter]]),
    // as takeSnapshot has it: the state names both; without one, a logged kill's cgroup is known by its name (libpod-ID) and podman's records
    owners: new Map(l.state ? [[cg, { engine: "podman", runtime: "berth", id: ID, name: "oom" }]] : l.kill ? [[cg, { engine: "podman", id: ID, name: "oom" }]] : []),
    loggedKills: l.kill ? [cg] : [],
  });
  /** The looks one after another, `msPerLook` apart, through diffSnapshots and ExitCodes as `berth events` runs them. */
  const watch = (looks: Look[], msPerLook = 500): HostEvent[] => {
    let recorded = false;
    const codes = new ExitCodes(() => (recorded ? 137 : undefined));
    const out: HostEvent[] = [];
    let before = snapshot({});
    looks.forEach((l, i) => {
      recorded ||= l.recorded === true;
      const after = snapshot(l);
      out.push(...codes.push(diffSnapshots(before, after, T), i * msPerLook));
      before = after;
    });
    return out;
  };
  const OOM = { type: "oom", engine: "podman", runtime: "berth", id: ID, name: "oom", cgroup: cg, count: 1 };
  const EXIT = { type: "exit", engine: "podman", runtime: "berth", id: ID, name: "oom", exitCode: 137 };
  const FULL: HostEvent["type"][] = ["create", "start", "oom", "exit", "delete"];
  const cases: [string, Look[]][] = [
    ["each step in a look of its own", [{ state: "created" }, { state: "running" }, { state: "running", kill: true }, { state: "stopped", started: true }, { state: "stopped", started: true, recorded: true }, { recorded: true }]],
    ["the kill after a look's state read, before its kernel-log read", [{ state: "created" }, { state: "running", kill: true }, { state: "stopped", started: true, recorded: true }, { recorded: true }]],
    ["the kill and the reap between two looks", [{ state: "created" }, { state: "running" }, { state: "stopped", started: true, kill: true }, { state: "stopped", started: true, recorded: true }, { recorded: true }]],
    ["the zombie caught before conmon reaped it", [{ state: "created" }, { state: "running" }, { state: "stopped", started: true, zombie: 137, kill: true }, {}]],
    ["kill, reap, died and delete between two looks: the state gone when the kill is read", [{ state: "created" }, { state: "running" }, { kill: true, recorded: true }]],
    ["start, kill and reap between two looks", [{ state: "created" }, { state: "stopped", started: true, kill: true }, { recorded: true }]],
    ["its whole run between two looks: first seen stopped", [{ state: "stopped", started: true, kill: true }, { state: "stopped", started: true, recorded: true }, { recorded: true }]],
    ["first seen stopped, deleted at the next look", [{ state: "stopped", started: true, kill: true }, { recorded: true }]],
    ["podman's cleanup slower than ten looks: died written 15 s after the reap", [{ state: "running" }, { state: "stopped", started: true, kill: true }, ...Array<Look>(30).fill({ state: "stopped", started: true }), { state: "stopped", started: true, recorded: true }, { recorded: true }]],
    ["the kill counted by the look after the one that read it in the kernel log", [{ state: "created", counter: 0 }, { state: "running", counter: 0, kill: true }, { state: "stopped", started: true, counter: 1, recorded: true }, { recorded: true }]],
    ["the kill's line rate-limited out of the kernel log: its counter tells it", [{ state: "created", counter: 0 }, { state: "running", counter: 0 }, { state: "stopped", started: true, counter: 1, recorded: true }, { recorded: true }]],
    ["died written just before the delete", [{ state: "running", kill: true }, ...Array<Look>(12).fill({ state: "stopped", started: true }), { recorded: true }]],
  ];
  test.each(cases)("%s: create, start, the kill, the exit with podman's code, delete — each by name, engine and runtime", (_, looks) => {
    const seen = watch(looks);
    expect(seen.map((e) => e.type)).toEqual(FULL);
    expect(seen.filter((e) => e.type === "oom" || e.type === "exit")).toEqual([expect.objectContaining(OOM), expect.objectContaining(EXIT)]);
    for (const e of seen) expect(e).toMatchObject({ engine: "podman", runtime: "berth", id: ID, name: "oom" });
  });
  test("its whole life between two state reads — made and deleted unseen: only the kill is known, by its cgroup's name and podman's records, not which runtime made it", () => {
    expect(watch([{ kill: true, recorded: true }])).toEqual([{ time: T, type: "oom", engine: "podman", id: ID, name: "oom", cgroup: cg, count: 1 }]);
  });
});

describe("the engine's journal events", () => {
  const ID = "c6ad9fda6ee9".padEnd(64, "0");
  const ev = (Type: "container" | "image" | "volume" | "network", Action: string, Attributes: Record<string, string>, id = ID) =>
    ({ Type, Action, Actor: { ID: id, Attributes }, scope: "local" as const, time: 1_700_000_000, timeNano: 1_700_000_000_250_000_000 });
  test("docker's actions in berth's words, with what each says: exit code, signal, old name, the exec's command", () => {
    const die = ev("container", "die", { image: "busybox", name: "web", exitCode: "3", app: "x" });
    expect(fromJournal(die)).toEqual({
      time: "2023-11-14T22:13:20.250Z", type: "exit", engine: "berth", id: ID, name: "web", image: "busybox", exitCode: 3,
      // docker's own keys too, for docker's templates
      Type: "container", Action: "die", Actor: die.Actor, timeNano: die.timeNano,
    });
    expect(fromJournal(ev("container", "destroy", { name: "web" })).type).toBe("delete");
    expect(fromJournal(ev("container", "unpause", { name: "web" })).type).toBe("resume");
    expect(fromJournal(ev("container", "kill", { name: "web", signal: "15" }))).toMatchObject({ type: "kill", signal: 15 });
    expect(fromJournal(ev("container", "rename", { name: "new", oldName: "/old" }))).toMatchObject({ type: "rename", name: "new", oldName: "/old" });
    expect(fromJournal(ev("container", "exec_start: sh -c true", { name: "web", execID: "e1" }))).toMatchObject({ type: "exec_start", command: "sh -c true", execId: "e1" });
    expect(fromJournal(ev("volume", "create", { driver: "local" }, "data"))).toMatchObject({ time: "2023-11-14T22:13:20.250Z", type: "create", engine: "berth", id: "data", name: "data", object: "volume", Type: "volume", Action: "create" });
  });
  test("type= picks docker's object, container=/volume=/network= only their own kind", () => {
    const vol = fromJournal(ev("volume", "destroy", {}, "web"));
    const ctr = fromJournal(ev("container", "destroy", { name: "web" }));
    const net = fromJournal(ev("network", "create", { name: "web", type: "bridge" }, "n1"));
    const pick = (...f: string[]) => [ctr, vol, net].map((e) => matchesFilter(e, parseEventFilters(f)));
    expect(pick("type=volume")).toEqual([false, true, false]);
    expect(pick("type=container")).toEqual([true, false, false]);
    expect(pick("type=daemon")).toEqual([false, false, false]);
    expect(pick("container=web")).toEqual([true, false, false]);
    expect(pick("volume=web")).toEqual([false, true, false]);
    expect(pick("network=web")).toEqual([false, false, true]);
    expect(pick("network=n1", "event=create")).toEqual([false, false, true]);
    expect(pick("event=destroy")).toEqual([true, true, false]);
    const img = fromJournal(ev("image", "tag", { name: "web:2" }, "sha256:ab"));
    expect(img).toMatchObject({ type: "tag", object: "image", id: "sha256:ab", name: "web:2" });
    const ofBusybox = fromJournal(ev("container", "start", { name: "c", image: "busybox" }));
    expect([img, ofBusybox, ctr].map((e) => matchesFilter(e, parseEventFilters(["image=web:2"])))).toEqual([true, false, false]);
    expect([img, ofBusybox, ctr].map((e) => matchesFilter(e, parseEventFilters(["image=busybox"])))).toEqual([false, true, false]);
    expect([img, ofBusybox].map((e) => matchesFilter(e, parseEventFilters(["type=image"])))).toEqual([true, false]);
  });
  test("the table line names the object, and the signal, old name, command and exit code", () => {
    expect(formatEvent(fromJournal(ev("container", "kill", { name: "web", image: "busybox", signal: "9" })))).toBe("2023-11-14T22:13:20.250Z kill   web (engine=berth, id=c6ad9fda6ee9, image=busybox, signal=9)");
    expect(formatEvent(fromJournal(ev("container", "exec_die", { name: "web", exitCode: "1", execID: "e" })))).toBe("2023-11-14T22:13:20.250Z exec_die web (engine=berth, id=c6ad9fda6ee9, exitCode=1)");
    expect(formatEvent(fromJournal(ev("volume", "create", { driver: "local" }, "data")))).toBe("2023-11-14T22:13:20.250Z create volume data (engine=berth)");
    expect(formatEvent(fromJournal(ev("network", "create", { name: "front", type: "bridge" }, "n1")))).toBe("2023-11-14T22:13:20.250Z create network front (engine=berth, id=n1)");
  });
});
