/**
 * Test support for the operator's commands (`berth stats`, `top`, `ns`, `enter`): real
 * processes in real cgroups under a parent unique to the test file, placed before they
 * run their first instruction (sys/gated-spawn.ts), and a cleanup that kills them and
 * removes every cgroup even when a test failed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCgroup } from "../src/cgroups/open-cgroup.ts";
import type { LinuxResources } from "../src/spec/linux-resources.ts";
import { spawnGated } from "../src/sys/gated-spawn.ts";

export { until } from "./runtime-harness.ts";

export const BERTH = join(import.meta.dir, "..", "bin", "berth");
export const MiB = 1024 * 1024;

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function berth(...args: string[]): Result {
  const r = Bun.spawnSync([BERTH, ...args], { stdin: "ignore" });
  return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export interface Started {
  path: string;
  pid: number;
  exited: Promise<number>;
}

export class CgroupFixture {
  readonly base: string;
  private readonly procs: Bun.Subprocess[] = [];

  constructor(name: string) {
    this.base = `/berth-observe-${name}-${process.pid}`;
  }

  /** Create cgroup `name` under the fixture's parent (with limits) if it does not exist; no process in it. */
  cgroup(name: string, resources: LinuxResources = {}): string {
    const path = `${this.base}/${name}`;
    const cg = openCgroup(path);
    if (!cg.exists()) cg.create();
    if (Object.keys(resources).length > 0) cg.apply(resources);
    return path;
  }

  /** Run argv inside cgroup `name` (created, with limits, if missing) from its first instruction. */
  start(name: string, argv: string[], resources: LinuxResources = {}): Started {
    const path = this.cgroup(name, resources);
    const child = spawnGated(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    this.procs.push(child.proc);
    try {
      openCgroup(path).addProcess(child.pid);
    } catch (err) {
      child.proc.kill("SIGKILL");
      throw err;
    }
    child.release();
    return { path, pid: child.pid, exited: child.exited };
  }

  /** Kill what the tests started, then remove every cgroup they made. */
  cleanup(): void {
    // through Bun's handle: a no-op once it has exited, so never a reused pid
    for (const p of this.procs) p.kill("SIGKILL");
    const cg = openCgroup(this.base);
    if (!cg.exists()) return;
    cg.kill("SIGKILL");
    cg.destroy({ timeoutMs: 5000 });
  }
}

/** Where `file` of cgroup `path` is: in its controller's v1 hierarchy, else (v2, PSI) on cgroup2. */
export function cgroupFile(path: string, file: string): string {
  const dirs = Object.entries(openCgroup(path).dirs());
  const controller = file.slice(0, file.indexOf("."));
  // pressure (PSI) files exist on cgroup2 only, whatever the controller in their name
  const v1 = file.endsWith(".pressure") ? undefined : dirs.find(([k]) => k.split(",").includes(controller))?.[1];
  const dir = v1 ?? dirs.find(([k]) => k === "unified")?.[1];
  return `${dir}/${file}`;
}

/** A flat keyed cgroup file's value (`oom_kill` of memory.oom_control), or a single-number file. */
export function readCgroupNumber(path: string, file: string, key?: string): number {
  const text = readFileSync(cgroupFile(path, file), "utf8");
  if (key === undefined) return Number(text.trim());
  const line = text.split("\n").find((l) => l.startsWith(`${key} `));
  return Number(line?.split(" ")[1]);
}

export function hasCgroupFile(path: string, file: string): boolean {
  return existsSync(cgroupFile(path, file));
}
