/**
 * What engines and tools rely on in runc's verbs, where berth-runtime used to differ
 * (issue 19, item 7): flags after the id, a frozen cgroup, exec's pid file, log, user and
 * exit code, a quota without a period, a shared or pre-made cgroup, `kill --all ID 0`.
 * Real containers; runc runs the same bundle and commands where it is compared.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/runtime-spec.ts";
import { canRunContainers, cgroupDirsFor, cgroupHierarchies, RuntimeFixture, type Result } from "../../test/runtime-harness.ts";

// each test execs the runtime several times; in the cgroup v2 VM that takes seconds
setDefaultTimeout(60_000);

const fx = new RuntimeFixture("runcv");
afterAll(() => fx.cleanup(), 60_000);

const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
type Runtime = (args: string[], opts?: { globals?: string[]; timeoutMs?: number }) => Result;
const RUNTIMES: [string, Runtime][] = [["berth", fx.rt.bind(fx)], ["runc", fx.runc.bind(fx)]];

/** A cgroup file of a container: in the hierarchy that has it (v1), or the one cgroup2 directory. */
function cgroupFile(id: string, file: string): string {
  const dir = cgroupDirsFor(id).find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`no ${file} for ${id}`);
  return readFileSync(join(dir, file), "utf8").trim();
}

/** A detached container running `sleep`, by either runtime. */
function sleeper(rt: Runtime, id: string, change?: (s: Spec) => void): Result {
  const spec = fx.spec(id, (s) => {
    s.process!.args = ["sleep", "600"];
    change?.(s);
  });
  // a create that hangs (berth did, in a frozen cgroup) is a failure, not a stuck test
  return rt(["run", "--detach", "--bundle", fx.bundle(id, spec), id], { timeoutMs: 30_000 });
}

const lines = (r: Result) => r.stderr.trim().split("\n");

describe.skipIf(!canRunContainers)("update", () => {
  test("takes its flags after the id as well (update ID --pids-limit 42), as runc does", () => {
    for (const [who, rt] of RUNTIMES) {
      const id = fx.id("upd");
      expect(sleeper(rt, id).code).toBe(0);
      const r = rt(["update", id, "--pids-limit", "42"]);
      expect({ who, code: r.code, stderr: r.stderr }).toEqual({ who, code: 0, stderr: "" });
      expect({ who, max: cgroupFile(id, "pids.max") }).toEqual({ who, max: "42" });
      rt(["delete", "--force", id]);
    }
  });

  test("never exits 0 having changed nothing: no flag at all, or a word it does not take", () => {
    const id = fx.id("upd");
    expect(sleeper(fx.rt.bind(fx), id).code).toBe(0);
    const none = fx.rt(["update", id]);
    expect(none.code).toBe(1);
    expect(lines(none)).toEqual([`update: nothing to change; pass --resources FILE|- or a limit flag such as --memory or --pids-limit; usage: berth-runtime update [--resources FILE|-] [flags] ID`]);
    const extra = fx.rt(["update", id, "--pids-limit", "43", "extra"]);
    expect(extra.code).toBe(1);
    expect(lines(extra)).toEqual([`update: takes exactly one container id, got "extra" after "${id}"; usage: berth-runtime update [--resources FILE|-] [flags] ID`]);
    expect(cgroupFile(id, "pids.max")).toBe("max");
  });
});

describe.skipIf(!canRunContainers)("a cgroup frozen before create", () => {
  test("run --detach fails at once, as runc does, and leaves nothing", () => {
    for (const [who, rt] of RUNTIMES) {
      const id = fx.id("frozen");
      // made and frozen by hand, where the container's cgroup will be
      const freezer = v2 ? join("/sys/fs/cgroup", "berth-test", id) : join("/sys/fs/cgroup/freezer", "berth-test", id);
      mkdirSync(freezer, { recursive: true });
      writeFileSync(join(freezer, v2 ? "cgroup.freeze" : "freezer.state"), v2 ? "1" : "FROZEN");
      try {
        const r = sleeper(rt, id);
        expect({ who, code: r.code }).toEqual({ who, code: 1 });
        if (who === "berth") {
          expect(lines(r)).toEqual([`linux.cgroupsPath: cgroup /berth-test/${id} is frozen, so the container could never run; thaw it (berth-runtime resume, or write THAWED to freezer.state / 0 to cgroup.freeze) or use another cgroupsPath`]);
          expect(existsSync(join(fx.root, id))).toBe(false);
          expect(cgroupDirsFor(id)).toEqual([]);
        }
      } finally {
        if (existsSync(freezer)) {
          writeFileSync(join(freezer, v2 ? "cgroup.freeze" : "freezer.state"), v2 ? "0" : "THAWED");
          rt(["delete", "--force", id]);
          for (const d of cgroupDirsFor(id)) rmdirSync(d);
        }
      }
    }
  });
});

