/**
 * The Kubernetes path: containerd's CRI plugin with a runtime handler "berth" (what a
 * RuntimeClass with `handler: berth` selects) whose BinaryName is berth-runtime. A small
 * CRI client makes kubelet's calls for one pod: the sandbox (pause image) on a private
 * CNI bridge, an app container that joins the sandbox's namespaces by path, ExecSync,
 * ContainerStats, UpdateContainerResources, then Stop/Remove of both. The daemon,
 * registry, bridge, IPAM state, netns mounts and cgroups are all removed at the end.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { berth } from "../observe-fixture.ts";
import { RUNTIME } from "../runtime-harness.ts";
import { CLIENT_LOCK_HOOK_TIMEOUT, bridgeConflist, deleteLink, isRoot, requireCommands, runCommand, until, holdClientLock } from "./client-env.ts";
import type { HeldLock } from "../../src/sys/lock-file.ts";
import { CNI_COMMANDS, CONTAINERD_COMMANDS, type Containerd, cgroupDirs, shimPidsUnder, startContainerd } from "./containerd.ts";
import { type ContainerConfig, CriClient, type PodSandboxConfig } from "./cri-client.ts";
import { type LocalRegistry, startRegistryWithBusybox } from "./registry.ts";

setDefaultTimeout(90_000);

const HANDLER = "berth";
/** CRI's containerd namespace: the runtime's --root is <runtimeRoot>/k8s.io. */
const K8S_NS = "k8s.io";
const CG_PARENT = `/berth-cri-${process.pid}`;
// a private bridge and subnet; no masquerade and no portmap, so no iptables rules
const NETWORK = `berth-cri-${process.pid}`;
const BRIDGE = `bcri${process.pid % 1_000_000}`;
// its own subnet: podman.test.ts uses 10.79.0.0/24, docker.test.ts 10.80.0.0/24
const SUBNET_PREFIX = "10.81.0.";

let work = "";
let registry: LocalRegistry | undefined;
let cd: Containerd | undefined;
let cri: CriClient | undefined;
let image = "";

let clientLock: HeldLock | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  clientLock = await holdClientLock("cri");
  requireCommands({ ...CONTAINERD_COMMANDS, ...CNI_COMMANDS });
  work = mkdtempSync(join(tmpdir(), "berth-cri-"));
  registry = await startRegistryWithBusybox(work);
  image = registry.image;
  const cniConfDir = join(work, "cni-conf");
  mkdirSync(cniConfDir);
  writeFileSync(join(cniConfDir, "10-berth-cri.conflist"), bridgeConflist({ name: NETWORK, bridge: BRIDGE, prefix: SUBNET_PREFIX, ipamDir: join(work, "ipam") }));
  cd = await startContainerd(work, {
    cri: { handler: HANDLER, runtimeBinary: RUNTIME, registry: registry.address, sandboxImage: registry.pause, cniConfDir },
    cgroupParents: [CG_PARENT],
  });
  cri = new CriClient(cd.socket);
  // the plugin loads the CNI config in the background: NetworkReady says when
  const ready = await until(async () => (await cri!.status()).status.conditions.every((c) => c.status), 3000);
  if (!ready) throw new Error(`CRI not ready: ${JSON.stringify((await cri.status()).status.conditions)}`);
  await cri.pullImage(image);
}, CLIENT_LOCK_HOOK_TIMEOUT + 600_000);

afterAll(async () => {
  try {
    // kubelet's teardown first, so CNI DEL runs and releases the address; then the daemon
    if (cri) {
      try {
        for (const c of await cri.listContainers()) {
          await cri.stopContainer(c.id, 0).catch(() => {});
          await cri.removeContainer(c.id).catch(() => {});
        }
        for (const p of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(p.id).catch(() => {});
          await cri.removePodSandbox(p.id).catch(() => {});
        }
      } catch {
        // the daemon is gone; stop() below still removes what it left
      }
      cri.close();
    }
    await cd?.stop();
    await registry?.stop();
    deleteLink(BRIDGE);
    removeCniCache();
    if (work) rmSync(work, { recursive: true, force: true });
  } finally {
    clientLock?.release();
  }
}, 180_000);


