/**
 * The config.json fuzzer (issue 21): fast-check mutates a valid, feature-rich config —
 * wrong types, nulls, numbers past their range, NUL bytes and newlines, unknown enum
 * values, path tricks, huge strings and arrays, deleted and unknown keys — and two
 * properties say what must hold for every mutant:
 *
 * - pure (`pureOutcome`): validateSpec, compileSeccomp, compilePlan, planResources and encodePlan either
 *   succeed or throw a BerthError — never a TypeError, a RangeError or a wrapped number;
 * - runtime (`runtimeOutcome`): `berth-runtime create` exits 0 or 1; a refusal is exactly
 *   one stderr line naming a field, with no stack trace; `delete --force` then leaves
 *   nothing (test/leak-check.ts). Nothing may hang.
 *
 * Shared by src/spec/config-fuzz.test.ts (a fixed seed, a few hundred cases, in CI) and
 * bench/fuzz.ts (10,000 cases, docs/security.md).
 */
import fc from "fast-check";
import { BerthError } from "../src/errors.ts";
import { planResources } from "../src/cgroups/plan.ts";
import { compilePlan, type PlanContext } from "../src/plan/compile.ts";
import { compileSeccomp } from "../src/security/seccomp.ts";
import { encodePlan } from "../src/plan/encode.ts";
import { defaultSpec } from "../src/spec/default-spec.ts";
import type { Spec } from "../src/spec/runtime-spec.ts";
import { validateSpec } from "../src/spec/validate-config.ts";

type Json = unknown;
type Path = (string | number)[];

/**
 * A valid config that uses most of the spec (devices, rlimits, ids, hooks, resources,
 * sysctl, seccomp, mounts with options, masked paths), so mutations reach every checker.
 */
export function richSpec(rootfs: string, id: string): Spec {
  const s = defaultSpec();
  s.process!.terminal = false;
  s.process!.args = ["true"];
  s.process!.env = ["PATH=/bin:/usr/bin", "HOME=/root"];
  s.process!.user = { uid: 0, gid: 0, additionalGids: [1, 2], umask: 0o022 };
  s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 1024 }, { type: "RLIMIT_CORE", soft: 0, hard: 0 }];
  s.process!.oomScoreAdj = 100;
  s.root = { path: rootfs, readonly: true };
  s.hostname = id.slice(0, 60);
  s.mounts!.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=755", "nosuid"] });
  s.mounts!.push({ destination: "/opt", type: "bind", source: "/usr/share", options: ["rbind", "ro", "rprivate"] });
  s.hooks = { createRuntime: [{ path: "/bin/true", args: ["true", "x"], env: ["A=b"], timeout: 10 }] };
  s.annotations = { "org.example.key": "value" };
  const l = s.linux!;
  l.cgroupsPath = `/berth-test/${id}`;
  l.devices = [{ path: "/dev/fuzz", type: "c", major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0 }];
  l.sysctl = { "net.ipv4.ip_forward": "0" };
  l.resources = {
    devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }],
    memory: { limit: 64 << 20, reservation: 32 << 20 },
    pids: { limit: 100 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
  };
  l.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
  return s;
}

/** Every path to a value in `v` (objects' keys, arrays' indexes), the root excluded. */
export function pathsOf(v: Json, at: Path = []): Path[] {
  if (v === null || typeof v !== "object") return [];
  const out: Path[] = [];
  for (const [k, child] of Object.entries(v)) {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    out.push(p, ...pathsOf(child, p));
  }
  return out;
}

/**
 * What the runtime tier never mutates: the container's own cgroup, root filesystem and
 * namespaces (a mutant must not write the host's root cgroup, run on the host's / or join
 * the host's mount namespace — those are refused or handled by tests of their own).
 */
const HOST_BOUND = ["linux.cgroupsPath", "root", "linux.namespaces"];

export function mutablePaths(base: Json, forRuntime: boolean): Path[] {
  return pathsOf(base).filter((p) => !forRuntime || !HOST_BOUND.some((b) => p.join(".").startsWith(b)));
}

/** Values hostile input is made of, weighted towards the kinds that found bugs (null, range edges). */
export const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.constantFrom<Json>(true, false, 0, -1, 1, 1.5, -0.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 63) - 1, 1e20, 1e308, -1e308, 65536, 0o7777, 0o10000, 4096, 2 ** 20) },
  { weight: 4, arbitrary: fc.constantFrom<Json>("", "a\0b", "\0", "line\nbreak", "tab\there", "../../../../etc/passwd", "/proc/self/fd/3", "/proc/self/exe", "/..", "//x/./../y",
    "relative/path", "/dev/null", "/proc", "/sys", "/", "SCMP_ACT_BOGUS", "bogus", "__proto__", "constructor", "toString", "c", "b", "p", "u", "rbind", "NaN", "0x10", "-1",
    "cgroup.procs", "memory.max", "net.ipv4.ip_forward", "kernel.panic", "kernel.hostname", "RLIMIT_BOGUS", "CAP_SYS_ADMIN", "mount", "pid", "user") },
  { weight: 2, arbitrary: fc.constantFrom<Json>([], {}, [null], [[]], { a: null }, [""], ["\0"], [2 ** 64], { "": "" }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constant("x".repeat(100_000)) },
);