describe.skipIf(!canRunContainers)("exec", () => {
  const running = fx.id("exec");
  let runcRunning = "";
  const ready = () => {
    if (runcRunning) return;
    expect(sleeper(fx.rt.bind(fx), running).code).toBe(0);
    runcRunning = fx.id("exec");
    expect(sleeper(fx.runc.bind(fx), runcRunning).code).toBe(0);
  };
  const target = (who: string) => (who === "berth" ? running : runcRunning);

  test("a failure of exec itself exits 255, as runc's does; the process's own status passes through", () => {
    ready();
    for (const [who, rt] of RUNTIMES) {
      expect({ who, code: rt(["exec", target(who), "/nonexistent"]).code }).toEqual({ who, code: 255 });
      expect({ who, code: rt(["exec", target(who), "sh", "-c", "exit 7"]).code }).toEqual({ who, code: 7 });
    }
    expect(lines(fx.rt(["exec", running, "/nonexistent"]))).toEqual([`process.args[0]: "/nonexistent": executable file not found in the root filesystem: no such file or directory`]);
  });

  test("--pid-file in a missing directory: one line, exit 255, and the process is not left running", () => {
    ready();
    const r = fx.rt(["exec", "--detach", "--pid-file", join(fx.dir, "no-such-dir", "pid"), running, "sleep", "600"]);
    expect(r.code).toBe(255);
    expect(lines(r)).toEqual([`--pid-file: cannot write ${join(fx.dir, "no-such-dir", "pid")}: no such file or directory; make its directory first or pass another path`]);
    const ps = fx.rt(["ps", "--format", "json", running]);
    expect(JSON.parse(ps.stdout)).toEqual([fx.state(running).pid]);
  });

  test("-p process.json without user runs as 0:0, as runc does", () => {
    ready();
    const file = join(fx.dir, "process-no-user.json");
    writeFileSync(file, JSON.stringify({ args: ["sh", "-c", "echo $(id -u):$(id -g)"], cwd: "/", env: ["PATH=/bin:/usr/bin"] }));
    for (const [who, rt] of RUNTIMES) {
      const r = rt(["exec", "--process", file, target(who)]);
      expect({ who, code: r.code, stdout: r.stdout }).toEqual({ who, code: 0, stdout: "0:0\n" });
    }
  });

  test("an edit of the bundle's config.json after create changes nothing (runtime.md; runc 1.1's exec reads the edited file)", () => {
    for (const [who, rt] of RUNTIMES.filter(([who]) => who === "berth")) {
      const id = fx.id("edit");
      const spec = fx.spec(id, (s) => {
        s.process!.args = ["sleep", "600"];
        s.process!.env = [...(s.process!.env ?? []), "WHEN=at-create"];
      });
      const bundle = fx.bundle(id, spec);
      expect(rt(["run", "--detach", "--bundle", bundle, id], { timeoutMs: 30_000 }).code).toBe(0);
      spec.process!.env = [...(spec.process!.env ?? []).filter((e) => !e.startsWith("WHEN=")), "WHEN=edited-later"];
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
      const r = rt(["exec", id, "sh", "-c", "echo $WHEN"]);
      expect({ who, code: r.code, stdout: r.stdout }).toEqual({ who, code: 0, stdout: "at-create\n" });
      rt(["delete", "--force", id]);
    }
  });

  test("honours the global --debug and --log: its phases are logged as create's are", () => {
    ready();
    for (const [who, rt] of RUNTIMES) {
      const log = join(fx.dir, `exec-${who}.log`);
      const r = rt(["exec", target(who), "true"], { globals: ["--debug", "--log", log, "--log-format", "json"] });
      expect({ who, code: r.code }).toEqual({ who, code: 0 });
      const records = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect({ who, debug: records.filter((x) => x.level === "debug").length > 0 }).toEqual({ who, debug: true });
    }
  });
});

