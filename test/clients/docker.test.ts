/**
 * dockerd 20.10 (Debian docker.io) driving berth-runtime through `--add-runtime
 * berth=bin/berth-runtime` and `docker run --runtime berth`: containerd's runc shim
 * calls berth-runtime like runc, and every spec carries docker's prestart hook
 * (`libnetwork-setkey`), which is how the container gets its network.
 *
 * The daemon is this file's own: --data-root, --exec-root, --pidfile and a unix socket
 * in a temp dir, its own containerd (dockerd supervises one under the exec-root), a
 * bridge of our own (berthdock0, made here and handed over with --bridge, so docker0 is
 * never created), --iptables=false so no DOCKER chains reach the shared firewall (`-p`
 * goes through docker-proxy on 127.0.0.1), and cgroups under /berthdock. afterAll stops
 * dockerd by PID and removes all of it, including what dockerd writes outside its roots
 * (/etc/docker/key.json, /run/docker, /run/containerd/s) when it was not there before.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import {
  type ChainSnapshot,
  type CommandResult,
  cgroupDirOf,
  deleteLink,
  freeLoopbackPort,
  httpGet,
  iptablesChains,
  isRoot,
  killPids,
  pidsMentioning,
  removeNewChains,
  removeTree,
  requireCommands,
  runCommand,
  RUNTIME,
  TOOL_PATH,
  tryRmdir,
  until,
  CLIENT_LOCK_HOOK_TIMEOUT,
  holdClientLock,
} from "./client-env.ts";
import type { HeldLock } from "../../src/sys/lock-file.ts";
import { berth } from "../observe-fixture.ts";
import { cgroupHierarchies } from "../runtime-harness.ts";
import { type LocalRegistry, startRegistryWithBusybox } from "./registry.ts";

setDefaultTimeout(120_000);

/** What this file runs, by command, with the Debian package that provides it. */
export const DOCKER_COMMANDS: Record<string, string> = {
  dockerd: "docker.io",
  "/usr/bin/docker": "docker.io", // the 20.10 CLI; /usr/local/bin/docker may be another
  "docker-proxy": "docker.io",
  containerd: "containerd",
  "containerd-shim-runc-v2": "containerd",
  iptables: "iptables",
  ip: "iproute2",
};

const BRIDGE = "berthdock0";
const BRIDGE_CIDR = "10.80.0.1/24";
const CGROUP_PARENT = "berthdock";
/** Host paths dockerd 20.10 writes outside --data-root/--exec-root. */
const OUTSIDE_PATHS = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd"];

let dir = "";
let registry: LocalRegistry | undefined;
let image = "";
let dockerd: Subprocess | undefined;
let chainsBefore: ChainSnapshot = {};
const existedBefore = new Set<string>();
let names = 0;

function name(what: string): string {
  return `berthdk${process.pid}-${what}-${++names}`;
}

function socket(): string {
  return join(dir, "docker.sock");
}

/** The 20.10 docker CLI against our daemon, with its own config dir. */
function docker(args: string[], opts: { input?: string } = {}): CommandResult {
  return runCommand(["/usr/bin/docker", "-H", `unix://${socket()}`, ...args], { env: { DOCKER_CONFIG: join(dir, "cli") }, input: opts.input });
}

