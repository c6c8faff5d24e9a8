/**
 * Run the real berth-runtime binary against real bundles, as containerd and podman do:
 * a busybox root filesystem (Debian's busybox-static), a config.json from the default
 * spec with the test's changes, a private --root per test file, and a cleanup that
 * force-deletes whatever the test left (cgroups, state dirs, processes) even when it
 * failed.
 */
import { chmodSync, closeSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../src/spec/default-spec.ts";
import type { Spec } from "../src/spec/runtime-spec.ts";

export const REPO = join(import.meta.dir, "..");
export const RUNTIME = join(REPO, "bin", "berth-runtime");
const BUSYBOX = "/bin/busybox";

// Tests run what users run: the compiled executable, rebuilt from the current sources once
// per test process unless scripts/test-all.sh has just built it (BERTH_PREBUILT).
if (process.getuid?.() === 0 && !process.env.BERTH_PREBUILT) Bun.spawnSync(["sh", join(REPO, "scripts", "build-runtime.sh")], { stdout: "ignore", stderr: "inherit" });

export const canRunContainers = process.getuid?.() === 0 && existsSync(BUSYBOX) && existsSync(join(REPO, "native", "build", "berth-init"));

/** A busybox rootfs built once per machine boot and shared read-only by the tests. */
export function sharedRootfs(): string {
  const dir = join(tmpdir(), "berth-test-rootfs-v1");
  if (existsSync(join(dir, "bin", "busybox"))) return dir;
  const tmp = mkdtempSync(join(tmpdir(), "berth-rootfs-build-"));
  chmodSync(tmp, 0o755); // it becomes the containers' /: every user must reach it
  buildRootfs(tmp);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file won the race
  }
  return dir;
}

/**
 * A private, writable copy of the shared rootfs at `dest` — the one way tests copy it.
 * Something may have left a socket or a FIFO in the shared rootfs (a container that ran on
 * it by hand): those cannot be copied (cp fails with ENOTSUP/EINVAL), so they are skipped,
 * as docker's cp skips sockets, and each skip is said on stderr.
 */
export function copySharedRootfs(dest: string): string {
  cpSync(sharedRootfs(), dest, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      let st;
      try {
        st = lstatSync(src);
      } catch {
        console.warn(`copySharedRootfs: skipping ${src}: it went away while the shared rootfs was copied`);
        return false;
      }
      if (!st.isSocket() && !st.isFIFO()) return true;
      console.warn(`copySharedRootfs: skipping ${src}: a ${st.isSocket() ? "socket" : "FIFO"} cannot be copied (something ran on the shared rootfs; remove it)`);
      return false;
    },
  });
  return dest;
}

