/**
 * Shape and consistency checks for a whole config.json, before anything is created.
 * Pure: JSON in, a typed Spec out, or a BerthError naming the field
 * (`mounts[3].destination`, `linux.namespaces[1].type`) and what would fix it.
 */
import { BerthError } from "../errors.ts";
import { validateResources } from "./validate-resources.ts";
import { validateSeccomp } from "./linux-seccomp.ts";
import type { Spec, NamespaceType } from "./runtime-spec.ts";
import { array, check, describeValue, dropNulls, fields, keyField, nestingDepth, object, RANGES } from "./shape.ts";

export const NAMESPACE_TYPES: readonly NamespaceType[] = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];

/** How deep config.json may nest: the spec's own fields go 6 levels deep, annotations and extensions a few more. */
const MAX_NESTING = 64;

/**
 * The most entries a list may have where each costs the helper a system call or a
 * process: 20,000 readonlyPaths or hooks made a create run for minutes (found by
 * bench/fuzz.ts). Real configs have tens.
 */
const MAX_STEPS = 4096;
const MAX_HOOKS = 256;

function bounded(value: unknown, field: string, max: number): unknown[] {
  const list = array(value, field);
  if (list.length > max) throw new BerthError(`has ${list.length} entries; berth-runtime takes at most ${max}`, { field });
  return list;
}

/** hooks[].timeout in seconds: > 0, and no longer than a 32-bit timer in milliseconds holds (24 days) */
const HOOK_TIMEOUT = { lo: 1, hi: Math.floor((2 ** 31 - 1) / 1000) };

const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

const PROPAGATIONS = ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"];

function absolute(value: string, field: string): void {
  if (!value.startsWith("/")) throw new BerthError(`${JSON.stringify(value)} is not an absolute path; start it with /`, { field });
}

function strings(value: unknown, field: string): string[] {
  const list = array(value, field);
  // a loop, not map: capabilities, env and paths are most of a config's entries, checked before anything is compiled
  for (let i = 0; i < list.length; i++) check(list[i], "string", `${field}[${i}]`);
  return list as string[];
}

/**
 * RLIM_INFINITY as configs write it, 18446744073709551615 (2^64−1), arrives as the double
 * 2^64: the one value past 2^53 an rlimit takes — the plan passes it on as all ones.
 */
export const RLIM_INFINITY_AS_READ = 2 ** 64;

/** The kernel's limit on lines in uid_map/gid_map (user_namespaces(7), since Linux 4.15). */
const MAX_ID_MAP_LINES = 340;

/** The checks the kernel makes when the map is written, so a bad map fails before anything exists. */
function idMappings(value: unknown, field: string): void {
  const seen: { inside: [number, number]; outside: [number, number]; f: string }[] = [];
  const maps = array(value, field);
  if (maps.length > MAX_ID_MAP_LINES) throw new BerthError(`has ${maps.length} entries; the kernel takes at most ${MAX_ID_MAP_LINES}`, { field });
  maps.forEach((m, i) => {
    const f = `${field}[${i}]`;
    const o = object(m, f);
    fields(o, f, { containerID: RANGES.id, hostID: RANGES.id, size: RANGES.u32 }, ["containerID", "hostID", "size"]);
    const size = o.size as number;
    if (size === 0) throw new BerthError("is 0; a mapping needs size ≥ 1", { field: `${f}.size` });
    for (const key of ["containerID", "hostID"]) {
      if ((o[key] as number) + size > 2 ** 32 - 1) {
        throw new BerthError(`${key} ${o[key]} + size ${size} runs past 4294967294, the highest id; shrink size`, { field: f });
      }
    }
    const inside: [number, number] = [o.containerID as number, (o.containerID as number) + size];
    const outside: [number, number] = [o.hostID as number, (o.hostID as number) + size];
    for (const other of seen) {
      if (inside[0] < other.inside[1] && other.inside[0] < inside[1]) {
        throw new BerthError(`container ids ${inside[0]}…${inside[1] - 1} overlap ${other.f}; each id may be mapped once`, { field: f });
      }
      if (outside[0] < other.outside[1] && other.outside[0] < outside[1]) {
        throw new BerthError(`host ids ${outside[0]}…${outside[1] - 1} overlap ${other.f}; each host id may be mapped once`, { field: f });
      }
    }
    seen.push({ inside, outside, f });
  });
}