/**
 * libcni caches each attachment's result in /var/lib/cni/results: <network>-<id>-<if> for
 * our bridge, and cni-loopback-<id>-lo for the loopback the CRI plugin adds, which names
 * the sandbox's netns (under our work dir). CNI DEL removes them; a killed pod leaves them.
 */
function cniCacheFiles(): string[] {
  const dir = "/var/lib/cni/results";
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${NETWORK}-`) || (f.startsWith("cni-loopback-") && readOrEmpty(join(dir, f)).includes(work + "/")))
    .map((f) => join(dir, f));
}

/** Another user's cache file can go between readdir and read. */
function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function removeCniCache(): void {
  for (const f of cniCacheFiles()) rmSync(f, { force: true });
}

function client(): CriClient {
  if (!cri) throw new Error("containerd's CRI plugin did not start (see beforeAll)");
  return cri;
}

const daemon = () => cd!;
const runtimeRoot = () => join(daemon().runtimeRoot, K8S_NS);
const bundle = (id: string) => join(daemon().stateDir, "io.containerd.runtime.v2.task", K8S_NS, id);

/** berth-runtime's own view of a container the shim made: proof that the handler ran berth. */
function berthState(id: string): { status: string; pid: number } & Record<string, unknown> {
  const r = runCommand([RUNTIME, "--root", runtimeRoot(), "state", id]);
  if (r.code !== 0) throw new Error(`berth-runtime state ${id}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

const nsLink = (pid: number, ns: string) => runCommand(["readlink", `/proc/${pid}/ns/${ns}`]).stdout.trim();

/** The pid containerd reports for a sandbox or container (verbose status info). */
async function sandboxPid(id: string): Promise<number> {
  const s = await client().podSandboxStatus(id, true);
  return JSON.parse(s.info.info!).pid;
}

async function containerPid(id: string): Promise<number> {
  const s = await client().containerStatus(id, true);
  return JSON.parse(s.info.info!).pid;
}

async function waitState(id: string, state: string): Promise<boolean> {
  return until(async () => (await client().containerStatus(id)).status.state === state, 3000);
}

/** A cgroup file of a container, wherever this host keeps it (v1 controller or unified). */
function cgroupFile(id: string, v1Controller: string, file: string): string {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return readFileSync(join("/sys/fs/cgroup", CG_PARENT, "pod", id, file), "utf8").trim();
  return readFileSync(join("/sys/fs/cgroup", v1Controller, CG_PARENT, "pod", id, file), "utf8").trim();
}

const namespaceOptions = { network: "POD", pid: "CONTAINER", ipc: "POD" } as const;
const logDir = () => join(work, "pod-logs");
const sandboxConfig = (): PodSandboxConfig => ({
  metadata: { name: "berth-pod", uid: `uid-${process.pid}`, namespace: "default", attempt: 0 },
  hostname: "berth-pod",
  log_directory: logDir(),
  labels: { test: "berth-cri" },
  linux: { cgroup_parent: `${CG_PARENT}/pod`, security_context: { namespace_options: namespaceOptions } },
});

function containerConfig(name: string, command: string[]): ContainerConfig {
  // kubelet repeats the pod's namespace options in every container's config
  return {
    metadata: { name },
    image: { image },
    command,
    log_path: `${name}.log`,
    linux: { resources: {}, security_context: { namespace_options: namespaceOptions } },
  };
}

// the pod and its long-running container, shared by the tests below in order
let pod = "";
let podPid = 0;
let sleeper = "";

function needPod(): string {
  if (!pod) throw new Error("no pod sandbox: RunPodSandbox failed above");
  return pod;
}

function needSleeper(): string {
  if (!sleeper) throw new Error("no app container: CreateContainer/StartContainer failed above");
  return sleeper;
}

describe.skipIf(!isRoot)("containerd CRI: a pod with runtime handler berth", () => {
  test("Version and Status: the CRI plugin answers, runtime and network ready", async () => {
    const v = await client().version();
    expect(v.runtime_name).toBe("containerd");
    expect(v.runtime_api_version).toBe("v1");
    const conditions = Object.fromEntries((await client().status()).status.conditions.map((c) => [c.type, c.status]));
    expect(conditions).toEqual({ RuntimeReady: true, NetworkReady: true });
  });

  test("RunPodSandbox: the pause container runs under berth-runtime in a CNI network namespace", async () => {
    mkdirSync(logDir(), { recursive: true });
    pod = await client().runPodSandbox(sandboxConfig(), HANDLER);
    const s = await client().podSandboxStatus(pod, true);
    expect(s.status.state).toBe("SANDBOX_READY");
    expect(s.status.runtime_handler).toBe(HANDLER);
    expect(s.status.network?.ip.startsWith(SUBNET_PREFIX)).toBe(true);
    podPid = JSON.parse(s.info.info!).pid;
    const st = berthState(pod);
    expect(st.status).toBe("running");
    expect(st.pid).toBe(podPid);
    // its own network, uts and ipc namespaces; the netns is the one CNI set up
    for (const ns of ["net", "uts", "ipc", "pid"]) expect(nsLink(podPid, ns)).not.toBe(nsLink(process.pid, ns));
    const spec = JSON.parse(readFileSync(join(bundle(pod), "config.json"), "utf8"));
    const netns = spec.linux.namespaces.find((n: { type: string }) => n.type === "network").path as string;
    expect(netns.startsWith(daemon().stateDir)).toBe(true); // netns_mounts_under_state_dir
    expect(runCommand(["readlink", `/proc/${podPid}/ns/net`]).stdout.trim()).toBe(nsLinkOfFile(netns));
    // the pause image's process, with the hostname the pod asked for
    expect(readFileSync(`/proc/${podPid}/cmdline`, "utf8")).toContain("trap");
    expect(readFileSync(`/proc/${podPid}/cgroup`, "utf8")).toContain(`${CG_PARENT}/pod/${pod}`);
  });

  test("CreateContainer + StartContainer: the app container joins the sandbox's namespaces by path", async () => {
    const p = needPod();
    sleeper = await client().createContainer(p, containerConfig("sleeper", ["sh", "-c", 'trap "exit 0" TERM; echo up; while :; do sleep 0.1; done']), sandboxConfig());
    expect((await client().containerStatus(sleeper)).status.state).toBe("CONTAINER_CREATED");
    // containerd's CRI makes the runtime container (create + start) in StartContainer
    expect(existsSync(join(runtimeRoot(), sleeper))).toBe(false);
    await client().startContainer(sleeper);
    expect((await client().containerStatus(sleeper)).status.state).toBe("CONTAINER_RUNNING");
    const pid = await containerPid(sleeper);
    expect(berthState(sleeper)).toMatchObject({ status: "running", pid });
    // the spec names the sandbox's namespaces by path, and the process is really in them
    const spec = JSON.parse(readFileSync(join(bundle(sleeper), "config.json"), "utf8"));
    const byType = Object.fromEntries(spec.linux.namespaces.map((n: { type: string; path?: string }) => [n.type, n.path ?? ""]));
    expect(byType).toMatchObject({ network: `/proc/${podPid}/ns/net`, ipc: `/proc/${podPid}/ns/ipc`, uts: `/proc/${podPid}/ns/uts`, pid: "", mount: "" });
    for (const ns of ["net", "ipc", "uts"]) expect(nsLink(pid, ns)).toBe(nsLink(podPid, ns));
    for (const ns of ["pid", "mnt"]) expect(nsLink(pid, ns)).not.toBe(nsLink(podPid, ns));
    expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(`${CG_PARENT}/pod/${sleeper}`);
    // its stdout reaches the CRI log file in the kubelet format: <time> stdout F <line>
    expect(await until(() => existsSync(join(logDir(), "sleeper.log")) && readFileSync(join(logDir(), "sleeper.log"), "utf8").includes(" stdout F up"), 3000)).toBe(true);
  });

  test("a container that exits: its exit code and output come back through CRI", async () => {
    const p = needPod();
    const id = await client().createContainer(p, containerConfig("echo", ["sh", "-c", "echo hi; echo oops >&2; exit 3"]), sandboxConfig());
    await client().startContainer(id);
    expect(await waitState(id, "CONTAINER_EXITED")).toBe(true);
    const s = (await client().containerStatus(id)).status;
    expect(s.exit_code).toBe(3);
    expect(s.reason).toBe("Error");
    const log = readFileSync(join(logDir(), "echo.log"), "utf8");
    expect(log).toMatch(/ stdout F hi\n/);
    expect(log).toMatch(/ stderr F oops\n/);
    // berth diagnose, with nothing of it left on the host but the CRI plugin's record
    const ctdRoot = join(cd!.dir, "root");
    const status = join(ctdRoot, "io.containerd.grpc.v1.cri", "containers", id, "status");
    const r = berth("diagnose", "--json", "--containerd-root", ctdRoot, id);
    expect(r.stderr).toBe("");
    const d = JSON.parse(r.stdout) as { verdict: string; target: Record<string, unknown>; findings: { evidence: string[] }[] };
    expect(d.target).toMatchObject({ kind: "container", runtime: "kubernetes", id, running: false });
    expect(d.verdict).toBe("not an OOM kill: exited by itself with code 3 — the program's own exit code: see its documentation or logs");
    expect(d.findings[0]!.evidence[0]).toStartWith(`${status}: exit code 3 (Error, finished `);
    await client().removeContainer(id);
    expect(existsSync(join(runtimeRoot(), id))).toBe(false);
    expect(cgroupDirs(`${CG_PARENT}/pod/${id}`)).toEqual([]);
  });

  test("ContainerStats: cpu and memory come from the cgroup berth-runtime made", async () => {
    const id = needSleeper();
    const stats = await client().containerStats(id);
    expect(stats.attributes.id).toBe(id);
    expect(Number(stats.cpu?.usage_core_nano_seconds?.value)).toBeGreaterThan(0);
    expect(Number(stats.memory?.working_set_bytes?.value ?? 0) + Number(stats.memory?.usage_bytes?.value ?? 0)).toBeGreaterThan(0);
  });

  test("UpdateContainerResources: new memory and cpu limits land in the container's cgroup", async () => {
    const id = needSleeper();
    const mib64 = 64 * 1024 * 1024;
    await client().updateContainerResources(id, { memory_limit_in_bytes: String(mib64), cpu_period: "100000", cpu_quota: "50000", cpu_shares: "512" });
    if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
      expect(cgroupFile(id, "", "memory.max")).toBe(String(mib64));
      expect(cgroupFile(id, "", "cpu.max")).toBe("50000 100000");
    } else {
      expect(cgroupFile(id, "memory", "memory.limit_in_bytes")).toBe(String(mib64));
      expect(cgroupFile(id, "cpu", "cpu.cfs_quota_us")).toBe("50000");
      expect(cgroupFile(id, "cpu", "cpu.cfs_period_us")).toBe("100000");
      expect(cgroupFile(id, "cpu", "cpu.shares")).toBe("512");
    }
    expect((await client().containerStatus(id)).status.state).toBe("CONTAINER_RUNNING");
  });
});

