/**
 * A real containerd 1.6 for the client tests: its own root, state, socket, opt and
 * runtime-state directories under one work dir, the CRI plugin on or off, and a stop()
 * that leaves nothing behind — tasks and shims killed by PID, mounts (rootfs, netns)
 * detached, shim sockets in /run/containerd/s removed, the test's cgroups removed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type CommandResult, requireCommands, runCommand, TOOL_PATH } from "./client-env.ts";

/** The commands these tests run, with the Debian package that provides each. */
export const CONTAINERD_COMMANDS: Record<string, string> = {
  containerd: "containerd",
  ctr: "containerd",
  "containerd-shim-runc-v2": "containerd",
};

/** What the CRI test needs on top: CNI plugins for the pod network and iproute2 to remove its bridge. */
export const CNI_COMMANDS: Record<string, string> = {
  "/usr/lib/cni/bridge": "containernetworking-plugins",
  "/usr/lib/cni/host-local": "containernetworking-plugins",
  "/usr/lib/cni/loopback": "containernetworking-plugins",
  ip: "iproute2",
};

/** The CRI plugin's settings: a runtime handler for berth-runtime, a local registry, a private CNI config dir. */
export interface CriOptions {
  /** the handler name a Kubernetes RuntimeClass selects (`runtimes.<handler>`) */
  handler: string;
  /** BinaryName of that handler */
  runtimeBinary: string;
  /** host:port of the plain-HTTP registry on 127.0.0.1 */
  registry: string;
  /** the pause image for sandboxes */
  sandboxImage: string;
  /** directory holding the CNI conflist the plugin uses */
  cniConfDir: string;
}

export interface ContainerdOptions {
  /** enable the CRI plugin (disabled otherwise: the ctr tests need no CNI) */
  cri?: CriOptions;
  /** cgroup parents (e.g. "/berth-cri-123") the test puts containers under; stop() removes them */
  cgroupParents?: string[];
}

export interface Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  /** where the shim's runtime keeps state: the runtime runs with --root <runtimeRoot>/<namespace> */
  readonly runtimeRoot: string;
  /** containerd's task state dir: bundles live in <stateDir>/io.containerd.runtime.v2.task/<ns>/<id> */
  readonly stateDir: string;
  /** `ctr --address <socket> -n <namespace> ARGS` */
  ctr(namespace: string, args: string[], opts?: { timeoutMs?: number; input?: string }): CommandResult;
  /** stop everything this daemon started; safe to call twice */
  stop(): Promise<void>;
}

/**
 * Start containerd with a private config under `workdir` and wait until it answers.
 * @example
 *   const cd = await startContainerd(dir);
 *   await cd.ctr("berth-test", ["images", "pull", "--plain-http", image]);
 *   await cd.stop();
 */
export async function startContainerd(workdir: string, options: ContainerdOptions = {}): Promise<Containerd> {
  requireCommands(CONTAINERD_COMMANDS);
  const dir = join(workdir, "containerd");
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "containerd.sock");
  const runtimeRoot = join(dir, "runtime-root");
  const stateDir = join(dir, "state");
  const config = join(dir, "config.toml");
  writeFileSync(config, configToml(dir, runtimeRoot, options.cri));
  const log = Bun.file(join(dir, "containerd.log"));
  // PATH: containerd finds containerd-shim-runc-v2 there, and the shim finds the runtime
  const proc = Bun.spawn(["containerd", "--config", config], { stdin: "ignore", stdout: log, stderr: log, env: { ...process.env, PATH: TOOL_PATH } });
  let stopped = false;

  const ctr = (namespace: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}) =>
    runCommand(["ctr", "--address", socket, "--namespace", namespace, ...args], { timeoutMs: opts.timeoutMs ?? 120_000, input: opts.input });

  const daemon: Containerd = {
    dir,
    socket,
    pid: proc.pid,
    runtimeRoot,
    stateDir,
    ctr,
    async stop() {
      if (stopped) return;
      stopped = true;
      await teardown({ dir, proc, ctr, runtimeRoot, stateDir, runtime: options.cri?.runtimeBinary, cgroupParents: options.cgroupParents ?? [] });
    },
  };

  // ready when the socket answers a version request (or the daemon died: its log says why)
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await daemon.stop();
      throw new Error(`containerd exited with ${proc.exitCode}: ${tail(join(dir, "containerd.log"))}`);
    }
    if (existsSync(socket) && ctr("default", ["version"], { timeoutMs: 5000 }).code === 0) break;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(`containerd did not answer on ${socket}: ${tail(join(dir, "containerd.log"))}`);
    }
    await Bun.sleep(50);
  }
  return daemon;
}

