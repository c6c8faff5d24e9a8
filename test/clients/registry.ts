/**
 * A local image registry for the client tests: Debian's `docker-registry` (distribution
 * v2) on a free 127.0.0.1 port, holding the offline busybox image as
 * ADDRESS/busybox:latest and its stand-in pause image as ADDRESS/pause:latest.
 *
 * The image is built by ../shared/reference/make-busybox-image.sh (umoci + skopeo, no
 * network) once per machine boot and kept under /tmp; each test file starts its own
 * registry and pushes it there with skopeo. Plain HTTP: clients need
 * `--tls-verify=false` (podman, skopeo), `--plain-http` (ctr) or nothing (docker treats
 * 127.0.0.0/8 as insecure).
 *
 * @example
 * const reg = await startRegistryWithBusybox(dir);
 * try { ... `podman pull --tls-verify=false ${reg.image}` ... } finally { await reg.stop(); }
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeLoopbackPort, requireCommands, runCommand } from "./client-env.ts";

/** BERTH_SHARED is set by scripts/test-all.sh; otherwise ../shared beside the checkout, as in CI. */
const SHARED = process.env.BERTH_SHARED || new URL("../../../shared", import.meta.url).pathname;
const MAKE_IMAGE = join(SHARED, "reference", "make-busybox-image.sh");

/** What the registry fixture runs, by command, with the Debian package that provides it. */
const REGISTRY_COMMANDS: Record<string, string> = {
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  umoci: "umoci",
  busybox: "busybox-static",
};

/** The apt packages startRegistryWithBusybox needs (CI installs them in scripts/setup.sh). */
export function registryAptPackages(): string[] {
  return [...new Set(Object.values(REGISTRY_COMMANDS))];
}

export interface LocalRegistry {
  /** 127.0.0.1:PORT */
  address: string;
  /** ADDRESS/busybox:latest — Cmd /bin/sh, a static busybox with every applet, /www/index.html */
  image: string;
  /** ADDRESS/pause:latest — the same layer; PID 1 sleeps until SIGTERM/SIGINT */
  pause: string;
  /** Stop the registry (by its PID) and remove its storage under `workdir`. */
  stop(): Promise<void>;
}

/** A registry on a free 127.0.0.1 port, with what it needs to be stopped. */
export interface RunningRegistry {
  /** 127.0.0.1:PORT */
  address: string;
  /** its config, storage and log */
  dir: string;
  /** Stop the registry (by its PID) and remove `dir`. */
  stop(): Promise<void>;
}

/**
 * Start an empty docker-registry on a free 127.0.0.1 port, in `workdir/NAME` (config,
 * storage, log; the caller owns `workdir`). `auth`: YAML lines of an `auth:` section
 * (htpasswd or token), indented as a top-level key's body.
 */
export async function startRegistry(workdir: string, options: { name?: string; auth?: string[] } = {}): Promise<RunningRegistry> {
  requireCommands(REGISTRY_COMMANDS);
  const dir = join(workdir, options.name ?? "registry");
  mkdirSync(join(dir, "storage"), { recursive: true });
  // a port can be taken between probing and binding: try a few, and read the registry's log
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeLoopbackPort();
    const address = `127.0.0.1:${port}`;
    const config = join(dir, "config.yml");
    writeFileSync(config, registryConfig(join(dir, "storage"), address, options.auth ?? []));
    const log = join(dir, `registry-${attempt}.log`);
    const proc = Bun.spawn(["docker-registry", "serve", config], { stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(log) });
    const up = await waitForRegistry(address, proc);
    if (!up) {
      proc.kill("SIGKILL");
      await proc.exited;
      lastError = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" | ") : "no log";
      continue;
    }
    const stop = async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await proc.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return { address, dir, stop };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start on a 127.0.0.1 port after 5 attempts: ${lastError}`);
}

/**
 * Start a registry holding busybox and pause on a free 127.0.0.1 port. Its config,
 * storage and log live in `workdir/registry` (the caller owns and removes `workdir`).
 * Throws, naming the apt package, when a command it needs is missing.
 */
export async function startRegistryWithBusybox(workdir: string): Promise<LocalRegistry> {
  const layout = busyboxImageLayout();
  const { address, stop } = await startRegistry(workdir);
  try {
    for (const [tag, repo] of [["latest", "busybox"], ["pause", "pause"]] as const) {
      const r = runCommand(["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:${tag}`, `docker://${address}/${repo}:latest`]);
      if (r.code !== 0) throw new Error(`skopeo copy oci:${layout}:${tag} docker://${address}/${repo}:latest failed: ${r.stderr.trim()}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { address, image: `${address}/busybox:latest`, pause: `${address}/pause:latest`, stop };
}

/**
 * The OCI layout of the busybox image (tags latest and pause), built once per machine
 * boot under /tmp and shared read-only by every client test. Also holds
 * busybox-docker.tar and busybox-oci.tar beside it (dirname of the layout).
 */
export function busyboxImageLayout(): string {
  const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 8);
  const out = join(tmpdir(), `berth-busybox-image-v1-${bootId}`);
  const layout = join(out, "oci");
  if (existsSync(join(out, ".complete"))) return layout;
  if (!existsSync(MAKE_IMAGE)) throw new Error(`${MAKE_IMAGE} not found: the client tests need ../shared/reference beside the checkout (or BERTH_SHARED)`);
  const tmp = mkdtempSync(join(tmpdir(), "berth-busybox-image-build-"));
  try {
    const r = runCommand(["bash", MAKE_IMAGE, tmp]);
    if (r.code !== 0) throw new Error(`make-busybox-image.sh failed: ${r.stderr.trim()}`);
    writeFileSync(join(tmp, ".complete"), "");
    try {
      renameSync(tmp, out);
    } catch {
      // another test file built it first: use theirs
      if (!existsSync(join(out, ".complete"))) throw new Error(`could not move the busybox image into ${out}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return layout;
}

function registryConfig(storage: string, address: string, auth: string[]): string {
  // an auth section only when asked: Debian's default config points at an htpasswd file we do not want
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${address}`,
    "  headers:",
    "    X-Content-Type-Options: [nosniff]",
    ...(auth.length ? ["auth:", ...auth] : []),
    "",
  ].join("\n");
}

/** Poll GET /v2/ until the registry answers, or it exits (e.g. the port was taken). */
async function waitForRegistry(address: string, proc: { readonly exitCode: number | null; readonly signalCode: NodeJS.Signals | number | null }): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    try {
      const res = await fetch(`http://${address}/v2/`);
      // 401: up, and asking for credentials (a registry with auth)
      if (res.status === 200 || res.status === 401) return true;
    } catch {
      // not listening yet
    }
    await Bun.sleep(20);
  }
  return false;
}