function ok(r: CommandResult): string {
  if (r.code !== 0) throw new Error(`docker exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function inspect(ctr: string, format: string): string {
  return ok(docker(["inspect", "--format", format, ctr])).trim();
}

/** PID 1 that says "ready" and then waits, ending with 3 on SIGTERM. */
const WAITER = 'trap "echo bye; exit 3" TERM; echo ready; while :; do sleep 1000 & wait $!; done';

/** `docker run -d --runtime berth` of `sh -c SCRIPT`, once its log shows "ready". */
async function started(ctrName: string, script: string, extra: string[] = []): Promise<{ id: string; pid: number }> {
  const id = ok(docker(["run", "-d", "--runtime", "berth", "--name", ctrName, ...extra, image, "sh", "-c", script])).trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(await until(() => docker(["logs", ctrName]).stdout.includes("ready"))).toBe(true);
  return { id, pid: Number(inspect(ctrName, "{{.State.Pid}}")) };
}

/** containerd's runc shim keeps the runtime's state under EXEC_ROOT/runtime-runc/moby (whatever the runtime). */
function runtimeStateDir(id: string): string {
  return join(dir, "exec", "runtime-runc", "moby", id);
}

let clientLock: HeldLock | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  clientLock = await holdClientLock("docker");
  requireCommands(DOCKER_COMMANDS);
  chainsBefore = iptablesChains();
  for (const p of OUTSIDE_PATHS) if (existsSync(p)) existedBefore.add(p);
  deleteLink(BRIDGE); // left by a run that was killed
  dir = mkdtempSync(join(tmpdir(), "berth-docker-"));
  for (const d of ["root", "exec", "cli"]) mkdirSync(join(dir, d), { recursive: true });
  registry = await startRegistryWithBusybox(dir);
  image = registry.image;

  // docker makes only docker0 itself; a bridge of another name must exist, with its address
  for (const argv of [["ip", "link", "add", BRIDGE, "type", "bridge"], ["ip", "addr", "add", BRIDGE_CIDR, "dev", BRIDGE], ["ip", "link", "set", BRIDGE, "up"]]) {
    const r = runCommand(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.trim()}`);
  }
  writeFileSync(join(dir, "daemon.json"), "{}\n"); // so /etc/docker/daemon.json is not read
  const log = join(dir, "dockerd.log");
  dockerd = Bun.spawn(
    [
      "dockerd",
      "--config-file", join(dir, "daemon.json"),
      "--data-root", join(dir, "root"),
      "--exec-root", join(dir, "exec"),
      "--pidfile", join(dir, "dockerd.pid"),
      "-H", `unix://${socket()}`,
      "--storage-driver", "overlay2",
      "--bridge", BRIDGE,
      "--iptables=false",
      "--ip-masq=false",
      "--cgroup-parent", `/${CGROUP_PARENT}`,
      "--add-runtime", `berth=${RUNTIME}`,
    ],
    { stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(log), env: { ...process.env, PATH: TOOL_PATH } },
  );
  const up = await until(() => dockerd!.exitCode === null && docker(["version", "--format", "{{.Server.Version}}"]).code === 0, 3000);
  if (!up) throw new Error(`dockerd did not come up: ${existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-5).join(" | ") : "no log"}`);
  ok(docker(["pull", "--quiet", image]));
}, CLIENT_LOCK_HOOK_TIMEOUT + 180_000);

afterAll(async () => {
  try {
    if (!isRoot || !dir) return;
    if (dockerd && dockerd.exitCode === null) {
      const ids = docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) docker(["rm", "--force", ...ids]);
      dockerd.kill("SIGTERM");
      // dockerd stops its containerd and shims on SIGTERM; SIGKILL only if it hangs
      const exited = await Promise.race([dockerd.exited.then(() => true), Bun.sleep(60_000).then(() => false)]);
      if (!exited) {
        dockerd.kill("SIGKILL");
        await dockerd.exited;
      }
    }
    // containerd, shims, docker-proxy: anything still running from our dirs
    await killPids(pidsMentioning(dir));
    await registry?.stop();
    removeTree(dir);
    deleteLink(BRIDGE);
    removeNewChains(chainsBefore, "DOCKER"); // none with --iptables=false, unless that ever changes
    for (const h of cgroupHierarchies()) {
      const parent = join(h, CGROUP_PARENT);
      if (!existsSync(parent)) continue;
      for (const child of readdirSync(parent, { withFileTypes: true })) if (child.isDirectory()) tryRmdir(join(parent, child.name));
      tryRmdir(parent);
    }
    for (const p of OUTSIDE_PATHS) {
      if (existedBefore.has(p) || !existsSync(p)) continue;
      if (p.endsWith(".json")) rmSync(p, { force: true });
      else tryRmdir(p); // only if empty: another containerd may use /run/containerd now
    }
  } finally {
    clientLock?.release();
  }
}, 180_000);

