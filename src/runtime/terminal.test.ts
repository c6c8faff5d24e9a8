/**
 * Terminals, in runc's modes (docs/terminals.md): a new pty for process.terminal —
 * sent over --console-socket as one SCM_RIGHTS message when the runtime detaches (what
 * conmon and containerd's shim receive), or proxied to the runtime's own terminal in the
 * foreground (`run`, `exec -t`) — and pass-through stdio otherwise (lifecycle tests).
 * The caller's terminal is a real pty from util-linux `script`.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProbe, canRunContainers, RuntimeFixture, RUNTIME, until } from "../../test/runtime-harness.ts";
import type { Spec } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("tty");
const receivers: Bun.Subprocess[] = [];
afterAll(() => {
  for (const p of receivers) p.kill("SIGKILL"); // one still waiting if its test failed
  fx.cleanup();
}, 60_000);

let receiver: string;
beforeAll(() => {
  if (!canRunContainers) return;
  mkdirSync(join(fx.dir, "probes"));
  receiver = buildProbe("console-receiver", join(fx.dir, "probes"));
});

const terminal = (script: string, extra?: (s: Spec) => void) => (s: Spec) => {
  s.process!.terminal = true;
  s.process!.args = ["sh", "-c", script];
  s.process!.consoleSize = { height: 30, width: 100 };
  extra?.(s);
};

let typed = 0;
/**
 * Run `cmd` on a fresh pty (util-linux script) and type `input` once its output shows
 * `typeAfter` (after half a second without it): the pty echoes what is typed where it lands, so typing
 * before the program has printed what it prints first would cut into it (a fixed pause was
 * short in the v2 VM). Its output and exit status.
 */
async function onPty(cmd: string[], input = "", typeAfter?: string): Promise<{ out: string; code: number }> {
  const line = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const ready = join(fx.dir, `typed-${process.pid}-${++typed}`);
  if (typeAfter === undefined) writeFileSync(ready, "");
  // the typist gives up after 120 s, so a program that never shows `typeAfter` leaves no shell behind
  const typist = `sleep 0.5; i=0; until [ -e "$READY" ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i+1)); done; printf '%s' "$INPUT"`;
  const p = Bun.spawn(["sh", "-c", `(${typist}) | script -qec "$CMD" /dev/null`], {
    env: { ...process.env, CMD: line, INPUT: input, READY: ready }, stdin: "ignore", stdout: "pipe", stderr: "inherit",
  });
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of p.stdout) {
    out += decoder.decode(chunk, { stream: true });
    if (typeAfter !== undefined && out.includes(typeAfter) && !existsSync(ready)) writeFileSync(ready, "");
  }
  return { out: out.replace(/\r/g, ""), code: await p.exited };
}

/** Start a console receiver on a fresh socket path; its output file and process. */
async function console(input: string) {
  const sock = join(fx.dir, `console-${fx.id("s")}.sock`);
  const out = `${sock}.out`;
  const proc = Bun.spawn([receiver, sock, out, input], { stderr: "inherit" });
  receivers.push(proc);
  expect(await until(() => existsSync(sock))).toBe(true);
  return { sock, out, proc };
}