/**
 * Validate a parsed config.json. `needProcess` is true for create/run (the spec may
 * omit `process` only for other uses).
 */
export function validateSpec(raw: unknown, opts: { needProcess?: boolean } = {}): Spec {
  const spec = object(raw, "config.json");
  if (nestingDepth(spec, MAX_NESTING) > MAX_NESTING) {
    throw new BerthError(`nests deeper than ${MAX_NESTING} levels; a runtime-spec config needs fewer than 10 — look for what made it grow`, { field: "config.json" });
  }
  if (spec.ociVersion === undefined) throw new BerthError("is required (e.g. \"1.0.2\")", { field: "ociVersion" });
  check(spec.ociVersion, "string", "ociVersion");
  if (!/^1\.\d+\.\d+/.test(spec.ociVersion as string)) {
    throw new BerthError(`${JSON.stringify(spec.ociVersion)} is not a 1.x runtime-spec version; use e.g. "1.0.2"`, { field: "ociVersion" });
  }

  if (spec.root === undefined) throw new BerthError("is required: { \"path\": \"rootfs\" }", { field: "root" });
  const root = object(spec.root, "root");
  dropNulls(spec, ["hostname", "domainname", "mounts", "annotations", "hooks", "linux"]);
  fields(root, "root", { path: "string", readonly: "bool" }, ["path"]);
  if (root.path === "") throw new BerthError("is empty; name the root filesystem directory", { field: "root.path" });

  for (const key of ["hostname", "domainname"]) if (spec[key] != null) check(spec[key], "string", key);

  if (spec.process === undefined) {
    if (opts.needProcess) throw new BerthError("is required to create a container", { field: "process" });
  } else {
    validateProcess(spec.process);
  }

  if (spec.mounts != null) {
    bounded(spec.mounts, "mounts", MAX_STEPS).forEach((m, i) => {
      const f = `mounts[${i}]`;
      const o = object(m, f);
      dropNulls(o, ["options", "uidMappings", "gidMappings"]);
      fields(o, f, { destination: "string", type: "string", source: "string" }, ["destination"]);
      // config.md: a relative destination is deprecated but MUST be read as relative to "/" (runc 1.1 does)
      if (o.destination === "") throw new BerthError("is empty; name where in the container to mount, e.g. /data", { field: `${f}.destination` });
      if (!(o.destination as string).startsWith("/")) o.destination = `/${o.destination as string}`;
      if (o.options != null) strings(o.options, `${f}.options`);
      if (o.uidMappings != null) idMappings(o.uidMappings, `${f}.uidMappings`);
      if (o.gidMappings != null) idMappings(o.gidMappings, `${f}.gidMappings`);
    });
  }

  if (spec.annotations != null) {
    const a = object(spec.annotations, "annotations");
    for (const [k, v] of Object.entries(a)) {
      if (k === "") throw new BerthError('has an empty key; config.md requires a name, e.g. "org.example.key"', { field: "annotations" });
      check(v, "string", keyField("annotations", k));
    }
  }
  if (spec.hooks != null) {
    const hooks = object(spec.hooks, "hooks");
    for (const kind of HOOK_KINDS) {
      if (hooks[kind] == null) continue;
      bounded(hooks[kind], `hooks.${kind}`, MAX_HOOKS).forEach((h, i) => {
        const f = `hooks.${kind}[${i}]`;
        const o = object(h, f);
        dropNulls(o, ["args", "env"]);
        // seconds, and at most what a timer in milliseconds holds (2^31−1 ms): 1e308 is no timeout
        fields(o, f, { path: "string", timeout: HOOK_TIMEOUT }, ["path"]);
        absolute(o.path as string, `${f}.path`);
        if (o.args != null) strings(o.args, `${f}.args`);
        if (o.env != null) strings(o.env, `${f}.env`);
      });
    }
  }

  if (spec.linux != null) validateLinux(object(spec.linux, "linux"));
  return spec as unknown as Spec;
}

