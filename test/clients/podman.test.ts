/**
 * podman 4.3 + conmon driving berth-runtime, unchanged: first with `--runtime
 * bin/berth-runtime` (what a user types), then as a runtime named "berth" in a
 * containers.conf with `runtime_supports_json` (conmon then passes --log-format=json
 * --log FILE, and podman reads berth's errors from that log).
 *
 * Everything is private to this file: podman's --root/--runroot/--tmpdir, cgroupfs and
 * file events (no systemd or journald here), a registry on 127.0.0.1 holding busybox,
 * and a CNI bridge network of our own ("berthpod", bridge berthpod0, IPAM state in the
 * temp dir) made podman's default network through containers.conf. Only loopback
 * traffic: `-p 127.0.0.1:PORT:80` served by busybox httpd, read with fetch.
 *
 * The host has no CAP_SYS_RESOURCE, so podman's default nofile/nproc ulimits cannot be
 * set: containers.conf gives limits under the hard ones.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CommandResult,
  bridgeConflist,
  cgroupDirOf,
  deleteLink,
  freeLoopbackPort,
  httpGet,
  isRoot,
  killPids,
  pidsMentioning,
  removeRulesMatching,
  iptablesChains,
  removeTree,
  requireCommands,
  runCommand,
  RUNTIME,
  tryRmdir,
  until,
  type ChainSnapshot,
  CLIENT_LOCK_HOOK_TIMEOUT,
  holdClientLock,
} from "./client-env.ts";
import type { HeldLock } from "../../src/sys/lock-file.ts";
import { cgroupHierarchies } from "../runtime-harness.ts";
import { removeUnusedCniChains } from "../cni-chains.ts";
import { type LocalRegistry, startRegistryWithBusybox } from "./registry.ts";

setDefaultTimeout(120_000);

/** What this file runs, by command, with the Debian package that provides it. */
export const PODMAN_COMMANDS: Record<string, string> = {
  podman: "podman",
  conmon: "conmon",
  catatonit: "catatonit", // podman run --init
  "/usr/lib/cni/bridge": "containernetworking-plugins",
  "/usr/lib/cni/host-local": "containernetworking-plugins",
  "/usr/lib/cni/portmap": "containernetworking-plugins",
  iptables: "iptables",
  ip: "iproute2",
};

/**
 * The runtime's default --root: podman passes none. (`--runtime-flag root=DIR` would, but
 * podman 4.3 leaves it out of the `podman container cleanup` exit command, whose
 * `delete --force` then looks in the default root.)
 */
const RUNTIME_ROOT = RUNTIME.endsWith("berth-runtime") ? "/run/berth" : "/run/runc";
const NETWORK = "berthpod";
const BRIDGE = "berthpod0";
const SUBNET_PREFIX = "10.79.0.";
const CGROUP_PARENT = "libpod_parent"; // podman's cgroupfs parent
const CNI_CACHE = "/var/lib/cni/results";
const NETNS_DIR = "/run/netns"; // podman's named network namespaces (netns-UUID)
/** Host directories CNI and podman create on first use: removed after, if new and empty. */
const HOST_DIRS = [CNI_CACHE, "/var/lib/cni"];
const hostDirsBefore = new Set<string>();
const NAME_PREFIX = `berthpm${process.pid}`;

let dir = "";
let registry: LocalRegistry | undefined;
let image = "";
let chainsBefore: ChainSnapshot = {};
const netnsBefore = new Set<string>();
const cgroupParentsBefore = new Set<string>();
let names = 0;

/** A container name unique to this test process. */
function name(what: string): string {
  return `${NAME_PREFIX}-${what}-${++names}`;
}

