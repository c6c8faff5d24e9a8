/**
 * Terminals, in runc's modes (docs/terminals.md): a new pty for process.terminal —
 * sent over --console-socket as one SCM_RIGHTS message when the runtime detaches (what
 * conmon and containerd's shim receive), or proxied to the runtime's own terminal in the
 * foreground (`run`, `exec -t`) — and pass-through stdio otherwise (lifecycle tests).
 * The caller's terminal is a real pty from util-linux `script`.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
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

/** Run `cmd` on a fresh pty (util-linux script), typing `input` after a moment; its output and exit status. */
function onPty(cmd: string[], input = ""): { out: string; code: number } {
  const line = cmd.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const p = Bun.spawnSync(["sh", "-c", `(sleep 0.5; printf '%s' "$INPUT") | script -qec "$CMD" /dev/null`], {
    env: { ...process.env, CMD: line, INPUT: input }, stdout: "pipe", stderr: "pipe",
  });
  return { out: p.stdout.toString().replace(/\r/g, ""), code: p.exitCode ?? 128 };
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
  test("foreground run: the program gets a pty as stdin/out/err and /dev/console, sized from consoleSize; typing reaches it; its status comes back", () => {
    const id = fx.id();
    const r = onPty([RUNTIME, "--root", fx.root, "run", "--bundle", fx.bundle(id, fx.spec(id, terminal(
      "tty; stat -c 'console %F %t:%T' /dev/console; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; read line; echo got:$line; exit 4",
    ))), id], "typed-words\n");
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

  test("exec -t in the foreground, and exec -t -d with --console-socket", async () => {
    const id = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["sleep", "300"]))), id]).code).toBe(0);
    expect(fx.rt(["start", id]).code).toBe(0);
    const fg = onPty([RUNTIME, "--root", fx.root, "exec", "-t", id, "sh", "-c", "tty; [ -t 0 ] && echo tty-in; exit 5"]);
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
});
