/**
 * `berth events` watching real things happen: an OOM kill in a cgroup, and a
 * berth-runtime container created, started, paused, resumed, exited and deleted.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { BERTH, CgroupFixture, MiB, until } from "../../test/observe-fixture.ts";
import { LineStream } from "../../test/line-stream.ts";
import { hasPodman, podmanCleanup, podmanParentAbsent, podmanRun } from "../../test/podman-fixture.ts";
import { canRunContainers, REPO, RuntimeFixture } from "../../test/runtime-harness.ts";

setDefaultTimeout(60_000);
const fx = new CgroupFixture("events");
const rt = new RuntimeFixture("events");
const watchers: Bun.Subprocess[] = [];
afterAll(() => {
  for (const w of watchers) w.kill("SIGKILL");
  fx.cleanup();
  rt.cleanup();
}, 60_000);

interface Watcher {
  events: () => Record<string, unknown>[];
  stderr: () => string[];
}

/** `berth events --format json ARGS`, once it says it is watching. */
async function watch(...args: string[]): Promise<Watcher> {
  const proc = Bun.spawn([BERTH, "events", "--format", "json", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  watchers.push(proc);
  const out = new LineStream(proc.stdout);
  const err = new LineStream(proc.stderr);
  expect(await until(() => err.lines.includes("berth: watching for events"), 20_000)).toBe(true);
  return { events: () => out.lines.map((l) => JSON.parse(l)), stderr: () => err.lines };
}

/**
 * `check`, whose failure also says what `berth events` printed about `about`: a CI log
 * keeps only the tail, and the events in their order tell which interleaving of the
 * container's steps with the looks went wrong.
 */
function explained(w: Watcher, about: (e: Record<string, unknown>) => boolean, check: () => void): void {
  try {
    check();
  } catch (err) {
    const seen = w.events().filter(about).map((e) => `  ${JSON.stringify(e)}`);
    throw new Error(`${(err as Error).message}\nthe events berth events printed about it, in order:\n${seen.join("\n") || "  (none)"}\nits stderr:\n  ${w.stderr().join("\n  ")}`);
  }
}

describe("berth events", () => {
  test("an OOM kill in a watched cgroup is one event, with the cgroup and the count", async () => {
    const w = await watch("--filter", `cgroup=${fx.base}`);
    const { path, exited } = fx.start("hog", ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], { memory: { limit: 32 * MiB } });
    expect(await exited).toBe(137);
    expect(await until(() => w.events().length > 0, 20_000)).toBe(true);
    expect(w.events()).toEqual([{ time: expect.any(String), type: "oom", cgroup: path, count: 1 }]);
  });

  test.skipIf(!canRunContainers)("a berth-runtime container: create, start, pause, resume, exit, delete", async () => {
    const w = await watch("--root", rt.root, "--filter", "event=create", "--filter", "event=start", "--filter", "event=pause",
      "--filter", "event=resume", "--filter", "event=exit", "--filter", "event=delete");
    const id = rt.id();
    const seen = (type: string) => until(() => w.events().some((e) => e.type === type && e.id === id), 20_000);
    expect(rt.rt(["create", "--bundle", rt.bundle(id, rt.spec(id, (s) => (s.process!.args = ["sleep", "1000"]))), id]).code).toBe(0);
    expect(await seen("create")).toBe(true);
    expect(rt.rt(["start", id]).code).toBe(0);
    expect(await seen("start")).toBe(true);
    expect(rt.rt(["pause", id]).code).toBe(0);
    expect(await seen("pause")).toBe(true);
    expect(rt.rt(["resume", id]).code).toBe(0);
    expect(await seen("resume")).toBe(true);
    const pid = rt.state(id).pid;
    expect(rt.rt(["kill", id, "KILL"]).code).toBe(0);
    expect(await seen("exit")).toBe(true);
    expect(rt.rt(["delete", id]).code).toBe(0);
    expect(await seen("delete")).toBe(true);
    const mine = w.events().filter((e) => e.id === id);
    expect(mine.map((e) => e.type)).toEqual(["create", "start", "pause", "resume", "exit", "delete"]);
    expect(mine[1]).toMatchObject({ runtime: "berth", pid, cgroup: `/berth-test/${id}` });
    // the code, when the zombie was caught before its parent reaped it; else null, never a guess
    expect([137, null]).toContain(mine[4]!.exitCode as number | null);
  });

  test.skipIf(!hasPodman).each([["runc", "/usr/sbin/runc"], ["berth-runtime", `${REPO}/bin/berth-runtime`]])("an OOM kill in a podman (%s) container: the kill before the exit, by name, engine and runtime each named, the exit code podman recorded", async (label, runtime) => {
    const name = `berth-events-${label}-${process.pid}`;
    const madeParent = podmanParentAbsent();
    // podman runs berth-runtime with its default --root; every event is watched (not --filter container=NAME),
    // so an event that lost its name still shows when this fails
    const w = await watch("--root", "/run/berth");
    try {
      // a moment alive first: berth-runtime's state is looked at every 200 ms
      const { id, stderr } = podmanRun(name, ["--memory", "32m", "--memory-swap", "32m"], ["sh", "-c", "sleep 1; exec tail /dev/zero"], runtime);
      expect(stderr).toBe("");
      const cgroup = `/libpod_parent/libpod-${id}`;
      const ours = (e: Record<string, unknown>) => e.id === id || e.name === name || e.cgroup === cgroup;
      const berthMade = label === "berth-runtime";
      // runc's containers are seen through their cgroup only: the kill; berth-runtime's also through its state: the exit
      const done = await until(() => w.events().some((e) => ours(e) && e.type === (berthMade ? "delete" : "oom")), 20_000);
      explained(w, ours, () => {
        expect(done).toBe(true);
        // (not every step: a look that saw it created and the next one deleted cannot tell whether it started)
        const mine = w.events().filter((e) => ours(e) && (e.type === "oom" || e.type === "exit"));
        expect(mine.map((e) => e.type)).toEqual(berthMade ? ["oom", "exit"] : ["oom"]);
        expect(mine[0]).toMatchObject({ type: "oom", engine: "podman", id, name, cgroup, count: 1, ...(berthMade && { runtime: "berth" }) });
        if (berthMade) expect(mine[1]).toMatchObject({ engine: "podman", runtime: "berth", id, name, exitCode: 137 });
      });
    } finally {
      podmanCleanup(name, madeParent);
    }
  });

  test("a bad filter is one line, exit 125", () => {
    const r = Bun.spawnSync([BERTH, "events", "--filter", "colour=red"], { stdin: "ignore" });
    expect(r.exitCode).toBe(125);
    expect(r.stderr.toString()).toBe('berth: --filter: invalid filter "colour=red"; use KEY=VALUE with KEY one of event, type, container, image, volume, network, cgroup\n');
  });
});