export type Mutation =
  | { op: "set"; path: Path; value: Json }
  | { op: "delete"; path: Path }
  | { op: "add"; path: Path; key: string; value: Json }
  | { op: "grow"; path: Path; times: number };

/** One to three mutations at paths of `base`. */
export function mutations(base: Json, forRuntime: boolean): fc.Arbitrary<Mutation[]> {
  const paths = mutablePaths(base, forRuntime);
  const containers = [[], ...paths].filter((p) => { const v = get(base, p); return v !== null && typeof v === "object"; });
  const path = fc.constantFrom(...paths);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), path, value: hostileValue }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), path }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("add" as const), path: fc.constantFrom(...containers), key: fc.constantFrom("bogus", "__proto__", "cgroup.procs", "kernel.panic", "net.core.somaxconn", "mlx5\n1", "a\0b", ""), value: hostileValue }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("grow" as const), path: fc.constantFrom(...containers), times: fc.constantFrom(1000, 20_000) }) },
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 });
}

function get(v: Json, p: Path): Json {
  let cur = v;
  for (const k of p) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, Json>)[k];
  }
  return cur;
}

/** `base` (deep-copied) with `muts` applied; mutations whose path vanished are skipped. */
export function mutate(base: Json, muts: Mutation[]): Json {
  const out = JSON.parse(JSON.stringify(base)) as Json;
  for (const m of muts) {
    const parent = get(out, m.path.slice(0, -1)) as Record<string | number, Json> | undefined;
    const last = m.path[m.path.length - 1]!;
    if (m.op === "set" && parent && typeof parent === "object") parent[last] = m.value;
    else if (m.op === "delete" && parent && typeof parent === "object") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (m.op === "add") {
      const target = get(out, m.path);
      if (Array.isArray(target)) target.push(m.value);
      else if (target && typeof target === "object") Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    } else if (m.op === "grow") {
      const target = get(out, m.path);
      // many of a small element: a grown 100 kB string would make a 2 GB config, which only tests the fuzzer's memory
      const small = Array.isArray(target) && target.length > 0 && JSON.stringify(target[0]).length <= 1024 ? target[0] : 0;
      // copies, not references: a later mutation of one element must not grow all 20,000
      if (Array.isArray(target)) for (let i = 0; i < m.times; i++) target.push(structuredClone(small));
      else if (target && typeof target === "object") for (let i = 0; i < m.times; i++) (target as Record<string, Json>)[`k${i}`] = "v";
    }
  }
  return out;
}

/** The context compilePlan gets: a cgroup v2 host before Linux 5.7, as compile.test.ts's. */
const CTX: PlanContext = {
  id: "fuzz", bundle: "/b", rootfs: "/b/rootfs", stateDir: "/run/berth/fuzz",
  cgroup: { mode: "v2", v1: [], unified: { hostDir: "/sys/fs/cgroup/berth/fuzz" } }, lastCap: 40, hasKcore: true,
};

const V2 = {
  v2: { controllers: ["cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc"], hasFile: () => true },
  hostCpus: [0, 1], hostMems: [0], hugepageSizes: ["2MB", "1GB"],
};

/** "accepted", "refused: MESSAGE", or throws what is not a BerthError (the bug the property finds). */
export function pureOutcome(config: Json): string {
  try {
    const spec = validateSpec(JSON.parse(JSON.stringify(config)), { needProcess: true });
    const seccomp = spec.linux?.seccomp ? compileSeccomp(spec.linux.seccomp) : undefined;
    const plan = compilePlan(spec, { ...CTX, seccomp });
    planResources(plan.resources, V2);
    encodePlan(plan);
    return "accepted";
  } catch (err) {
    if (err instanceof BerthError) return `refused: ${err.message}`;
    throw err;
  }
}

/** A refusal's line names where: `field: …` or `field (detail): …`. */
export const NAMES_A_FIELD = /^[^\s:]+( \([^)]*\))?: \S/;

export interface RunOutcome {
  code: number | null;
  stderr: string;
  /** killed after the timeout */
  hung: boolean;
}

/** What is wrong with a create's outcome (exit code, stderr), or undefined. */
export function badOutcome(r: RunOutcome): string | undefined {
  if (r.hung) return "hung";
  if (r.code !== 0 && r.code !== 1) return `exit code ${r.code}`;
  if (/internal error|\n\s+at |TypeError|RangeError/.test(r.stderr)) return `stack trace or internal error: ${r.stderr.slice(0, 300)}`;
  if (r.code === 1) {
    const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("berth-runtime: warning:"));
    if (lines.length !== 1) return `${lines.length} stderr lines: ${r.stderr.slice(0, 300)}`;
    if (!NAMES_A_FIELD.test(lines[0]!)) return `refusal names no field: ${lines[0]}`;
  }
  return undefined;
}