function storageFlags(): string[] {
  return ["--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "tmp"), "--storage-driver", "overlay"];
}

/** podman --runtime bin/berth-runtime, plus cgroupfs and file events, on our own store. */
function podman(args: string[], opts: { input?: string } = {}): CommandResult {
  return runCommand(["podman", ...storageFlags(), "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", RUNTIME, ...args], {
    env: { CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf") },
    input: opts.input,
    // not the checkout: conmon keeps podman's working directory and writes its `oom` marker there
    cwd: dir,
  });
}

/** podman with no runtime flag: containers.conf names the runtime "berth". */
function podmanNamed(args: string[]): CommandResult {
  return runCommand(["podman", ...storageFlags(), ...args], {
    env: { CONTAINERS_CONF: join(dir, "containers-named.conf"), CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf") },
    cwd: dir,
  });
}

/** The command's stdout; fails the test with podman's stderr when it exits non-zero. */
function ok(r: CommandResult): string {
  if (r.code !== 0) throw new Error(`podman exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function inspect(ctr: string, format: string, run = podman): string {
  return ok(run(["inspect", "--format", format, ctr])).trim();
}

/** Start `sh -c SCRIPT` detached and wait until its log shows `ready`; returns id and init pid. */
async function started(ctrName: string, script: string, extra: string[] = [], run = podman): Promise<{ id: string; pid: number }> {
  const id = ok(run(["run", "-d", "--name", ctrName, ...extra, image, "sh", "-c", script])).trim();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(await until(() => run(["logs", ctrName]).stdout.includes("ready"))).toBe(true);
  return { id, pid: Number(inspect(ctrName, "{{.State.Pid}}", run)) };
}

/** PID 1 that says "ready" and then waits, ending with 3 on SIGTERM and 10 on SIGUSR1. */
const WAITER = 'trap "echo bye; exit 3" TERM; trap "echo got-usr1; exit 10" USR1; echo ready; while :; do sleep 1000 & wait $!; done';

function containersConf(runtimeLines: string[]): string {
  return [
    "[containers]",
    // no CAP_SYS_RESOURCE: podman's default nofile=1048576 is above the hard limit
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    ...runtimeLines,
    "[network]",
    'network_backend = "cni"',
    'cni_plugin_dirs = ["/usr/lib/cni"]',
    `network_config_dir = "${join(dir, "net.d")}"`,
    `default_network = "${NETWORK}"`,
    "",
  ].join("\n");
}


let clientLock: HeldLock | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  clientLock = await holdClientLock("podman");
  requireCommands(PODMAN_COMMANDS);
  chainsBefore = iptablesChains();
  for (const h of cgroupHierarchies()) if (existsSync(join(h, CGROUP_PARENT))) cgroupParentsBefore.add(h);
  if (existsSync(NETNS_DIR)) for (const ns of readdirSync(NETNS_DIR)) netnsBefore.add(ns);
  for (const d of HOST_DIRS) if (existsSync(d)) hostDirsBefore.add(d);
  deleteLink(BRIDGE); // left by a run that was killed
  dir = mkdtempSync(join(tmpdir(), "berth-podman-"));
  for (const d of ["root", "runroot", "tmp", "net.d", "cni-ipam"]) mkdirSync(join(dir, d), { recursive: true });
  registry = await startRegistryWithBusybox(dir);
  image = registry.image;
  writeFileSync(join(dir, "containers.conf"), containersConf([]));
  writeFileSync(
    join(dir, "containers-named.conf"),
    containersConf([
      'runtime = "berth"',
      // without "berth" here conmon passes no --log-format=json --log FILE to it
      'runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "berth"]',
      "[engine.runtimes]",
      `berth = ["${RUNTIME}"]`,
    ]),
  );
  writeFileSync(join(dir, "registries.conf"), `[[registry]]\nlocation = "${registry.address}"\ninsecure = true\n`);
  writeFileSync(join(dir, "net.d", `${NETWORK}.conflist`), bridgeConflist({ name: NETWORK, bridge: BRIDGE, prefix: SUBNET_PREFIX, ipamDir: join(dir, "cni-ipam"), portmap: true }));
  ok(podman(["pull", "--quiet", image]));
}, CLIENT_LOCK_HOOK_TIMEOUT + 180_000);

afterAll(async () => {
  try {
    if (!isRoot || !dir) return;
    // every container podman made here, including the --rm ones, from its event log
    const events = podman(["events", "--stream=false", "--filter", "type=container", "--filter", "event=create", "--format", "{{.ID}}"]);
    const ids = new Set(events.stdout.split("\n").map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l)));
    for (const ctr of ok(podman(["ps", "-a", "--no-trunc", "--format", "{{.ID}}"])).split("\n").filter(Boolean)) ids.add(ctr.trim());
    podman(["rm", "--all", "--force", "--time", "0"]);
    // conmon and the `podman container cleanup` it starts when a container exits: let them
    // finish, then kill whatever of our store is still running
    await until(() => pidsMentioning(dir).length === 0, 500);
    await killPids(pidsMentioning(dir));
    for (const id of ids) {
      if (existsSync(join(RUNTIME_ROOT, id))) runCommand([RUNTIME, "delete", "--force", id]);
      for (const h of cgroupHierarchies()) tryRmdir(join(h, CGROUP_PARENT, `libpod-${id}`));
    }
    // podman's parent (and conmon's cgroup in it), if this file made them: a process that
    // is exiting can keep them busy a moment
    const ours = cgroupHierarchies().filter((h) => !cgroupParentsBefore.has(h));
    await until(() => {
      for (const h of ours) {
        tryRmdir(join(h, CGROUP_PARENT, "conmon"));
        tryRmdir(join(h, CGROUP_PARENT));
      }
      return ours.every((h) => !existsSync(join(h, CGROUP_PARENT)));
    }, 300);
    await registry?.stop();
    removeTree(dir);
    deleteLink(BRIDGE);
    removeOurNetns();
    // CNI's cache of our network's results, if podman skipped a teardown (e.g. after a runtime crash)
    if (existsSync(CNI_CACHE)) for (const f of readdirSync(CNI_CACHE)) if (f.startsWith(`${NETWORK}-`)) rmSync(join(CNI_CACHE, f), { force: true });
    for (const d of HOST_DIRS) if (!hostDirsBefore.has(d)) tryRmdir(d); // only if empty: CNI is shared
    removeRulesMatching("nat", NETWORK);
    removeRulesMatching("filter", NETWORK);
    removeUnusedCniChains(chainsBefore);
  } finally {
    clientLock?.release();
  }
}, 180_000);

describe.skipIf(!isRoot)("podman --runtime berth-runtime", () => {
  test("run: the command's output and exit status come back", () => {
    const r = podman(["run", "--rm", image, "sh", "-c", "echo hi; echo to-stderr >&2"]);
    expect(r.stderr).toContain("to-stderr");
    expect(r).toMatchObject({ code: 0, stdout: "hi\n" });
    expect(podman(["run", "--rm", image, "sh", "-c", "exit 7"]).code).toBe(7);
  });

  test("a missing command exits 127, a non-executable one 126, as with runc", () => {
    const missing = podman(["run", "--rm", image, "/nonexistent"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no such file or directory|executable file not found/);
    expect(podman(["run", "--rm", image, "nosuchcommand"]).code).toBe(127);
    const notExecutable = podman(["run", "--rm", image, "/etc/passwd"]);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stderr).toMatch(/permission denied/);
  });

  test("run -d, logs, top, stats, pause/unpause, update, stop (SIGTERM), rm", async () => {
    const ctr = name("life");
    const { id, pid } = await started(ctr, WAITER);
    expect(inspect(ctr, "{{.State.Status}}")).toBe("running");
    expect(pid).toBeGreaterThan(0);
    // the init runs in its own pid namespace, in the cgroup podman asked for
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/NSpid:\s+\d+\s+1\n/);
    const memory = cgroupDirOf(pid, "memory");
    expect(memory).toEndWith(`${CGROUP_PARENT}/libpod-${id}`);

    expect(ok(podman(["logs", ctr]))).toBe("ready\n");

    const top = ok(podman(["top", ctr, "pid", "args"]));
    expect(top).toMatch(/^\s*1\s+sh -c /m);
    expect(top).toMatch(/sleep 1000/);

    const stats = JSON.parse(ok(podman(["stats", "--no-stream", "--format", "json", ctr]))) as Array<Record<string, string>>;
    expect(stats).toHaveLength(1);
    expect(stats[0]!.name).toBe(ctr);
    expect(Number(stats[0]!.pids)).toBeGreaterThanOrEqual(2); // sh and sleep
    expect(stats[0]!.mem_usage).toMatch(/[1-9]/);

    const freezer = cgroupDirOf(pid, "freezer");
    const frozen = (): string => {
      if (existsSync(join(freezer, "freezer.state"))) return readFileSync(join(freezer, "freezer.state"), "utf8").trim();
      return readFileSync(join(freezer, "cgroup.freeze"), "utf8").trim() === "1" ? "FROZEN" : "THAWED"; // v2
    };
    ok(podman(["pause", ctr]));
    expect(inspect(ctr, "{{.State.Status}}")).toBe("paused");
    expect(frozen()).toBe("FROZEN");
    ok(podman(["unpause", ctr]));
    expect(inspect(ctr, "{{.State.Status}}")).toBe("running");
    expect(frozen()).toBe("THAWED");

    ok(podman(["update", "--memory", "64m", "--cpus", "0.5", ctr]));
    if (existsSync(join(memory, "memory.limit_in_bytes"))) {
      expect(readFileSync(join(memory, "memory.limit_in_bytes"), "utf8").trim()).toBe("67108864");
      expect(readFileSync(join(cgroupDirOf(pid, "cpu"), "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
    } else {
      expect(readFileSync(join(memory, "memory.max"), "utf8").trim()).toBe("67108864");
      expect(readFileSync(join(memory, "cpu.max"), "utf8").trim()).toBe("50000 100000");
    }

    ok(podman(["stop", "--time", "60", ctr]));
    expect(inspect(ctr, "{{.State.Status}} {{.State.ExitCode}}")).toBe("exited 3");
    expect(ok(podman(["logs", ctr]))).toBe("ready\nbye\n");
    expect(existsSync(`/proc/${pid}`)).toBe(false);

    ok(podman(["rm", ctr]));
    expect(podman(["container", "exists", ctr]).code).toBe(1);
    // podman's cleanup ran `delete --force`: no runtime state, no cgroup left
    expect(existsSync(join(RUNTIME_ROOT, id))).toBe(false);
    expect(existsSync(memory)).toBe(false);
  });

  test("kill: a signal by name reaches the container's trap; the default is SIGKILL (137)", async () => {
    const a = name("kill");
    await started(a, WAITER);
    ok(podman(["kill", "--signal", "USR1", a]));
    expect(ok(podman(["wait", a])).trim()).toBe("10");
    expect(ok(podman(["logs", a]))).toContain("got-usr1");

    const b = name("kill");
    await started(b, WAITER);
    ok(podman(["kill", b]));
    expect(ok(podman(["wait", b])).trim()).toBe("137");
    ok(podman(["rm", a, b]));
  });

  test("--init: catatonit is PID 1 and the command runs under it", () => {
    const r = podman(["run", "--rm", "--init", image, "sh", "-c", "echo $$; tr '\\0' ' ' < /proc/1/cmdline"]);
    expect(r.code).toBe(0);
    const [shPid, init] = r.stdout.split("\n");
    expect(Number(shPid)).toBeGreaterThan(1);
    expect(init).toStartWith("/run/podman-init");
  });

  test("-p 127.0.0.1:PORT:80 on the default network: busybox httpd answers through the port mapping", async () => {
    const port = await freeLoopbackPort();
    const ctr = name("web");
    ok(podman(["run", "-d", "--name", ctr, "-p", `127.0.0.1:${port}:80`, image, "httpd", "-f", "-p", "80", "-h", "/www"]));
    expect(inspect(ctr, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")).toStartWith(SUBNET_PREFIX);
    let body: string | undefined;
    expect(await until(async () => (body = await httpGet(`http://127.0.0.1:${port}/`)) !== undefined, 300)).toBe(true);
    expect(body).toBe("hello from busybox httpd\n");
    // httpd as PID 1 ignores SIGTERM: -t 0 goes straight to SIGKILL
    ok(podman(["rm", "--force", "--time", "0", ctr]));
  });
});

describe.skipIf(!isRoot)("podman: needs exec", () => {
  test("exec runs in the container's namespaces and returns the command's status", async () => {
    const ctr = name("exec");
    const { id, pid } = await started(ctr, WAITER);
    const r = podman(["exec", ctr, "sh", "-c", "for t in pid net mnt; do readlink /proc/self/ns/$t; done; hostname; exit 5"]);
    expect(r.code).toBe(5);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["pid", "net", "mnt"].map((t) => readlinkSync(`/proc/${pid}/ns/${t}`)));
    expect(lines[3]).toBe(id.slice(0, 12));
    // -i: stdin reaches the process
    expect(podman(["exec", "-i", ctr, "cat"], { input: "piped in\n" })).toMatchObject({ code: 0, stdout: "piped in\n" });
    // as a user, in a directory, with an env var
    expect(ok(podman(["exec", "--user", "65534:65534", "--workdir", "/tmp", "--env", "GREETING=hello", ctr, "sh", "-c", "id -u; id -g; pwd; echo $GREETING"]))).toBe("65534\n65534\n/tmp\nhello\n");
    ok(podman(["rm", "--force", "--time", "0", ctr]));
  });

  test("exec of a missing command exits 127, of a non-executable one 126", async () => {
    const ctr = name("execfail");
    await started(ctr, WAITER);
    expect(podman(["exec", ctr, "/nonexistent"]).code).toBe(127);
    expect(podman(["exec", ctr, "nosuchcommand"]).code).toBe(127);
    expect(podman(["exec", ctr, "/etc/passwd"]).code).toBe(126);
    ok(podman(["rm", "--force", "--time", "0", ctr]));
  });

  test("exec -d: a detached exec process runs in the container", async () => {
    const ctr = name("execd");
    const { pid } = await started(ctr, WAITER);
    ok(podman(["exec", "-d", ctr, "sh", "-c", "echo detached > /tmp/marker; exec sleep 999"]));
    expect(await until(() => podman(["exec", ctr, "cat", "/tmp/marker"]).stdout === "detached\n", 300)).toBe(true);
    expect(ok(podman(["top", ctr, "args"]))).toMatch(/^sleep 999/m);
    expect(readFileSync(join(cgroupDirOf(pid, "pids"), "cgroup.procs"), "utf8").trim().split("\n").length).toBeGreaterThanOrEqual(3);
    ok(podman(["rm", "--force", "--time", "0", ctr]));
  });
});