function configToml(dir: string, runtimeRoot: string, cri: CriOptions | undefined): string {
  const lines = [
    "version = 2",
    `root = ${q(join(dir, "root"))}`,
    `state = ${q(join(dir, "state"))}`,
    // the ctr tests need neither CRI nor CNI; leaving it out also keeps its stream server off
    ...(cri ? [] : [`disabled_plugins = ["io.containerd.grpc.v1.cri"]`]),
    "[grpc]",
    `  address = ${q(join(dir, "containerd.sock"))}`,
    "[ttrpc]",
    `  address = ${q(join(dir, "containerd.sock.ttrpc"))}`,
    "[debug]",
    `  address = ${q(join(dir, "debug.sock"))}`,
    `  level = "info"`,
    "[plugins]",
    `  [plugins."io.containerd.internal.v1.opt"]`,
    `    path = ${q(join(dir, "opt"))}`,
  ];
  if (cri) {
    const p = `plugins."io.containerd.grpc.v1.cri"`;
    const rt = `${p}.containerd.runtimes.${cri.handler}`;
    lines.push(
      `  [${p}]`,
      `    sandbox_image = ${q(cri.sandboxImage)}`,
      "    disable_tcp_service = true",
      // the sandbox's oom_score_adj -998 needs CAP_SYS_RESOURCE, which CI's root may lack
      "    restrict_oom_score_adj = true",
      `    stream_server_address = "127.0.0.1"`,
      // sandbox netns bind mounts under our state dir, not /var/run/netns
      "    netns_mounts_under_state_dir = true",
      `    [${p}.cni]`,
      `      bin_dir = "/usr/lib/cni"`,
      `      conf_dir = ${q(cri.cniConfDir)}`,
      `    [${p}.containerd]`,
      `      snapshotter = "overlayfs"`,
      `      default_runtime_name = "runc"`,
      `      [${p}.containerd.runtimes.runc]`,
      `        runtime_type = "io.containerd.runc.v2"`,
      `        [${p}.containerd.runtimes.runc.options]`,
      `          Root = ${q(runtimeRoot)}`,
      `      [${rt}]`,
      `        runtime_type = "io.containerd.runc.v2"`,
      `        [${rt}.options]`,
      `          BinaryName = ${q(cri.runtimeBinary)}`,
      `          Root = ${q(runtimeRoot)}`,
      "          SystemdCgroup = false",
      `    [${p}.registry.mirrors.${q(cri.registry)}]`,
      `      endpoint = [${q(`http://${cri.registry}`)}]`,
    );
  }
  return lines.join("\n") + "\n";
}

const q = (s: string) => JSON.stringify(s);

interface TeardownParts {
  dir: string;
  proc: Subprocess;
  ctr: Containerd["ctr"];
  runtimeRoot: string;
  stateDir: string;
  runtime: string | undefined;
  cgroupParents: string[];
}