export function validateProcess(raw: unknown): void {
  const p = object(raw, "process");
  dropNulls(p, ["env", "rlimits", "capabilities", "ioPriority", "scheduler", "consoleSize"]);
  fields(p, "process", { terminal: "bool", cwd: "string", noNewPrivileges: "bool", oomScoreAdj: { lo: -1000, hi: 1000 }, apparmorProfile: "string", selinuxLabel: "string", commandLine: "string" }, ["cwd"]);
  absolute(p.cwd as string, "process.cwd");
  if (p.args === undefined) throw new BerthError("is required: the program to run and its arguments", { field: "process.args" });
  const args = strings(p.args, "process.args");
  if (args.length === 0 || args[0] === "") throw new BerthError("is empty; name the program to run", { field: "process.args" });
  if (p.env != null) {
    strings(p.env, "process.env").forEach((e, i) => {
      if (!e.includes("=") || e.startsWith("=")) throw new BerthError(`${JSON.stringify(e)} is not NAME=value`, { field: `process.env[${i}]` });
    });
  }
  if (p.user === undefined) throw new BerthError("is required: { \"uid\": 0, \"gid\": 0 }", { field: "process.user" });
  const u = object(p.user, "process.user");
  dropNulls(u, ["additionalGids"]);
  fields(u, "process.user", { uid: RANGES.id, gid: RANGES.id, umask: { lo: 0, hi: 0o777 }, username: "string" }, ["uid", "gid"]);
  if (u.additionalGids != null) {
    array(u.additionalGids, "process.user.additionalGids").forEach((g, i) => check(g, RANGES.id, `process.user.additionalGids[${i}]`));
  }
  if (p.rlimits != null) {
    const seen = new Set<string>();
    array(p.rlimits, "process.rlimits").forEach((r, i) => {
      const f = `process.rlimits[${i}]`;
      const o = object(r, f);
      fields(o, f, { type: "string" }, ["type", "soft", "hard"]);
      for (const key of ["soft", "hard"]) {
        if (o[key] === RLIM_INFINITY_AS_READ) continue;
        if (typeof o[key] === "number" && Number.isInteger(o[key]) && (o[key] as number) > RANGES.uint.hi) {
          throw new BerthError(`${describeValue(o[key])} is out of range (0..9007199254740991, or 18446744073709551615 for unlimited; JSON numbers past 2^53 are not exact)`, { field: `${f}.${key}` });
        }
        check(o[key], "uint", `${f}.${key}`);
      }
      if (seen.has(o.type as string)) throw new BerthError(`${o.type} is set twice; keep one entry`, { field: `${f}.type` });
      seen.add(o.type as string);
      if ((o.soft as number) > (o.hard as number)) throw new BerthError(`soft ${o.soft} is above hard ${o.hard}`, { field: f });
    });
  }
  if (p.capabilities != null) {
    const c = object(p.capabilities, "process.capabilities");
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"]) {
      if (c[set] != null) strings(c[set], `process.capabilities.${set}`);
    }
  }
  if (p.ioPriority != null) {
    fields(object(p.ioPriority, "process.ioPriority"), "process.ioPriority", { class: "string", priority: RANGES.i32 }, ["class"]);
  }
  if (p.scheduler != null) {
    const s = object(p.scheduler, "process.scheduler");
    fields(s, "process.scheduler", { policy: "string", nice: RANGES.i32, priority: RANGES.i32, runtime: "uint", deadline: "uint", period: "uint" }, ["policy"]);
    if (s.flags != null) strings(s.flags, "process.scheduler.flags");
  }
  // struct winsize holds unsigned shorts
  if (p.consoleSize != null) fields(object(p.consoleSize, "process.consoleSize"), "process.consoleSize", { height: RANGES.u16, width: RANGES.u16 }, ["height", "width"]);
}