/** A busybox root filesystem at `dir`: /bin/busybox, applet links, /etc/passwd, mount points. */
export function buildRootfs(dir: string): void {
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root"]) mkdirSync(join(dir, d), { recursive: true });
  cpSync(BUSYBOX, join(dir, "bin", "busybox"));
  const list = Bun.spawnSync([BUSYBOX, "--list-full"]).stdout.toString().split("\n").filter(Boolean);
  for (const applet of list) {
    if (!existsSync(join(dir, applet))) symlinkSync("/bin/busybox", join(dir, applet));
  }
  writeFileSync(join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  writeFileSync(join(dir, "etc", "group"), "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n");
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let counter = 0;

export class RuntimeFixture {
  readonly dir: string;
  readonly root: string;
  private readonly ids = new Set<string>();

  constructor(readonly name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `berth-rt-${name}-`));
    // searchable by a container root mapped to an unprivileged host uid (user namespace tests)
    chmodSync(this.dir, 0o711);
    this.root = join(this.dir, "state");
  }

  /** A fresh container id, remembered for cleanup. */
  id(prefix = this.name): string {
    const id = `${prefix}-${process.pid}-${++counter}`;
    this.ids.add(id);
    return id;
  }

  /** The default spec made quiet and testable: no terminal, the shared rootfs, a cgroup under /berth-test. */
  spec(id: string, change?: (s: Spec) => void): Spec {
    const s = defaultSpec();
    s.process!.terminal = false;
    s.root = { path: sharedRootfs(), readonly: true };
    s.hostname = id.slice(0, 60);
    s.linux!.cgroupsPath = `/berth-test/${id}`;
    change?.(s);
    return s;
  }

  /** A private copy of the shared busybox rootfs, which the test may change. */
  ownRootfs(name: string): string {
    const dir = join(this.dir, `rootfs-${name}`);
    return copySharedRootfs(dir);
  }

  /** Write a bundle directory for `spec` (or raw text for broken-JSON tests). */
  bundle(id: string, spec: Spec | string): string {
    const b = join(this.dir, `bundle-${id}`);
    mkdirSync(b, { recursive: true });
    writeFileSync(join(b, "config.json"), typeof spec === "string" ? spec : JSON.stringify(spec));
    return b;
  }

  /**
   * berth-runtime --root <ours> ARGS, synchronously. Output goes through files, not
   * pipes: after `create` the container's init holds the runtime's stdout and stderr
   * (they are its stdio), so a pipe would not see EOF until the container exits.
   */
  rt(args: string[], opts: { stdin?: "ignore" | "inherit"; env?: Record<string, string>; globals?: string[]; cwd?: string; runtime?: string[]; timeoutMs?: number } = {}): Result {
    const out = join(this.dir, `.out-${process.pid}-${++counter}`);
    const err = `${out}.err`;
    const outFd = openSync(out, "w");
    const errFd = openSync(err, "w");
    try {
      const p = Bun.spawnSync([...(opts.runtime ?? [RUNTIME, "--root", this.root]), ...(opts.globals ?? []), ...args], {
        stdin: opts.stdin ?? "ignore",
        stdout: outFd,
        stderr: errFd,
        env: { ...process.env, ...opts.env },
        ...(opts.cwd && { cwd: opts.cwd }),
        // a runtime that hangs fails its test instead of holding the test process forever
        ...(opts.timeoutMs && { timeout: opts.timeoutMs, killSignal: "SIGKILL" }),
      });
      return { code: p.exitCode ?? 128, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
      rmSync(out, { force: true });
      rmSync(err, { force: true });
    }
  }

  /** runc (its own --root beside ours) on the same bundles: what berth-runtime must match */
  runc(args: string[], opts: { globals?: string[]; timeoutMs?: number } = {}): Result {
    return this.rt(args, { ...opts, runtime: ["runc", "--root", join(this.dir, "runc-state")] });
  }

  /** `run` a spec in the foreground and collect its output. */
  runSpec(id: string, spec: Spec, extra: string[] = []): Result {
    return this.rt(["run", "--bundle", this.bundle(id, spec), ...extra, id]);
  }

  state(id: string): { status: string; pid: number } & Record<string, unknown> {
    const r = this.rt(["state", id]);
    if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Force-delete every container this fixture made and remove its files. */
  cleanup(): void {
    const present = existsSync(this.root) ? readdirSync(this.root) : [];
    for (const id of new Set([...this.ids, ...present])) this.rt(["delete", "--force", id]);
    const runcState = join(this.dir, "runc-state");
    if (existsSync(runcState)) for (const id of readdirSync(runcState)) this.runc(["delete", "--force", id]);
    // runc 1.1 on a hybrid host leaves its empty cgroup dirs in the hierarchies it does not
    // manage (name=systemd, unified, pids): a container made by either runtime leaves none
    for (const id of this.ids) {
      for (const dir of cgroupDirsFor(id)) {
        try {
          rmdirSync(dir);
        } catch {
          // still has processes: the delete above failed, and the test says so
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    // the shared parent goes once no test file's container is left in it
    for (const parent of testCgroupParents()) {
      try {
        rmdirSync(parent);
      } catch {
        // absent, or another test file still has containers there
      }
    }
  }
}

/** The cgroup directories a test container would have on this host (v1 hierarchies and unified). */
export function cgroupDirsFor(id: string): string[] {
  return testCgroupParents().map((p) => join(p, id)).filter((d) => existsSync(d));
}

/** /sys/fs/cgroup itself on pure v2; each v1 hierarchy (and unified) on hybrid. */
export function cgroupHierarchies(): string[] {
  const base = "/sys/fs/cgroup";
  if (existsSync(join(base, "cgroup.controllers"))) return [base];
  return readdirSync(base).map((h) => join(base, h));
}

/** /berth-test in every hierarchy. */
function testCgroupParents(): string[] {
  return cgroupHierarchies().map((h) => join(h, "berth-test"));
}

/** A small static C program from test/probes/, built into `dir` with the machine's gcc (as native/ is). */
export function buildProbe(name: string, dir: string): string {
  const out = join(dir, name);
  const p = Bun.spawnSync(["gcc", "-static", "-O2", "-Wall", "-o", out, join(REPO, "test", "probes", `${name}.c`)], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`building test/probes/${name}.c: ${p.stderr.toString()}`);
  return out;
}

/** Poll until `check` holds or the deadline passes (never a fixed sleep). */
export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await Bun.sleep(10);
  }
  return check();
}