describe.skipIf(!isRoot)("containerd CRI: needs exec", () => {
  test("ExecSync: output and exit code of a command run inside the app container", async () => {
    const id = needSleeper();
    const a = await client().execSync(id, ["sh", "-c", "echo from-exec; echo err >&2"]);
    expect(a).toEqual({ stdout: "from-exec\n", stderr: "err\n", exit_code: 0 });
    const b = await client().execSync(id, ["sh", "-c", "exit 3"]);
    expect(b.exit_code).toBe(3);
  });

  test("ExecSync joins the container's namespaces: the pod's hostname and network, the container's pids", async () => {
    const id = needSleeper();
    const pid = await containerPid(id);
    const r = await client().execSync(id, ["sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr '\\0' ' '"]);
    expect(r.exit_code).toBe(0);
    const [hostname, net, pidns, init] = r.stdout.split("\n");
    expect(hostname).toBe("berth-pod");
    expect(net).toBe(nsLink(podPid, "net"));
    expect(pidns).toBe(nsLink(pid, "pid"));
    expect(init).toContain("while :");
  });

  test("ExecSync of a missing executable reports an error, and the container keeps running", async () => {
    const id = needSleeper();
    const r = await client()
      .execSync(id, ["/nonexistent"])
      .then((x) => `exit ${x.exit_code}: ${x.stderr}`)
      .catch((e: Error) => e.message);
    expect(r).toMatch(/no such file or directory|exit 127/i);
    expect((await client().containerStatus(id)).status.state).toBe("CONTAINER_RUNNING");
  });
});