function validateLinux(l: Record<string, unknown>): void {
  dropNulls(l, ["namespaces", "uidMappings", "gidMappings", "devices", "sysctl", "maskedPaths", "readonlyPaths", "timeOffsets", "personality", "resources", "seccomp"]);
  fields(l, "linux", { cgroupsPath: "string", rootfsPropagation: "string", mountLabel: "string" });
  if (l.rootfsPropagation !== undefined && !PROPAGATIONS.includes(l.rootfsPropagation as string)) {
    throw new BerthError(`${JSON.stringify(l.rootfsPropagation)} is not a propagation; use one of ${PROPAGATIONS.join(", ")}`, { field: "linux.rootfsPropagation" });
  }
  if (l.namespaces != null) {
    const seen = new Set<string>();
    array(l.namespaces, "linux.namespaces").forEach((n, i) => {
      const f = `linux.namespaces[${i}]`;
      const o = object(n, f);
      fields(o, f, { type: "string", path: "string" }, ["type"]);
      if (!NAMESPACE_TYPES.includes(o.type as NamespaceType)) {
        throw new BerthError(`${JSON.stringify(o.type)} is not a namespace type; use one of ${NAMESPACE_TYPES.join(", ")}`, { field: `${f}.type` });
      }
      if (seen.has(o.type as string)) throw new BerthError(`${o.type} is listed twice; keep one entry`, { field: `${f}.type` });
      seen.add(o.type as string);
      if (o.path !== undefined) absolute(o.path as string, `${f}.path`);
    });
  }
  if (l.uidMappings != null) idMappings(l.uidMappings, "linux.uidMappings");
  if (l.gidMappings != null) idMappings(l.gidMappings, "linux.gidMappings");
  if (l.devices != null) {
    bounded(l.devices, "linux.devices", MAX_STEPS).forEach((d, i) => {
      const f = `linux.devices[${i}]`;
      const o = object(d, f);
      // major and minor as the kernel's dev_t holds them (12 and 20 bits): a larger one would wrap into another device
      fields(o, f, { type: "string", path: "string", major: { lo: 0, hi: 4095 }, minor: { lo: 0, hi: 2 ** 20 - 1 }, fileMode: RANGES.mode, uid: RANGES.id, gid: RANGES.id }, ["type", "path"]);
      absolute(o.path as string, `${f}.path`);
      if (!["c", "b", "u", "p"].includes(o.type as string)) {
        throw new BerthError(`${JSON.stringify(o.type)} is not a device type; use c (char), b (block), u (unbuffered char) or p (fifo)`, { field: `${f}.type` });
      }
      if (o.type !== "p") {
        for (const k of ["major", "minor"]) {
          if (o[k] === undefined) throw new BerthError(`is required for a ${o.type === "b" ? "block" : "character"} device`, { field: `${f}.${k}` });
        }
      }
    });
  }
  if (l.sysctl != null) {
    const s = object(l.sysctl, "linux.sysctl");
    for (const [k, v] of Object.entries(s)) {
      check(k, "string", keyField("linux.sysctl", k));
      check(v, "string", keyField("linux.sysctl", k));
    }
  }
  for (const key of ["maskedPaths", "readonlyPaths"]) {
    if (l[key] != null) {
      bounded(l[key], `linux.${key}`, MAX_STEPS);
      strings(l[key], `linux.${key}`).forEach((p, i) => absolute(p, `linux.${key}[${i}]`));
    }
  }
  if (l.timeOffsets != null) {
    const t = object(l.timeOffsets, "linux.timeOffsets");
    for (const [clock, off] of Object.entries(t)) {
      if (clock !== "monotonic" && clock !== "boottime") {
        throw new BerthError(`${JSON.stringify(clock)} is not a clock a time namespace can offset; use monotonic or boottime`, { field: keyField("linux.timeOffsets", clock) });
      }
      fields(object(off, `linux.timeOffsets.${clock}`), `linux.timeOffsets.${clock}`, { secs: "int", nanosecs: { lo: 0, hi: 999_999_999 } });
    }
  }
  if (l.personality != null) {
    const per = object(l.personality, "linux.personality");
    fields(per, "linux.personality", { domain: "string" }, ["domain"]);
    if (per.flags != null) strings(per.flags, "linux.personality.flags");
  }
  if (l.resources != null) l.resources = validateResources(l.resources);
  if (l.seccomp != null) l.seccomp = validateSeccomp(l.seccomp);
}