describe.skipIf(!isRoot)("dockerd --add-runtime berth=berth-runtime", () => {
  test("docker info lists the runtime, and run --runtime berth returns output and status", () => {
    expect(ok(docker(["info", "--format", "{{json .Runtimes}}"]))).toContain(RUNTIME);
    const r = docker(["run", "--rm", "--runtime", "berth", image, "sh", "-c", "echo hi; echo to-stderr >&2"]);
    expect(r.stderr).toContain("to-stderr");
    expect(r).toMatchObject({ code: 0, stdout: "hi\n" });
    expect(docker(["run", "--rm", "--runtime", "berth", image, "sh", "-c", "exit 7"]).code).toBe(7);
  });

  test("docker's prestart hook (libnetwork-setkey) ran: the container has its bridge address", () => {
    const r = docker(["run", "--rm", "--runtime", "berth", image, "sh", "-c", "ip -4 -o addr show eth0; cat /etc/hostname"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/eth0\s+inet 10\.80\.0\.\d+\/24/);
  });

  test("a missing command exits 127, a non-executable one 126, as with runc", () => {
    const missing = docker(["run", "--rm", "--runtime", "berth", image, "/nonexistent"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no such file or directory|executable file not found/);
    const notExecutable = docker(["run", "--rm", "--runtime", "berth", image, "/etc/passwd"]);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stderr).toMatch(/permission denied/);
  });

  test("run -d, top, update, stop (SIGTERM), rm", async () => {
    const ctr = name("life");
    const { id, pid } = await started(ctr, WAITER);
    expect(inspect(ctr, "{{.HostConfig.Runtime}} {{.State.Status}}")).toBe("berth running");
    const memory = cgroupDirOf(pid, "memory");
    expect(memory).toEndWith(`${CGROUP_PARENT}/${id}`);
    expect(existsSync(join(runtimeStateDir(id), "state.json"))).toBe(true);

    // docker top = the runtime's `ps --format json`, then ps(1) on those host pids
    const top = ok(docker(["top", ctr]));
    expect(top).toMatch(new RegExp(`^\\S+\\s+${pid}\\s.*sh -c trap`, "m"));
    expect(top).toContain("sleep 1000");

    // docker update = the runtime's `update --resources -` with a LinuxResources body
    ok(docker(["update", "--memory", "64m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "50", ctr]));
    if (existsSync(join(memory, "memory.limit_in_bytes"))) {
      expect(readFileSync(join(memory, "memory.limit_in_bytes"), "utf8").trim()).toBe("67108864");
      expect(readFileSync(join(cgroupDirOf(pid, "cpu"), "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
      expect(readFileSync(join(cgroupDirOf(pid, "pids"), "pids.max"), "utf8").trim()).toBe("50");
    } else {
      expect(readFileSync(join(memory, "memory.max"), "utf8").trim()).toBe("67108864");
      expect(readFileSync(join(memory, "cpu.max"), "utf8").trim()).toBe("50000 100000");
      expect(readFileSync(join(memory, "pids.max"), "utf8").trim()).toBe("50");
    }
    expect(inspect(ctr, "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}")).toBe("67108864 50");

    ok(docker(["stop", "--time", "60", ctr]));
    expect(inspect(ctr, "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 3");
    expect(ok(docker(["logs", ctr]))).toBe("ready\nbye\n");
    expect(existsSync(`/proc/${pid}`)).toBe(false);

    ok(docker(["rm", ctr]));
    expect(docker(["inspect", ctr]).code).not.toBe(0);
    expect(existsSync(runtimeStateDir(id))).toBe(false);
    expect(existsSync(memory)).toBe(false);
  });

  test("kill: a named signal reaches the container; the default SIGKILL gives 137", async () => {
    const ctr = name("kill");
    await started(ctr, 'trap "echo got-usr1; exit 10" USR1; echo ready; while :; do sleep 1000 & wait $!; done');
    ok(docker(["kill", "--signal", "USR1", ctr]));
    expect(ok(docker(["wait", ctr])).trim()).toBe("10");
    const other = name("kill");
    await started(other, WAITER);
    ok(docker(["kill", other]));
    expect(ok(docker(["wait", other])).trim()).toBe("137");
    ok(docker(["rm", ctr, other]));
  });

  test("berth diagnose of a stopped container: its exit code from docker's config.v2.json", async () => {
    const stopped = name("exit");
    const { id } = await started(stopped, WAITER);
    ok(docker(["stop", "--time", "10", stopped]));
    const killed = name("exit");
    const k = await started(killed, WAITER);
    ok(docker(["kill", killed]));
    expect(ok(docker(["wait", killed])).trim()).toBe("137");
    const diagnose = (target: string) => {
      const r = berth("diagnose", "--json", "--docker-root", join(dir, "root"), target);
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout) as { verdict: string; target: Record<string, unknown>; findings: { evidence: string[] }[] };
    };
    const d = diagnose(id);
    expect(d.target).toMatchObject({ kind: "container", runtime: "docker", id, running: false });
    expect(d.verdict).toBe("not an OOM kill: exited by itself with code 3 — the program's own exit code: see its documentation or logs");
    expect(d.findings[0]!.evidence[0]).toStartWith(`${join(dir, "root", "containers", id, "config.v2.json")}: exit code 3 (finished `);
    expect(diagnose(k.id).verdict).toStartWith("not an OOM kill: killed with SIGKILL by someone else");
    ok(docker(["rm", stopped, killed]));
  });

  test("-p 127.0.0.1:PORT:80: busybox httpd answers through docker-proxy", async () => {
    const port = await freeLoopbackPort();
    const ctr = name("web");
    ok(docker(["run", "-d", "--runtime", "berth", "--name", ctr, "-p", `127.0.0.1:${port}:80`, image, "httpd", "-f", "-p", "80", "-h", "/www"]));
    let body: string | undefined;
    expect(await until(async () => (body = await httpGet(`http://127.0.0.1:${port}/`)) !== undefined, 300)).toBe(true);
    expect(body).toBe("hello from busybox httpd\n");
    // httpd as PID 1 ignores SIGTERM
    ok(docker(["rm", "--force", ctr]));
  });
});

describe.skipIf(!isRoot)("docker: needs exec", () => {
  test("exec runs in the container's namespaces and returns the command's status", async () => {
    const ctr = name("exec");
    const { id, pid } = await started(ctr, WAITER);
    const r = docker(["exec", ctr, "sh", "-c", "for t in pid net mnt ipc uts; do readlink /proc/self/ns/$t; done; hostname; exit 5"]);
    expect(r.code).toBe(5);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 5)).toEqual(["pid", "net", "mnt", "ipc", "uts"].map((t) => readlinkSync(`/proc/${pid}/ns/${t}`)));
    expect(lines[5]).toBe(id.slice(0, 12));
    expect(docker(["exec", "-i", ctr, "cat"], { input: "piped in\n" })).toMatchObject({ code: 0, stdout: "piped in\n" });
    expect(ok(docker(["exec", "--user", "65534:65534", "--workdir", "/tmp", "--env", "GREETING=hello", ctr, "sh", "-c", "id -u; id -g; pwd; echo $GREETING"]))).toBe("65534\n65534\n/tmp\nhello\n");
    ok(docker(["rm", "--force", ctr]));
  });

  test("exec of a missing or non-executable command fails with the runtime's reason", async () => {
    const ctr = name("execfail");
    await started(ctr, WAITER);
    // docker 20.10 reports a failed exec start as 126 (runc gives the same) and prints the cause
    const missing = docker(["exec", ctr, "/nonexistent"]);
    expect(missing.code).toBe(126);
    expect(missing.stdout + missing.stderr).toMatch(/no such file or directory|executable file not found/);
    const notExecutable = docker(["exec", ctr, "/etc/passwd"]);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stdout + notExecutable.stderr).toMatch(/permission denied/);
    ok(docker(["rm", "--force", ctr]));
  });
});

describe.skipIf(!isRoot)("docker: needs a terminal", () => {
  test("run -t and exec -t: the process's stdio is a pty", async () => {
    const run = docker(["run", "--rm", "-t", "--runtime", "berth", image, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo all-ttys"]);
    expect(run.code).toBe(0);
    expect(run.stdout.replaceAll("\r", "")).toBe("/dev/pts/0\nall-ttys\n");
    const ctr = name("exect");
    await started(ctr, WAITER);
    const exec = docker(["exec", "-t", ctr, "sh", "-c", "tty; exit 4"]);
    expect(exec.code).toBe(4);
    expect(exec.stdout.replaceAll("\r", "")).toMatch(/^\/dev\/pts\/\d+\n$/);
    ok(docker(["rm", "--force", ctr]));
  });
});