describe.skipIf(!canRunContainers)("terminals", () => {
  test("foreground run: the program gets a pty as stdin/out/err and /dev/console, sized from consoleSize; typing reaches it; its status comes back", async () => {
    const id = fx.id();
    const r = await onPty([RUNTIME, "--root", fx.root, "run", "--bundle", fx.bundle(id, fx.spec(id, terminal(
      "tty; stat -c 'console %F %t:%T' /dev/console; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; echo reading; read line; echo got:$line; exit 4",
    ))), id], "typed-words\n", "reading");
    expect(r.code).toBe(4);
    expect(r.out).toContain("/dev/pts/0\n");
    expect(r.out).toContain("console character special file 88:0\n"); // /dev/console is the pty's slave, 136:0
    expect(r.out).toContain("30 100\n");
    expect(r.out).toContain("all-tty\n");
    expect(r.out).toContain("got:typed-words\n");
  });

  test("detached: create --console-socket sends the master as one SCM_RIGHTS message before create returns", async () => {
    const c = await console("echo typed-in\n");
    const id = fx.id();
    const r = fx.rt(["create", "--console-socket", c.sock, "--bundle", fx.bundle(id, fx.spec(id, terminal("tty; read x; echo got:$x"))), id]);
    expect(r.code).toBe(0);
    // the master arrived while create ran: the receiver already has it
    expect(await until(() => existsSync(c.out) && readFileSync(c.out, "utf8").startsWith("name="))).toBe(true);
    expect(fx.rt(["start", id]).code).toBe(0);
    await c.proc.exited;
    const text = readFileSync(c.out, "utf8").replace(/\r/g, "");
    expect(text).toContain("/dev/pts/0\n");
    expect(text).toContain("got:echo typed-in\n");
  });

  test("the pty belongs to process.user's uid, as runc gives it: run and exec, in the foreground and with --console-socket", async () => {
    const id = fx.id();
    const owner = "stat -c owner=%u $(tty)";
    const fg = await onPty([RUNTIME, "--root", fx.root, "run", "--bundle", fx.bundle(id, fx.spec(id, terminal(owner, (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
    }))), id]);
    expect(fg.out).toContain("owner=1000\n");
    expect(fg.code).toBe(0);
    const running = fx.id();
    expect(fx.rt(["run", "-d", "--bundle", fx.bundle(running, fx.spec(running, (s) => (s.process!.args = ["sleep", "300"]))), running]).code).toBe(0);
    expect((await onPty([RUNTIME, "--root", fx.root, "exec", "-t", "--user", "1001:1001", running, "sh", "-c", owner])).out).toContain("owner=1001\n");
    const c = await console("");
    expect(fx.rt(["exec", "-t", "-d", "--user", "1002", "--console-socket", c.sock, running, "sh", "-c", owner]).code).toBe(0);
    await c.proc.exited;
    expect(readFileSync(c.out, "utf8").replace(/\r/g, "")).toContain("owner=1002\n");
    // root's terminal stays root's
    expect((await onPty([RUNTIME, "--root", fx.root, "exec", "-t", running, "sh", "-c", owner])).out).toContain("owner=0\n");
  });

  test("exec -t in the foreground, and exec -t -d with --console-socket", async () => {
    const id = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["sleep", "300"]))), id]).code).toBe(0);
    expect(fx.rt(["start", id]).code).toBe(0);
    const fg = await onPty([RUNTIME, "--root", fx.root, "exec", "-t", id, "sh", "-c", "tty; [ -t 0 ] && echo tty-in; exit 5"]);
    expect(fg.code).toBe(5);
    expect(fg.out).toMatch(/\/dev\/pts\/\d+\n/);
    expect(fg.out).toContain("tty-in\n");
    const c = await console("");
    const d = fx.rt(["exec", "-t", "-d", "--console-socket", c.sock, id, "sh", "-c", "tty; echo detached-tty"]);
    expect(d.code).toBe(0);
    await c.proc.exited;
    expect(readFileSync(c.out, "utf8").replace(/\r/g, "")).toContain("detached-tty\n");
  });

  test("runc's refusals: a detached terminal without a socket, and a socket without a terminal", () => {
    const id = fx.id();
    const noSocket = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, terminal("true"))), id]);
    expect(noSocket.code).toBe(1);
    expect(noSocket.stderr.trim()).toStartWith("process.terminal: cannot allocate a terminal when berth-runtime returns before the container ends; pass --console-socket");
    const id2 = fx.id();
    const noTerminal = fx.rt(["create", "--console-socket", join(fx.dir, "x.sock"), "--bundle", fx.bundle(id2, fx.spec(id2)), id2]);
    expect(noTerminal.code).toBe(1);
    expect(noTerminal.stderr.trim()).toBe("--console-socket: --console-socket needs process.terminal set to true");
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(existsSync(join(fx.root, id2))).toBe(false);
  });

  test("run of the default spec (terminal, sh) with no terminal at all: fails at once as runc does (open /dev/tty), nothing left", () => {
    const id = fx.id();
    // no controlling terminal (a new session) and stdio files: what a service or a CI job has
    const r = fx.rt(["--root", fx.root, "run", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.terminal = true))), id], { runtime: ["setsid", "-w", RUNTIME], timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("process.terminal: open /dev/tty: no such device or address: berth-runtime run proxies the container's terminal to its own, and it has none (stdin, stdout and stderr are not terminals); run it from a terminal, set process.terminal to false, or pass --console-socket");
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory/berth-test/${id}`) || existsSync(`/sys/fs/cgroup/berth-test/${id}`)).toBe(false);
  });

  test("exec -t in the foreground with no terminal at all: fails at once too, exec's own failure (255), the container untouched", () => {
    const id = fx.id();
    expect(fx.rt(["run", "-d", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["sleep", "300"]))), id]).code).toBe(0);
    const r = fx.rt(["--root", fx.root, "exec", "-t", id, "sh"], { runtime: ["setsid", "-w", RUNTIME], timeoutMs: 20_000 });
    expect(r.code).toBe(255);
    expect(r.stderr.trim()).toBe("process.terminal: open /dev/tty: no such device or address: berth-runtime exec proxies the container's terminal to its own, and it has none (stdin, stdout and stderr are not terminals); run it from a terminal, set process.terminal to false, or pass --console-socket");
    expect(fx.state(id).status).toBe("running");
  });

  test("run in the foreground on a terminal: a TERM to the runtime ends it even though the shell, its namespace's init, cannot act on TERM", async () => {
    const id = fx.id();
    const bundle = fx.bundle(id, fx.spec(id, (s) => (s.process!.terminal = true))); // args ["sh"]: interactive, ignores TERM, and PID 1
    const pidFile = join(fx.dir, `${id}.runtime-pid`);
    // the runtime on a pty (util-linux script) whose input stays open: nobody types exit
    const p = Bun.spawn(["script", "-qec", `echo $$ > ${pidFile}; exec ${RUNTIME} --root ${fx.root} run --bundle ${bundle} ${id}`, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    receivers.push(p);
    expect(await until(() => existsSync(pidFile) && fx.rt(["state", id]).stdout.includes('"running"'), 20_000)).toBe(true);
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGTERM");
    expect(await until(() => !existsSync(join(fx.root, id)), 20_000)).toBe(true);
    // killed: 128 + SIGKILL, through script
    expect(await p.exited).toBe(137);
  });
});
