/**
 * `berth enter` into real namespaces: a process made with unshare(1) — its own hostname,
 * a tmpfs only its mount namespace sees, PID 1 of its own PID namespace — in a cgroup of
 * the test's, entered through the native helper.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth, CgroupFixture, until } from "../../test/observe-fixture.ts";

const SLOW = 60_000;
const fx = new CgroupFixture("enter");
const dir = mkdtempSync(join(tmpdir(), "berth-enter-"));
let path = "";
/** PID 1 of the new PID namespace, as the host sees it */
let target = 0;

const link = (pid: number | "self", type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);

beforeAll(async () => {
  const script = `hostname observe-enter && mount -t tmpfs tmpfs ${dir} && echo inside > ${dir}/marker && exec sleep 1000`;
  const started = fx.start("c", ["unshare", "--uts", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-c", script]);
  path = started.path;
  const child = () => Number(readFileSync(`/proc/${started.pid}/task/${started.pid}/children`, "utf8").trim().split(" ")[0] || 0);
  // ready once unshare's child has set everything up and become sleep
  const ready = await until(() => {
    const pid = child();
    return pid > 0 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep";
  });
  if (!ready) throw new Error("the unshare'd process did not come up");
  target = child();
});

afterAll(() => {
  fx.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("berth enter", () => {
  test("joins every namespace that differs and the cgroup: its hostname, mounts, PID namespace", () => {
    const r = berth("enter", String(target), "--", "sh", "-c",
      `hostname; cat ${dir}/marker; readlink /proc/self/ns/uts /proc/self/ns/mnt /proc/self/ns/pid; cat /proc/1/comm; cat /proc/self/cgroup`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [hostname, marker, uts, mnt, pid, init, ...cgroups] = r.stdout.trimEnd().split("\n");
    expect(hostname).toBe("observe-enter");
    expect(marker).toBe("inside");
    expect([uts, mnt, pid]).toEqual([link(target, "uts"), link(target, "mnt"), link(target, "pid")]);
    // /proc inside is the namespace's own: its PID 1 is the target
    expect(init).toBe("sleep");
    expect(cgroups.some((l) => l.endsWith(`:${path}`))).toBe(true);
    // the host never saw the tmpfs
    expect(existsSync(`${dir}/marker`)).toBe(false);
  }, SLOW);

  test("-u joins only the UTS namespace: the host's files and mount namespace stay", () => {
    const r = berth("enter", String(target), "-u", "--", "sh", "-c", `hostname; readlink /proc/self/ns/mnt; test -e ${dir}/marker || echo no-marker`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`observe-enter\n${link("self", "mnt")}\nno-marker\n`);
  }, SLOW);

  test("--no-cgroup leaves the command in berth's cgroups", () => {
    const r = berth("enter", String(target), "-u", "--no-cgroup", "--", "cat", "/proc/self/cgroup");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").some((l) => l.endsWith(`:${path}`))).toBe(false);
  }, SLOW);

  test("the exit code is the command's; 127 when it is not in the container, with one line saying so", () => {
    expect(berth("enter", String(target), "--", "sh", "-c", "exit 7").code).toBe(7);
    const missing = berth("enter", String(target), "--", "no-such-command");
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe('berth: COMMAND: "no-such-command": executable file not found in $PATH: no such file or directory\n');
  }, SLOW);

  test("a cgroup path target enters the cgroup's init: here unshare, in the new UTS namespace but the host's PID namespace", () => {
    // -p is a no-op here (the same PID namespace as berth's); without -m /proc stays the host's
    const r = berth("enter", path, "-u", "-p", "--", "sh", "-c", "hostname; readlink /proc/self/ns/pid");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`observe-enter\n${link("self", "pid")}\n`);
  }, SLOW);
});