describe.skipIf(!isRoot)("containerd CRI: stop and remove", () => {
  test("StopContainer sends SIGTERM through the runtime; RemoveContainer removes state, cgroup and bundle", async () => {
    const id = needSleeper();
    const pid = await containerPid(id);
    await client().stopContainer(id, 30);
    const s = (await client().containerStatus(id)).status;
    expect(s.state).toBe("CONTAINER_EXITED");
    expect(s.exit_code).toBe(0); // the trap ran: SIGTERM reached it, no SIGKILL was needed
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    await client().removeContainer(id);
    expect((await client().listContainers(needPod())).map((c) => c.id)).not.toContain(id);
    expect(existsSync(join(runtimeRoot(), id))).toBe(false);
    expect(existsSync(bundle(id))).toBe(false);
    expect(cgroupDirs(`${CG_PARENT}/pod/${id}`)).toEqual([]);
    sleeper = "";
  });

  test("StopPodSandbox and RemovePodSandbox: the pause process, netns, IP and sandbox state are gone", async () => {
    const p = needPod();
    const ipamFiles = () => (existsSync(join(work, "ipam", NETWORK)) ? readdirSync(join(work, "ipam", NETWORK)).filter((f) => f.startsWith(SUBNET_PREFIX)) : []);
    expect(ipamFiles().length).toBe(1);
    await client().stopPodSandbox(p);
    expect((await client().podSandboxStatus(p)).status.state).toBe("SANDBOX_NOTREADY");
    expect(existsSync(`/proc/${podPid}`)).toBe(false);
    expect(ipamFiles()).toEqual([]);
    expect(cniCacheFiles()).toEqual([]);
    await client().removePodSandbox(p);
    expect((await client().listPodSandbox()).map((s) => s.id)).not.toContain(p);
    expect(existsSync(join(runtimeRoot(), p))).toBe(false);
    expect(existsSync(bundle(p))).toBe(false);
    expect(cgroupDirs(`${CG_PARENT}/pod/${p}`)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(join(daemon().stateDir, "io.containerd.grpc.v1.cri"));
    pod = "";
  });
});

describe.skipIf(!isRoot)("containerd CRI: teardown", () => {
  test("stopping the daemon leaves no shim, mount, cgroup, netns or IPAM state behind", async () => {
    const d = daemon();
    // a pod still running when the daemon stops, as after a failed test
    const left = await client().runPodSandbox({ ...sandboxConfig(), metadata: { ...sandboxConfig().metadata, name: "left-running", uid: `left-${process.pid}` } }, HANDLER);
    const leftPid = await sandboxPid(left);
    client().close();
    cri = undefined;
    const daemonPid = d.pid;
    await d.stop();
    deleteLink(BRIDGE);
    removeCniCache();
    expect(existsSync(`/proc/${daemonPid}`)).toBe(false);
    expect(existsSync(`/proc/${leftPid}`)).toBe(false);
    expect(shimPidsUnder(d.stateDir)).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(work);
    expect(cgroupDirs(CG_PARENT)).toEqual([]);
    expect(existsSync(`/sys/class/net/${BRIDGE}`)).toBe(false);
    expect(cniCacheFiles()).toEqual([]);
    expect(existsSync(d.dir)).toBe(false);
  });
});

/** The namespace link of a bind-mounted nsfs file, like /proc/PID/ns/net reads. */
function nsLinkOfFile(file: string): string {
  const r = runCommand(["stat", "-L", "-c", "%i", file]);
  return `net:[${r.stdout.trim()}]`;
}
