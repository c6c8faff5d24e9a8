/**
 * podman on this host for tests (reference/clients.md): runc at /usr/sbin/runc (crun
 * refuses the hybrid layout), cgroupfs and file events (no systemd, no journald), and
 * rlimits at or below the hard limits (no CAP_SYS_RESOURCE).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCgroup } from "../src/cgroups/open-cgroup.ts";
import { removeTrees } from "../src/cgroups/teardown.ts";
import { canRunContainers, copySharedRootfs } from "./runtime-harness.ts";

/** statfs f_type of overlayfs: podman's overlay driver cannot sit on it (the cgv2 VM's root is one) */
const OVERLAYFS_MAGIC = 0x794c7630;

function onOverlay(path: string): boolean {
  try {
    return statfsSync(path).type === OVERLAYFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Where the default store cannot work, a private one with the vfs driver: tests pass
 * --rootfs, so no image layers are stacked. Discovery names its containers from
 * conmon's --name (containers.json is the default store's).
 */
const podmanPrivateStore = onOverlay(existsSync("/var/lib/containers") ? "/var/lib/containers" : "/var/lib");
/** podman's run root: where it keeps each container's oci-log (the runtime's --log) */
export const PODMAN_RUNROOT = podmanPrivateStore ? "/tmp/berth-podman/runroot" : "/run/containers/storage";
const STORE = podmanPrivateStore ? ["--storage-driver", "vfs", "--root", "/tmp/berth-podman/root", "--runroot", PODMAN_RUNROOT] : [];
export const PODMAN = ["podman", "--cgroup-manager", "cgroupfs", "--events-backend", "file", ...STORE];
export const hasPodman = canRunContainers && Bun.which("podman") !== null && Bun.which("runc") !== null;

type SpawnSyncOptions = Omit<NonNullable<Parameters<typeof Bun.spawnSync>[1]>, "cwd">;

/**
 * podman's working directory for one container, made for it and removed with it
 * (podmanCleanup). Never the checkout: the conmon podman starts keeps podman's working
 * directory for the container's life and writes its `oom` marker there; and it must
 * outlive the container, because conmon's exit command (`podman container cleanup`,
 * which runs the runtime's delete) starts there — and bun, so berth-runtime, refuses to
 * run in a deleted directory.
 */
function containerCwd(name: string): string {
  return join(tmpdir(), `berth-podman-cwd-${name}`);
}

/**
 * `podman` with PODMAN's flags and the caller's environment (CONTAINERS_CONF). A command
 * that starts a container's conmon (`start`) names it as `container` and runs in its
 * directory (containerCwd); any other from an empty temporary directory removed when it
 * returns. stdout and stderr are buffers unless the caller asks for "ignore".
 */
export function podman(args: string[], opts: SpawnSyncOptions & { container?: string } = {}): Bun.SyncSubprocess<"pipe", "pipe"> {
  const { container, ...spawnOpts } = opts;
  const cwd = container === undefined ? mkdtempSync(join(tmpdir(), "berth-podman-cwd-")) : containerCwd(container);
  if (container !== undefined) mkdirSync(cwd, { recursive: true });
  try {
    return Bun.spawnSync([...PODMAN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env }, ...spawnOpts, cwd }) as never;
  } finally {
    if (container === undefined) rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * A copy of the busybox rootfs for podman's container `name`, in its directory (removed
 * by podmanCleanup): podman's --rootfs is writable and podman itself writes there
 * (/etc/hosts, /run/.containerenv…), so the shared rootfs, which other test files copy
 * at the same moment, is never given to it.
 */
export function podmanRootfs(name: string): string {
  const dir = containerCwd(name);
  mkdirSync(dir, { recursive: true });
  const rootfs = join(dir, "rootfs");
  return existsSync(rootfs) ? rootfs : copySharedRootfs(rootfs);
}

/** `podman run --detach` (or another verb: `create`) of a busybox rootfs with runc, or `runtime`; returns the container id. */
export function podmanRun(name: string, flags: string[], argv: string[], runtime = "/usr/sbin/runc", verb: "run" | "create" = "run"): { id: string; stderr: string } {
  const run = podman(["--runtime", runtime, verb, ...(verb === "run" ? ["--detach"] : []), "--name", name, "--network", "none",
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ...flags, "--rootfs", podmanRootfs(name), ...argv], { container: name });
  return { id: run.stdout.toString().trim(), stderr: run.stderr.toString() };
}

/** Remove the container, and podman's parent cgroup if the test made it (podman keeps it). */
export function podmanCleanup(name: string, madeParent: boolean): void {
  podman(["rm", "--force", "--time", "0", name], { stdout: "ignore", stderr: "ignore" });
  rmSync(containerCwd(name), { recursive: true, force: true });
  if (!madeParent) return;
  // every mounted hierarchy, name=systemd too (podman writes there; berth's layout skips it)
  const base = "/sys/fs/cgroup";
  const roots = existsSync(`${base}/cgroup.controllers`) ? [base] : readdirSync(base).map((h) => `${base}/${h}`);
  try {
    // retried while conmon, which outlives `podman rm` by a moment, leaves
    removeTrees(roots.map((r) => `${r}/libpod_parent`).filter((d) => existsSync(d)), 5000);
  } catch {
    // another podman container is using it
  }
}

/** Whether podman's parent cgroup is absent now, i.e. the test will make it. */
export const podmanParentAbsent = () => !openCgroup("/libpod_parent").exists();