async function teardown({ dir, proc, ctr, runtimeRoot, stateDir, runtime, cgroupParents }: TeardownParts): Promise<void> {
  // 1. through containerd while it runs: kill and delete every task and container it knows
  if (proc.exitCode === null) {
    const namespaces = ctr("default", ["namespaces", "ls", "-q"], { timeoutMs: 15_000 }).stdout.split("\n").filter(Boolean);
    for (const ns of namespaces) {
      const tasks = ctr(ns, ["tasks", "ls", "-q"], { timeoutMs: 15_000 });
      for (const id of tasks.stdout.split("\n").filter(Boolean)) {
        ctr(ns, ["tasks", "kill", "--all", "--signal", "SIGKILL", id], { timeoutMs: 15_000 });
        ctr(ns, ["tasks", "delete", "--force", id], { timeoutMs: 15_000 });
      }
      const containers = ctr(ns, ["containers", "ls", "-q"], { timeoutMs: 15_000 });
      for (const id of containers.stdout.split("\n").filter(Boolean)) ctr(ns, ["containers", "delete", id], { timeoutMs: 15_000 });
    }
  }
  // 2. the daemon, by PID
  await stopProcess(proc.pid, () => proc.exitCode !== null || proc.signalCode !== null);
  // 3. shims still serving our bundles (their cwd is the bundle dir), by PID, and their sockets
  for (const pid of shimPidsUnder(stateDir)) await stopProcess(pid, () => !existsSync(`/proc/${pid}`));
  for (const bundle of bundleDirs(stateDir)) {
    try {
      const address = readFileSync(join(bundle, "address"), "utf8").trim();
      if (address.startsWith("unix://")) rmSync(address.slice("unix://".length), { force: true });
    } catch {
      // no address file: the shim never started or removed it
    }
  }
  // 4. containers the runtime still holds (a shim killed before it deleted them)
  if (existsSync(runtimeRoot)) {
    for (const ns of readdirSync(runtimeRoot)) {
      for (const id of readdirSync(join(runtimeRoot, ns))) {
        const bin = runtime ?? runtimeNamed(stateDir, ns, id);
        if (bin) runCommand([bin, "--root", join(runtimeRoot, ns), "delete", "--force", id], { timeoutMs: 30_000 });
      }
    }
  }
  // 5. mounts under the work dir (rootfs overlays, netns bind mounts, shm), deepest first
  unmountUnder(dir);
  // 6. cgroups: the parents the test used, and ctr's default parent per namespace
  for (const parent of cgroupParents) removeCgroupTree(parent);
  rmSync(dir, { recursive: true, force: true });
  // shim sockets and ctr's default fifo dir; left alone when another containerd uses them
  for (const d of ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd"]) {
    try {
      rmdirSync(d);
    } catch {
      // not empty: someone else's, or absent
    }
  }
}

/** SIGTERM, then SIGKILL if it is still there after a grace period. */
async function stopProcess(pid: number, gone: () => boolean): Promise<void> {
  if (gone()) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (!gone() && Date.now() < deadline) await Bun.sleep(20);
  if (gone()) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  while (!gone()) await Bun.sleep(20);
}

function bundleDirs(stateDir: string): string[] {
  const tasks = join(stateDir, "io.containerd.runtime.v2.task");
  if (!existsSync(tasks)) return [];
  return readdirSync(tasks).flatMap((ns) => readdirSync(join(tasks, ns)).map((id) => join(tasks, ns, id)));
}

/** containerd-shim-runc-v2 processes whose working directory is one of our bundles. */
export function shimPidsUnder(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "containerd-shim") continue;
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(stateDir + "/")) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The runtime binary the shim recorded for a bundle (<bundle>/runtime, written by the shim). */
function runtimeNamed(stateDir: string, ns: string, id: string): string | undefined {
  try {
    return readFileSync(join(stateDir, "io.containerd.runtime.v2.task", ns, id, "runtime"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Detach every mount at or below `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(dir + "/")))
    .map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  for (const m of [...new Set(mounts)].sort((a, b) => b.length - a.length)) {
    Bun.spawnSync(["umount", "--lazy", m], { stdout: "ignore", stderr: "ignore" });
  }
}

/** The cgroup directories for `path` (e.g. "/berth-ctr-1") in every hierarchy of this host. */
export function cgroupDirs(path: string): string[] {
  const base = "/sys/fs/cgroup";
  if (existsSync(join(base, "cgroup.controllers"))) return [join(base, path)].filter(existsSync);
  return readdirSync(base)
    .map((h) => join(base, h, path))
    .filter((d) => existsSync(d));
}

/** rmdir a cgroup subtree in every hierarchy, children first (cgroupfs allows only rmdir). */
export function removeCgroupTree(path: string): void {
  const remove = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      // still has a process: the teardown above failed, and the test's leak check says so
    }
  };
  for (const d of cgroupDirs(path)) remove(d);
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join("\n");
  } catch {
    return "(no log)";
  }
}
