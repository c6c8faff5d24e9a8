/**
 * Test support for the container engine (`berth run`, `ps`, `logs`…): the real berth
 * executable with a private --root/--runroot pair per test file, containers in a cgroup
 * parent unique to the file, a writable busybox root of its own (`--rootfs`), and a
 * cleanup that removes every container, monitor, cgroup and directory even when a test
 * failed.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectHostCgroups } from "../src/cgroups/layout.ts";
import { parseProcCgroup } from "../src/cgroups/mountinfo.ts";
import { processCgroupDirs } from "../src/cgroups/process-cgroup.ts";
import { REPO, copySharedRootfs } from "./runtime-harness.ts";
import { removeUnusedCniChains } from "./cni-chains.ts";
import { iptablesChains } from "./clients/client-env.ts";

/** The CNI chains there when this test process began: the ones it may remove at the end (cni-chains.ts). */
const CNI_CHAINS_AT_START = iptablesChains();

export { canRunContainers, until } from "./runtime-harness.ts";

export const BERTH = join(REPO, "bin", "berth");

// a checkout built before berth-monitor existed (npm ci builds it; a rebase does not)
if (process.getuid?.() === 0 && !existsSync(join(REPO, "native", "build", "berth-monitor"))) {
  Bun.spawnSync(["sh", join(REPO, "scripts", "build-native.sh")], { stdout: "ignore", stderr: "inherit" });
}
export const canRunConmon = existsSync("/usr/bin/conmon");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Every cgroup hierarchy mounted here — the controllers', the unified one, and named ones
 * such as name=systemd, where the runtime also places a container's processes.
 */
function hierarchies(): string[] {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    const fstype = f[f.indexOf("-") + 1];
    if (fstype === "cgroup" || fstype === "cgroup2") out.add(f[4]!);
  }
  return [...out];
}

export class EngineFixture {
  readonly dir: string;
  readonly root: string;
  readonly runroot: string;
  readonly rootfs: string;
  /** every container's cgroup goes under this parent */
  readonly cgroupParent: string;

  constructor(readonly name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `berth-engine-${name}-`));
    this.root = join(this.dir, "root");
    this.runroot = join(this.dir, "run");
    this.rootfs = join(this.dir, "rootfs");
    copySharedRootfs(this.rootfs);
    this.cgroupParent = `/berth-engine-${name}-${process.pid}`;
  }

  env(): Record<string, string> {
    return { ...(process.env as Record<string, string>), BERTH_ROOT: this.root, BERTH_RUNROOT: this.runroot };
  }

  /** berth ARGS with this fixture's root pair, stdin closed. */
  berth(args: string[], opts: { stdin?: string | Uint8Array } = {}): Result {
    const r = Bun.spawnSync([BERTH, ...args], { stdin: opts.stdin !== undefined ? Buffer.from(opts.stdin) : "ignore", env: this.env() });
    return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  async berthAsync(args: string[]): Promise<Result> {
    const p = Bun.spawn([BERTH, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: this.env() });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  /** `run` of the fixture's rootfs: berth run --cgroup-parent P [--network none] FLAGS --rootfs ROOTFS CMD… */
  run(flags: string[], cmd: string[]): Result {
    // no network unless the test asks: CNI's bridge (the default) is network.test.ts's subject, and slow in the v2 VM
    const network = flags.some((f) => f === "--network" || f === "--net") ? [] : ["--network", "none"];
    return this.berth(["run", "--cgroup-parent", this.cgroupParent, ...network, ...flags, "--rootfs", this.rootfs, ...cmd]);
  }

  /** `run -d …`: the container's id (the test fails on a start error) */
  runDetached(flags: string[], cmd: string[]): string {
    const r = this.run(["-d", ...flags], cmd);
    if (r.code !== 0) throw new Error(`run -d failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Container ids with records (any state). */
  records(): string[] {
    try {
      return readdirSync(join(this.root, "containers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return [];
    }
  }

  inspect(ref: string): Record<string, any> {
    const r = this.berth(["inspect", ref]);
    if (r.code !== 0) throw new Error(`inspect ${ref}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as Record<string, any>[])[0]!;
  }

  /** The container's cgroup directory holding `controller` (v1) or its v2 directory. */
  cgroupDir(pid: number, controller: string): string {
    const { layout } = detectHostCgroups();
    const dirs = processCgroupDirs(parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, "utf8")), layout);
    const d = layout.mode === "v2" ? dirs.find((x) => x.hierarchy === "unified") : dirs.find((x) => x.hierarchy.split(",").includes(controller));
    if (!d) throw new Error(`no ${controller} cgroup for ${pid}`);
    return d.dir;
  }

  /** monitor processes of this fixture (their command line names our runroot) */
  monitors(): number[] {
    return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(this.runroot);
      } catch {
        return false;
      }
    }).map(Number);
  }

  /** The cgroup directories left under the parent, in every hierarchy. */
  leftoverCgroups(): string[] {
    return hierarchies().flatMap((m) => {
      const parent = join(m, this.cgroupParent);
      try {
        return readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(parent, e.name));
      } catch {
        return [];
      }
    });
  }

  cleanup(): void {
    for (const id of this.records()) this.berth(["rm", "-f", "-v", id]);
    // before the directory goes: volume rm unmounts an --opt volume's _data (a bind of a host directory) rather than removing through it
    this.berth(["volume", "prune", "-a", "-f"]);
    // network leftovers of containers whose monitor died with them, and the networks a test made (their bridges)
    this.berth(["network", "prune", "-f"]);
    for (const pid of this.monitors()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    // a container's last cgroup can go a moment after its monitor (the exit command's runtime delete): a few tries
    for (let attempt = 0; attempt < 20; attempt++) {
      Bun.sleepSync(50 * attempt);
      let left = 0;
      for (const m of hierarchies()) {
        const parent = join(m, this.cgroupParent);
        if (!existsSync(parent)) continue;
        for (const e of readdirSync(parent, { withFileTypes: true })) {
          if (!e.isDirectory()) continue;
          try {
            rmdirSync(join(parent, e.name));
          } catch {}
        }
        try {
          rmdirSync(parent);
        } catch {
          left++;
        }
      }
      if (left === 0) break;
    }
    rmSync(this.dir, { recursive: true, force: true });
    // the CNI plugins' shared chains, if this test process made them and nothing uses them now
    removeUnusedCniChains(CNI_CHAINS_AT_START);
  }
}
