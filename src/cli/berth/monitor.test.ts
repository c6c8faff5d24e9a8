/**
 * berth-monitor on real containers: the log rotated at --log-opt max-size into max-file
 * files, `logs` across them, `logs -f` across rotations, the attach socket (`attach`,
 * `start -a -i`, a terminal). The exit code, --rm, --restart, OOM and a killed monitor
 * are container.test.ts's.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BERTH, canRunContainers, EngineFixture, until } from "../../../test/engine-harness.ts";

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
