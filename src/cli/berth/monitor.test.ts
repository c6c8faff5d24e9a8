/**
 * berth-monitor on real containers: the log rotated at --log-opt max-size into max-file
 * files, `logs` across them, `logs -f` across rotations, the attach socket (`attach`,
 * `start -a -i`, a terminal), the exit claim (a foreground run records its container's
 * exit, so the exit command does not run; a run killed mid-way leaves it to the exit
 * command — killed before its record or mid-create, the exit command removes what the
 * run and the create made; killed before the runtime's start, rm -f does). The exit code, --rm, --restart, OOM and a killed monitor are
 * container.test.ts's.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH, canRunContainers, EngineFixture, until } from "../../../test/engine-harness.ts";
import { REPO, RuntimeFixture, RUNTIME } from "../../../test/runtime-harness.ts";
import { close, pollFd, POLLIN, readFd, socketPair, writeAll } from "../../sys/libc.ts";

setDefaultTimeout(300_000);

const fx = canRunContainers ? new EngineFixture("mon") : (undefined as unknown as EngineFixture);
afterAll(() => fx?.cleanup());

/** A berth process whose output the test reads as it comes. */
function spawnBerth(args: string[], stdin: "pipe" | "ignore" = "ignore") {
  const p = Bun.spawn([BERTH, ...args], { stdin, stdout: "pipe", stderr: "pipe", env: fx.env() });
  const out = { stdout: "", stderr: "" };
  const pump = async (s: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const d = new TextDecoder();
    for await (const chunk of s) out[key] += d.decode(chunk, { stream: true });
  };
  const done = Promise.all([pump(p.stdout, "stdout"), pump(p.stderr, "stderr")]).then(() => p.exited);
  return { p, out, done };
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line${from + i}\n`).join("");

describe.skipIf(!canRunContainers)("the log, rotated", () => {
  test("more than max-size × max-file: exactly max-file files, each at most max-size; logs shows the newest lines in order", async () => {
    const id = fx.runDetached(["--log-opt", "max-size=2k", "--log-opt", "max-file=3"], ["sh", "-c", "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line$i; done"]);
    expect(fx.berth(["wait", id]).stdout).toBe("0\n");
    const dir = join(fx.root, "containers", id);
    const files = readdirSync(dir).filter((f) => f.startsWith("ctr.log")).sort();
    expect(files).toEqual(["ctr.log", "ctr.log.1", "ctr.log.2"]);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2048);
    const out = fx.berth(["logs", id]).stdout;
    const first = Number(/^line(\d+)\n/.exec(out)![1]);
    expect(first).toBeGreaterThan(1); // the oldest lines were rotated out
    expect(out).toBe(lines(first, 600));
    expect(fx.berth(["logs", "--tail", "3", id]).stdout).toBe(lines(598, 600));
    expect(fx.berth(["rm", id]).code).toBe(0);
  });

  test("logs -f started before the rotations sees every line after it, in order, once", async () => {
    // the container writes a batch of 60 lines (> max-size: a rotation or two) each time the test says go
    const script = "echo ready; i=0; for b in 1 2 3 4; do while [ ! -e /tmp/go$b ]; do sleep 0.02; done; j=0; while [ $j -lt 60 ]; do i=$((i+1)); j=$((j+1)); echo line$i; done; done";
    const id = fx.runDetached(["--tmpfs", "/tmp", "--log-opt", "max-size=2k", "--log-opt", "max-file=3"], ["sh", "-c", script]);
    const follow = spawnBerth(["logs", "-f", id]);
    await until(() => follow.out.stdout.includes("ready\n"), 60_000);
    for (let b = 1; b <= 4; b++) {
      expect(fx.berth(["exec", id, "touch", `/tmp/go${b}`]).code).toBe(0);
      await until(() => follow.out.stdout.includes(`line${b * 60}\n`), 60_000);
    }
    expect(await follow.done).toBe(0);
    expect(follow.out.stdout).toBe(`ready\n${lines(1, 240)}`);
    expect(readdirSync(join(fx.root, "containers", id)).filter((f) => f.startsWith("ctr.log")).sort()).toEqual(["ctr.log", "ctr.log.1", "ctr.log.2"]);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
});

describe.skipIf(!canRunContainers)("the attach socket", () => {
  test("attach sees the output from now on, stdout and stderr apart, sends stdin, and exits with the container's code", async () => {
    const id = fx.runDetached(["-i"], ["sh", "-c", "echo before; while read l; do [ \"$l\" = quit ] && exit 4; echo got $l; echo err $l >&2; done"]);
    await until(() => fx.berth(["logs", id]).stdout === "before\n", 60_000);
    const a = spawnBerth(["attach", id], "pipe");
    a.p.stdin!.write("hello\n");
    a.p.stdin!.flush();
    await until(() => a.out.stdout.includes("got hello\n") && a.out.stderr.includes("err hello\n"), 60_000);
    a.p.stdin!.write("quit\n");
    a.p.stdin!.end();
    expect(await a.done).toBe(4);
    expect(a.out).toEqual({ stdout: "got hello\n", stderr: "err hello\n" });
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 4 });
    // what attach saw is in the log too
    expect(fx.berth(["logs", id]).stdout).toBe("before\ngot hello\n");
    const stopped = fx.berth(["attach", id]);
    expect(stopped.code).toBe(125);
    expect(stopped.stderr).toMatch(/^berth: cannot attach to a stopped container; start it first/);
    expect(fx.berth(["rm", id]).code).toBe(0);
  });

  test("--no-stdin: the container's stdin stays its own; --sig-proxy=false leaves it running when attach is ended", async () => {
    const id = fx.runDetached(["-i"], ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]);
    const a = spawnBerth(["attach", "--no-stdin", "--sig-proxy=false", id], "pipe");
    await until(() => a.out.stdout.includes("tick\n"), 60_000);
    a.p.kill("SIGINT");
    await a.done;
    expect(fx.inspect(id).State.Status).toBe("running");
    const bad = fx.berth(["attach", "--sig-proxy=maybe", id]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain("--sig-proxy");
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });

  test("start -a -i: stdin in (closed at its end), the output from the first byte, the container's code", () => {
    const created = fx.berth(["create", "-i", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "echo first; cat; echo done; exit 6"]);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const r = fx.berth(["start", "-a", "-i", id], { stdin: "one\ntwo\n" });
    expect(r).toMatchObject({ code: 6, stdout: "first\none\ntwo\ndone\n" });
    // -i alone attaches too (docker's start -i)
    expect(fx.berth(["start", "-i", id], { stdin: "three\n" })).toMatchObject({ code: 6, stdout: "first\nthree\ndone\n" });
    expect(fx.berth(["rm", id]).code).toBe(0);
    const plain = fx.berth(["create", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "true"]).stdout.trim();
    const noStdin = fx.berth(["start", "-a", "-i", plain]);
    expect(noStdin.code).toBe(125);
    expect(noStdin.stderr).toMatch(/^berth: --interactive: container .* was not made with -i/);
    expect(fx.berth(["rm", plain]).code).toBe(0);
  });

  test("attach to a run -d --rm container: its exit code comes from the monitor itself, though the exit command removes the record and the exit file", async () => {
    const id = fx.runDetached(["--rm", "-i"], ["sh", "-c", "read l; exit 9"]);
    expect(fx.berth(["attach", id], { stdin: "go\n" }).code).toBe(9);
    expect(await until(() => !fx.records().includes(id), 60_000)).toBe(true);
  });

  test("a container with a terminal (-d -t -i): attach types into it, its output comes back through the terminal", async () => {
    const id = fx.runDetached(["-t", "-i"], ["sh", "-c", "tty; read l; echo got $l; exit 2"]);
    await until(() => /\/dev\/pts\/\d+/.test(fx.berth(["logs", id]).stdout), 60_000);
    const r = fx.berth(["attach", id], { stdin: "hi\n" });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("got hi\r\n");
    expect(fx.berth(["rm", id]).code).toBe(0);
  });
});

/** berth ARGS on a terminal of its own (script's pty), typed into through `type`. */
function onTerminal(args: string[]) {
  const cmd = [BERTH, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: fx.env() });
  return {
    p,
    type: (keys: string) => {
      p.stdin.write(keys);
      p.stdin.flush();
    },
  };
}

describe.skipIf(!canRunContainers || !Bun.which("script"))("detach keys", () => {
  test("run -it: ctrl-p,ctrl-q leaves the container running (berth exits 0); attach --detach-keys and start -a -i detach too; --rm still removes it at its end", async () => {
    const name = `dk-${process.pid}`;
    const run = onTerminal(["run", "--rm", "--name", name, "-it", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh"]);
    expect(await until(() => fx.berth(["logs", name]).stdout.includes("built-in shell"), 60_000)).toBe(true);
    run.type("echo one\r");
    expect(await until(() => fx.berth(["logs", name]).stdout.includes("one\r\n"), 60_000)).toBe(true);
    run.type("\x10\x11");
    expect(await run.p.exited).toBe(0);
    expect(fx.inspect(name).State.Status).toBe("running");
    // the keys typed after the sequence went nowhere; the shell still takes what attach sends
    const att = onTerminal(["attach", "--detach-keys", "ctrl-x,x", name]);
    await Bun.sleep(500); // (attach shows what comes from now on: nothing to wait for in the log)
    att.type("echo two\r");
    expect(await until(() => fx.berth(["logs", name]).stdout.includes("two\r\n"), 60_000)).toBe(true);
    att.type("\x18x");
    expect(await att.p.exited).toBe(0);
    expect(await new Response(att.p.stdout).text()).toContain("two\r\n");
    expect(fx.inspect(name).State.Status).toBe("running");
    // ends by itself: --rm removes it, though the run that asked for it has detached
    const last = onTerminal(["attach", name]);
    await Bun.sleep(500);
    last.type("exit 3\r");
    expect(await last.p.exited).toBe(3);
    expect(await until(() => fx.berth(["inspect", name]).code !== 0, 60_000)).toBe(true);
  });

  test("start -a -i of a -t -i container detaches with the keys; a bad key spec is one line naming --detach-keys, 125, and nothing is made", async () => {
    const created = fx.berth(["create", "-t", "-i", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh"]);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const start = onTerminal(["start", "-a", "-i", "--detach-keys", "ctrl-a", id]);
    expect(await until(() => fx.berth(["logs", id]).stdout.includes("built-in shell"), 60_000)).toBe(true);
    start.type("\x01");
    expect(await start.p.exited).toBe(0);
    expect(fx.inspect(id).State.Status).toBe("running");
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
    const before = fx.records();
    const fix = "use comma-separated keys, each a single character, ctrl-<a-z, @, [, \\, ], ^ or _> or DEL (docker's default: ctrl-p,ctrl-q)";
    for (const args of [["run", "--detach-keys", "ctrl-1", "-it", "--rootfs", fx.rootfs, "sh"], ["start", "-a", "--detach-keys", "ctrl-p,,q", "x"], ["attach", "--detach-keys", "alt-x", "x"]]) {
      const r = fx.berth(args);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^berth: --detach-keys: unknown key "(ctrl-1|alt-x)?" in "[^"]+"; /);
      expect(r.stderr).toEndWith(`${fix}\n`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(fx.records()).toEqual(before);
  });
});

/** Has process `pid` ended (gone, or a zombie its new parent has not reaped yet)? */
function ended(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").startsWith("Z");
  } catch {
    return true;
  }
}

/** Is process `pid` a child of `parent` (and not ended)? */
function childOf(pid: number, parent: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return stat[0] !== "Z" && Number(stat[1]) === parent;
  } catch {
    return false;
  }
}

/** The monitor's sync line on `fd` (its fd 3), read as it comes. */
function syncLine(fd: number): string {
  const buf = new Uint8Array(512);
  let text = "";
  while (!text.includes("\n") && pollFd(fd, POLLIN, 60_000) !== 0) {
    const n = readFd(fd, buf);
    if (n <= 0) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  close(fd);
  return text;
}

describe("the runtime's created pipe (--runtime-created-pipe)", () => {
  /**
   * berth-monitor with a stand-in runtime (sh): its create leaves a `sleep` as the
   * container's init, writes the pid file, says `created` on $BERTH_CREATED_FD when asked,
   * then stays until told to go. Whether the sync message came while it still ran.
   */
  async function monitorWith(pipe: boolean): Promise<{ env: string; reportedWhileRuntimeLived: boolean; exitFile: string }> {
    const dir = mkdtempSync(join(tmpdir(), "berth-created-pipe-"));
    try {
      const runtime = join(dir, "runtime");
      writeFileSync(runtime, `#!/bin/sh
pidfile=
while [ $# -gt 0 ]; do [ "$1" = --pid-file ] && pidfile=$2; shift; done
sleep 1000 >/dev/null 2>&1 &
echo $! > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
echo "\${BERTH_CREATED_FD:-none}" > ${dir}/env
echo $$ > ${dir}/runtime.pid
[ -n "$BERTH_CREATED_FD" ] && printf 1 >&4
exec 4>&-
while [ ! -e ${dir}/go ]; do sleep 0.02; done
`, { mode: 0o755 });
      const p = Bun.spawn([join(REPO, "native", "build", "berth-monitor"), "--runtime", runtime, "--bundle", dir, "--id", "c1", "--pid-file", join(dir, "pidfile"),
        "--monitor-pid-file", join(dir, "monitor.pid"), "--exit-dir", dir, "--log", join(dir, "ctr.log"), "--log-max-size", "100000", "--log-max-files", "1",
        "--attach-socket", "attach", "--sync-fd", "3", ...(pipe ? ["--runtime-created-pipe"] : []), "--", "/bin/true"], { cwd: dir, stdio: ["ignore", "ignore", "inherit", "pipe"] });
      const sync = (p as unknown as { stdio: number[] }).stdio[3]!;
      await until(() => existsSync(join(dir, "runtime.pid")), 60_000);
      const runtimePid = Number(readFileSync(join(dir, "runtime.pid"), "utf8"));
      // without the pipe the runtime's exit is the word: nothing can have come while it waits
      if (!pipe) expect(pollFd(sync, POLLIN, 0)).toBe(0);
      if (!pipe) writeFileSync(join(dir, "go"), "");
      const line = syncLine(sync);
      const reportedWhileRuntimeLived = !ended(runtimePid);
      const init = Number(readFileSync(join(dir, "pidfile"), "utf8"));
      expect(JSON.parse(line)).toEqual({ data: init });
      // the runtime goes (as a real create does): the init is the monitor's to reap then
      writeFileSync(join(dir, "go"), "");
      expect(await until(() => ended(runtimePid), 60_000)).toBe(true);
      process.kill(init, "SIGTERM");
      const monitor = Number(readFileSync(join(dir, "monitor.pid"), "utf8"));
      expect(await until(() => ended(monitor), 60_000)).toBe(true);
      return { env: readFileSync(join(dir, "env"), "utf8").trim(), reportedWhileRuntimeLived, exitFile: readFileSync(join(dir, "c1"), "utf8") };
    } finally {
      // a failure half-way leaves none of what it started (the stand-in, its init, the monitor)
      writeFileSync(join(dir, "go"), "");
      for (const f of ["pidfile", "runtime.pid", "monitor.pid"]) {
        const pid = existsSync(join(dir, f)) ? Number(readFileSync(join(dir, f), "utf8")) : 0;
        if (pid > 0 && !ended(pid)) process.kill(pid, "SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("asked for: the runtime gets the pipe as $BERTH_CREATED_FD, and its byte is the word — the pid is reported while it still runs; the container's exit is still recorded", async () => {
    expect(await monitorWith(true)).toEqual({ env: "4", reportedWhileRuntimeLived: true, exitFile: "143" });
  });

  test("not asked for (another runtime): no such variable, and the pid is reported once the runtime has exited", async () => {
    expect(await monitorWith(false)).toEqual({ env: "none", reportedWhileRuntimeLived: false, exitFile: "143" });
  });
});

describe.skipIf(!canRunContainers)("the exit claim (--exit-claim-fd)", () => {
  const rt = new RuntimeFixture("claim");
  afterAll(() => rt.cleanup());

  /**
   * berth-monitor by hand on a real container (`exit 7`, berth-runtime), with a planted
   * exit command that leaves a marker. `holder`: what the holder of the claim does once
   * the exit file is there — says it recorded the exit, or lets go without a word; or
   * there is no claim at all. Whether the exit command ran, and the exit file.
   */
  async function monitorRun(holder: "records" | "lets go" | "no claim"): Promise<{ exitCommandRan: boolean; exitFile: string }> {
    const id = rt.id();
    const bundle = rt.bundle(id, rt.spec(id, (s) => void (s.process!.args = ["sh", "-c", "exit 7"])));
    const run = join(rt.dir, `run-${id}`);
    mkdirSync(join(run, "exit"), { recursive: true });
    const marker = join(run, "exit-command-ran");
    const pair = socketPair();
    if (pair === -1) throw new Error("socketpair failed");
    const claim = holder === "no claim" ? [] : ["--exit-claim-fd", "4"];
    const p = Bun.spawn([join(REPO, "native", "build", "berth-monitor"), "--runtime", RUNTIME, "--runtime-arg", "--root", "--runtime-arg", rt.root,
      "--bundle", bundle, "--id", id, "--pid-file", join(run, "pidfile"), "--monitor-pid-file", join(run, "monitor.pid"), "--exit-dir", join(run, "exit"),
      "--log", join(run, "ctr.log"), "--log-max-size", "100000", "--log-max-files", "1", "--attach-socket", "attach", "--sync-fd", "3", ...claim,
      "--", "/bin/sh", "-c", `echo ran > ${marker}`], { cwd: run, stdio: ["ignore", "ignore", "inherit", "pipe", pair[1]] });
    close(pair[1]);
    expect(syncLine((p as unknown as { stdio: number[] }).stdio[3]!)).toMatch(/^\{"data": \d+\}\n$/);
    const monitor = Number(readFileSync(join(run, "monitor.pid"), "utf8"));
    expect(rt.rt(["start", id]).code).toBe(0);
    expect(await until(() => existsSync(join(run, "exit", id)), 60_000)).toBe(true);
    if (holder === "records") writeAll(pair[0], "1");
    close(pair[0]);
    expect(await until(() => ended(monitor), 60_000)).toBe(true);
    expect(rt.rt(["delete", "--force", id]).code).toBe(0);
    return { exitCommandRan: existsSync(marker), exitFile: readFileSync(join(run, "exit", id), "utf8") };
  }

  test("the holder says it recorded the exit: the monitor ends without running the exit command", async () => {
    expect(await monitorRun("records")).toEqual({ exitCommandRan: false, exitFile: "7" });
  });

  test("the holder hangs up while the runtime's create waits for its config (a run's head start, berth killed): the create is killed, the monitor reports it, runs the exit command and ends", async () => {
    const id = rt.id();
    const run = join(rt.dir, `run-${id}`);
    const bundle = join(run, "bundle");
    mkdirSync(join(run, "exit"), { recursive: true });
    mkdirSync(bundle);
    // a FIFO nobody writes: the runtime's read of config.json waits forever
    expect(Bun.spawnSync(["mkfifo", join(bundle, "config.json")]).exitCode).toBe(0);
    const pair = socketPair();
    if (pair === -1) throw new Error("socketpair failed");
    const p = Bun.spawn([join(REPO, "native", "build", "berth-monitor"), "--runtime", RUNTIME, "--runtime-arg", "--root", "--runtime-arg", rt.root,
      "--bundle", bundle, "--id", id, "--pid-file", join(run, "pidfile"), "--monitor-pid-file", join(run, "monitor.pid"), "--exit-dir", join(run, "exit"),
      "--log", join(run, "ctr.log"), "--log-max-size", "100000", "--log-max-files", "1", "--attach-socket", "attach", "--sync-fd", "3", "--exit-claim-fd", "4",
      "--", "/bin/sh", "-c", `echo ran > ${join(run, "exit-command-ran")}`], { cwd: run, stdio: ["ignore", "ignore", "inherit", "pipe", pair[1]] });
    close(pair[1]);
    await until(() => existsSync(join(run, "monitor.pid")), 60_000);
    const monitor = Number(readFileSync(join(run, "monitor.pid"), "utf8"));
    // the runtime is there, waiting in its open of the FIFO
    expect(await until(() => readdirSync("/proc").some((d) => /^\d+$/.test(d) && childOf(Number(d), monitor)), 60_000)).toBe(true);
    close(pair[0]);
    expect(JSON.parse(syncLine((p as unknown as { stdio: number[] }).stdio[3]!))).toEqual({ data: -1, message: "the runtime's create was killed by signal 9" });
    expect(await until(() => ended(monitor), 60_000)).toBe(true);
    // what the killed create made is the exit command's to remove: nobody else is left to
    expect(existsSync(join(run, "exit-command-ran"))).toBe(true);
    expect(existsSync(join(rt.root, id))).toBe(false);
  });

  test("the holder lets go without a word (detached, killed), or there is no claim: the exit command runs", async () => {
    expect(await monitorRun("lets go")).toEqual({ exitCommandRan: true, exitFile: "7" });
    expect(await monitorRun("no claim")).toEqual({ exitCommandRan: true, exitFile: "7" });
  });
});

describe.skipIf(!canRunContainers)("a foreground run records its container's exit", () => {
  test("killed (SIGKILL) while its container runs: the exit command records the exit, and removes a --rm container", async () => {
    // the container ends when the test says go, after its run was killed
    const script = "while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 5";
    const kept = spawnBerth(["run", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--tmpfs", "/tmp", "--name", `kept-${process.pid}`, "--rootfs", fx.rootfs, "sh", "-c", script]);
    const removed = spawnBerth(["run", "--rm", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--tmpfs", "/tmp", "--name", `gone-${process.pid}`, "--rootfs", fx.rootfs, "sh", "-c", script]);
    for (const name of [`kept-${process.pid}`, `gone-${process.pid}`]) {
      expect(await until(() => fx.berth(["inspect", name]).code === 0 && fx.inspect(name).State.Status === "running", 60_000)).toBe(true);
    }
    kept.p.kill("SIGKILL");
    removed.p.kill("SIGKILL");
    await Promise.all([kept.done, removed.done]);
    for (const name of [`kept-${process.pid}`, `gone-${process.pid}`]) expect(fx.berth(["exec", name, "touch", "/tmp/go"]).code).toBe(0);
    expect(await until(() => fx.berth(["inspect", `gone-${process.pid}`]).code !== 0, 60_000)).toBe(true);
    expect(await until(() => fx.inspect(`kept-${process.pid}`).State.Status === "exited", 60_000)).toBe(true);
    expect(fx.inspect(`kept-${process.pid}`).State).toMatchObject({ Status: "exited", ExitCode: 5, Error: "" });
    expect(fx.berth(["rm", `kept-${process.pid}`]).code).toBe(0);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });

  /**
   * berth-runtime made slow at `verb`, where it says it is (a pid in `waiting`) and
   * sleeps: at `create`, its bundle is given a createRuntime hook that does — the create
   * waits for it with the container's init made, in its cgroup and the runtime's state
   * written; at `start`, the runtime itself does before it starts anything.
   */
  function slowRuntime(dir: string, verb: "create" | "start"): { path: string; waiting: string; waiter: () => number } {
    const waiting = join(dir, `waiting-in-${verb}`);
    const path = join(dir, `slow-${verb}-runtime`);
    const wait = `echo $$ > ${waiting}.tmp && mv ${waiting}.tmp ${waiting} && exec sleep 600`;
    const hook = JSON.stringify({ createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", wait] }] });
    const slow = verb === "create"
      // berth's config.json is one line of JSON with no hooks of its own
      ? `[ -n "$bundle" ] && sed -i '1s|^{|{"hooks":${hook.replaceAll("|", "\\|").replaceAll("&", "\\&")},|' "$bundle/config.json"`
      : `case " $* " in *" start "*) ${wait};; esac`;
    writeFileSync(path, `#!/bin/sh
bundle=
prev=
for a in "$@"; do
  [ "$prev" = --bundle ] && bundle=$a
  prev=$a
done
${slow}
exec ${join(REPO, "native", "build", "bin", "berth-runtime")} "$@"
`, { mode: 0o755 });
    return { path, waiting, waiter: () => Number(readFileSync(waiting, "utf8")) };
  }

  /** `berth ARGS` until its runtime waits in `slow`, then SIGKILL: the container's id and its init's pid */
  async function killWhileWaiting(args: string[], slow: ReturnType<typeof slowRuntime>, made: string[]): Promise<{ id: string; init: number }> {
    const b = spawnBerth(args);
    expect(await until(() => existsSync(slow.waiting), 60_000)).toBe(true);
    const id = readdirSync(join(fx.runroot, "runtime")).find((d) => existsSync(join(fx.runroot, "runtime", d, "state.json")))!;
    made.push(id);
    const init = (JSON.parse(readFileSync(join(fx.runroot, "runtime", id, "state.json"), "utf8")) as { pid: number }).pid;
    expect(readFileSync(`/proc/${init}/cgroup`, "utf8")).toContain(id);
    b.p.kill("SIGKILL");
    await b.done;
    return { id, init };
  }

  /** What a failing test left in the runtime goes (the init such a failure keeps would keep its cgroup too). */
  function deleteFromRuntime(ids: string[]): void {
    for (const id of ids) if (existsSync(join(fx.runroot, "runtime", id))) Bun.spawnSync([RUNTIME, "--root", join(fx.runroot, "runtime"), "delete", "--force", id]);
  }

  /** End the process the slow runtime waits in (outside the container: nothing of berth's ends it), if it got there. */
  function endWaiter(slow: ReturnType<typeof slowRuntime>): void {
    if (!existsSync(slow.waiting)) return;
    try {
      process.kill(slow.waiter(), "SIGKILL");
    } catch {}
    rmSync(slow.waiting);
  }

  test("killed (SIGKILL) mid-create: nothing of the container is left — init, cgroup, runtime state, monitor; run's record goes, start -a's and start's stays created and says why", async () => {
    const slow = slowRuntime(mkdtempSync(join(fx.dir, "slow-")), "create");
    const made: string[] = [];
    try {
      const ran = await killWhileWaiting(["run", "--runtime", slow.path, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "true"], slow, made);
      expect(await until(() => fx.records().length === 0, 60_000)).toBe(true);
      expect(ended(ran.init)).toBe(true);
      expect(existsSync(join(fx.runroot, "runtime", ran.id))).toBe(false);
      expect(fx.leftoverCgroups()).toEqual([]);
      expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
      endWaiter(slow);

      const name = `cut-${process.pid}`;
      expect(fx.berth(["create", "--runtime", slow.path, "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "true"]).code).toBe(0);
      const started = await killWhileWaiting(["start", "-a", name], slow, made);
      expect(await until(() => fx.inspect(name).State.Error !== "", 60_000)).toBe(true);
      expect(fx.inspect(name).State).toMatchObject({ Status: "created", ExitCode: 125, Error: expect.stringContaining("its start was cut short") });
      expect(ended(started.init)).toBe(true);
      expect(existsSync(join(fx.runroot, "runtime", started.id))).toBe(false);
      expect(fx.leftoverCgroups()).toEqual([]);
      expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
      endWaiter(slow);

      // a detached start records no exit, but holds a claim until the container runs: cut short again, the same
      const again = await killWhileWaiting(["start", name], slow, made);
      expect(await until(() => !existsSync(join(fx.runroot, "runtime", again.id)), 60_000)).toBe(true);
      expect(fx.inspect(name).State).toMatchObject({ Status: "created", ExitCode: 125, Error: expect.stringContaining("its start was cut short") });
      expect(ended(again.init)).toBe(true);
      expect(fx.leftoverCgroups()).toEqual([]);
      expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
      expect(fx.berth(["rm", name]).code).toBe(0);
    } finally {
      endWaiter(slow);
      deleteFromRuntime(made);
    }
  });

  test("killed (SIGKILL) before its record is written, its monitor's create waiting for the spec: the name is free again, and nothing is left — directories, monitor", async () => {
    const name = `early-${process.pid}`;
    // an --env-file that is a FIFO nobody writes: the run waits in its read, after the name's claim and the monitor's launch, before the record
    const fifo = join(mkdtempSync(join(fx.dir, "fifo-")), "env");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const b = spawnBerth(["run", "--name", name, "--env-file", fifo, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "true"]);
    expect(await until(() => existsSync(join(fx.root, "containers", ".names", name)) && fx.monitors().length > 0, 60_000)).toBe(true);
    expect(fx.records()).toHaveLength(1);
    const id = fx.records()[0]!;
    expect(existsSync(join(fx.root, "containers", id, "container.json"))).toBe(false);
    b.p.kill("SIGKILL");
    await b.done;
    expect(await until(() => fx.records().length === 0, 60_000)).toBe(true);
    expect(existsSync(join(fx.root, "containers", ".names", name))).toBe(false);
    expect(existsSync(join(fx.runroot, "containers", id))).toBe(false);
    expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
    expect(fx.run(["--rm", "--name", name], ["true"]).code).toBe(0);
    expect(fx.records()).toEqual([]);
  });

  test("killed (SIGKILL) after the create, before the runtime's start: rm -f deletes the created container the runtime holds — init, cgroup, runtime state, monitor", async () => {
    const slow = slowRuntime(mkdtempSync(join(fx.dir, "slow-")), "start");
    const made: string[] = [];
    try {
      const name = `unstarted-${process.pid}`;
      const { id, init } = await killWhileWaiting(["run", "--runtime", slow.path, "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "true"], slow, made);
      endWaiter(slow);
      // the create was done: the monitor holds the container's init, which waits for a start that never comes
      expect(ended(init)).toBe(false);
      expect(fx.inspect(name).State.Status).toBe("created");
      expect(fx.berth(["rm", "-f", name]).code).toBe(0);
      expect(fx.records()).toEqual([]);
      expect(await until(() => ended(init), 60_000)).toBe(true);
      expect(existsSync(join(fx.runroot, "runtime", id))).toBe(false);
      expect(await until(() => fx.leftoverCgroups().length === 0, 60_000)).toBe(true);
      expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
    } finally {
      endWaiter(slow);
      deleteFromRuntime(made);
    }
  });

  test("--restart on-failure:1 in the foreground: run exits with the code, the container is started again once and its second exit recorded", async () => {
    const name = `again-${process.pid}`;
    const r = fx.run(["--restart", "on-failure:1", "--name", name], ["sh", "-c", "exit 3"]);
    expect(r.code).toBe(3);
    expect(await until(() => fx.inspect(name).RestartCount === 1 && fx.inspect(name).State.Status === "exited", 60_000)).toBe(true);
    expect(fx.inspect(name).State).toMatchObject({ Status: "exited", ExitCode: 3 });
    expect(fx.berth(["rm", name]).code).toBe(0);
  });

  test("a run that fails after its monitor was launched (head start) — a name in use, an unknown user — leaves no monitor, runtime, record or cgroup", () => {
    const name = `taken-${process.pid}`;
    const holder = fx.runDetached(["--name", name], ["sleep", "60"]);
    const before = fx.monitors();
    const taken = fx.run(["--name", name], ["true"]);
    expect(taken.code).toBe(125);
    expect(taken.stderr).toContain(`is already in use by container "${holder}"`);
    const user = fx.run(["--rm", "--user", "nosuchuser"], ["true"]);
    expect(user.code).toBe(125);
    expect(user.stderr).toMatch(/^berth: --user: unable to find user nosuchuser/);
    expect(fx.records()).toEqual([holder]);
    expect(fx.monitors()).toEqual(before);
    expect(fx.berth(["rm", "-f", holder]).code).toBe(0);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });

  test("--rm: the exit code, and nothing left — record, monitor, cgroup", () => {
    expect(fx.run(["--rm"], ["sh", "-c", "echo out; exit 4"])).toMatchObject({ code: 4, stdout: "out\n" });
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
});