describe.skipIf(!isRoot)("podman: needs a terminal", () => {
  test("run -t: the command's stdio is a pty", () => {
    const r = podman(["run", "--rm", "-t", image, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys"]);
    expect(r.code).toBe(0);
    expect(r.stdout.replaceAll("\r", "")).toBe("/dev/pts/0\nall-ttys\n");
  });

  test("exec -t: a pty for the exec'd process; its exit status comes back", async () => {
    const ctr = name("exect");
    await started(ctr, WAITER);
    const r = podman(["exec", "-t", ctr, "sh", "-c", "tty; exit 4"]);
    expect(r.code).toBe(4);
    expect(r.stdout.replaceAll("\r", "")).toMatch(/^\/dev\/pts\/\d+\n$/);
    ok(podman(["rm", "--force", "--time", "0", ctr]));
  });
});

describe.skipIf(!isRoot)("podman with berth as a named runtime in containers.conf (JSON log)", () => {
  test("podman info reports berth-runtime; run and a detached lifecycle work", async () => {
    const info = ok(podmanNamed(["info", "--format", "{{.Host.OCIRuntime.Name}}|{{.Host.OCIRuntime.Path}}|{{.Host.OCIRuntime.Version}}"]));
    const [runtimeName, path, version] = info.trim().split("|");
    expect(runtimeName).toBe("berth");
    expect(path).toBe(RUNTIME);
    expect(version).toContain(RUNTIME.endsWith("berth-runtime") ? "berth-runtime" : "version");

    expect(podmanNamed(["run", "--rm", image, "echo", "named"])).toMatchObject({ code: 0, stdout: "named\n" });
    const ctr = name("named");
    const { id } = await started(ctr, WAITER, [], podmanNamed);
    expect(inspect(ctr, "{{.OCIRuntime}}", podmanNamed)).toBe("berth");
    ok(podmanNamed(["stop", "--time", "60", ctr]));
    expect(inspect(ctr, "{{.State.ExitCode}}", podmanNamed)).toBe("3");
    ok(podmanNamed(["rm", ctr]));
    expect(existsSync(join(RUNTIME_ROOT, id))).toBe(false);
  });

  test("errors come from berth's JSON log: 127 for a missing command, 126 for a non-executable one", () => {
    // not --rm, to read the log conmon asked for (--log-format=json --log userdata/oci-log)
    const ctr = name("namedfail");
    const missing = podmanNamed(["run", "--name", ctr, image, "/nonexistent"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("/nonexistent");
    const id = inspect(ctr, "{{.Id}}", podmanNamed);
    const log = readFileSync(join(dir, "runroot", "overlay-containers", id, "userdata", "oci-log"), "utf8");
    const last = JSON.parse(log.trim().split("\n").at(-1)!) as { level: string; msg: string; time: string };
    expect(last.level).toBe("error");
    expect(last.msg).toContain("/nonexistent");
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
    ok(podmanNamed(["rm", ctr]));

    const notExecutable = podmanNamed(["run", "--rm", image, "/etc/passwd"]);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stderr).toContain("/etc/passwd");
  });
});

describe.skipIf(!isRoot)("podman leaves nothing behind", () => {
  test("no runtime state or container cgroup survives the containers podman removed", () => {
    const events = ok(podman(["events", "--stream=false", "--filter", "type=container", "--filter", "event=remove", "--format", "{{.ID}}"]));
    const removed = events.split("\n").map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
    const stateLeft = removed.filter((id) => existsSync(join(RUNTIME_ROOT, id)));
    const cgroupsLeft = removed.filter((id) => cgroupHierarchies().some((h) => existsSync(join(h, CGROUP_PARENT, `libpod-${id}`))));
    expect({ stateLeft, cgroupsLeft }).toEqual({ stateLeft: [], cgroupsLeft: [] });
  });
});


/**
 * Network namespaces podman made for our containers and did not remove (it skips the
 * teardown when the runtime fails unexpectedly): new since beforeAll and holding an
 * address on our subnet. `ip netns delete` unmounts and removes them, and their veths go.
 */
function removeOurNetns(): void {
  if (!existsSync(NETNS_DIR)) return;
  for (const ns of readdirSync(NETNS_DIR)) {
    if (netnsBefore.has(ns) || !ns.startsWith("netns-")) continue;
    const addrs = runCommand(["ip", "-n", ns, "-4", "-o", "addr"]).stdout;
    if (addrs.includes(` ${SUBNET_PREFIX}`)) runCommand(["ip", "netns", "delete", ns]);
  }
}