describe.skipIf(!canRunContainers)("cgroups runc takes and berth used to refuse", () => {
  test("cpu.quota without cpu.period: the kernel's default period applies", () => {
    for (const [who, rt] of RUNTIMES) {
      const id = fx.id("quota");
      const r = sleeper(rt, id, (s) => (s.linux!.resources = { cpu: { quota: 50000 } }));
      expect({ who, code: r.code, stderr: r.stderr }).toEqual({ who, code: 0, stderr: "" });
      const limit = v2 ? cgroupFile(id, "cpu.max") : `${cgroupFile(id, "cpu.cfs_quota_us")} ${cgroupFile(id, "cpu.cfs_period_us")}`;
      expect({ who, limit }).toEqual({ who, limit: "50000 100000" });
      rt(["delete", "--force", id]);
    }
  });

  test("a second container in a cgroup that has processes: a warning, as in runc; delete of one leaves the other", () => {
    for (const [who, rt] of RUNTIMES) {
      const first = fx.id("shared");
      const second = fx.id("shared");
      const path = `/berth-test/${first}`;
      expect(sleeper(rt, first).code).toBe(0);
      const r = sleeper(rt, second, (s) => (s.linux!.cgroupsPath = path));
      expect({ who, code: r.code }).toEqual({ who, code: 0 });
      expect({ who, warned: /cgroup.* (is not empty|already has 1 process)/.test(r.stderr) }).toEqual({ who, warned: true });
      expect(rt(["delete", "--force", second]).code).toBe(0);
      expect({ who, first: JSON.parse(rt(["state", first]).stdout).status }).toEqual({ who, first: "running" });
      expect(cgroupFile(first, "cgroup.procs").split("\n")).toHaveLength(1);
      expect(rt(["delete", "--force", first]).code).toBe(0);
      expect({ who, left: cgroupDirsFor(first) }).toEqual({ who, left: [] });
    }
  });

  test("a pre-made parent cgroup with empty cpuset.cpus/mems gets the parent's, as runc does", () => {
    for (const [who, rt] of RUNTIMES) {
      const parent = `berth-test-cpuset-${process.pid}-${who}`;
      // made by hand: on v1 a new cpuset cgroup has no cpus or mems until someone copies them
      const cpuset = v2 ? join("/sys/fs/cgroup", parent) : join("/sys/fs/cgroup/cpuset", parent);
      mkdirSync(cpuset);
      const id = fx.id("cpuset");
      try {
        const r = sleeper(rt, id, (s) => (s.linux!.cgroupsPath = `/${parent}/${id}`));
        expect({ who, code: r.code, stderr: r.stderr }).toEqual({ who, code: 0, stderr: "" });
        if (!v2) expect({ who, cpus: readFileSync(join(cpuset, "cpuset.cpus"), "utf8").trim() }).toEqual({ who, cpus: readFileSync("/sys/fs/cgroup/cpuset/cpuset.cpus", "utf8").trim() });
      } finally {
        rt(["delete", "--force", id]);
        // the runtimes made the parent in the other hierarchies
        for (const h of cgroupHierarchies()) if (existsSync(join(h, parent))) rmdirSync(join(h, parent));
      }
    }
  });
});

describe.skipIf(!canRunContainers)("kill of a stopped container", () => {
  test("kill --all ID 0 succeeds and kill ID 0 says not running, as runc", () => {
    for (const [who, rt] of RUNTIMES) {
      const id = fx.id("killz");
      const spec = fx.spec(id, (s) => (s.process!.args = ["true"]));
      expect(rt(["run", "--detach", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
      for (let i = 0; i < 500 && JSON.parse(rt(["state", id]).stdout).status !== "stopped"; i++) Bun.sleepSync(10);
      const all = rt(["kill", "--all", id, "0"]);
      const one = rt(["kill", id, "0"]);
      expect({ who, all: all.code, one: one.code, why: one.stderr.includes("container not running") }).toEqual({ who, all: 0, one: 1, why: true });
      rt(["delete", "--force", id]);
    }
  });
});
