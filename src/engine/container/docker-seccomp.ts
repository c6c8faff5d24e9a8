/**
 * Docker's default seccomp profile, and docker's profile format → OCI `linux.seccomp`.
 *
 * `docker-seccomp.json` is moby's `profiles/seccomp/default.json` unchanged, taken from
 * github.com/moby/moby at b985e2313a8676e18072b442911fc8f64f17d440
 * (vendor/github.com/moby/profiles/seccomp/default.json, module moby/profiles/seccomp
 * v0.2.3). Its format is docker's, not OCI's: an `archMap` instead of `architectures`, and
 * rules that apply only `includes` / `excludes` some capabilities, architectures or
 * kernel versions. `--security-opt seccomp=FILE` takes either format, as docker does.
 *
 * The conversion follows moby's `setupSeccomp` (profiles/seccomp/seccomp_linux.go): the
 * native architecture and its sub-architectures from the map; a rule is kept when every
 * included capability is in the container's bounding set, its architecture is listed,
 * and the kernel is at least `minKernel`; dropped when any excluded capability is in the
 * bounding set or the architecture is excluded. Pure.
 */
import { BerthError } from "../../errors.ts";
import type { LinuxSeccomp, LinuxSyscall } from "../../spec/linux-seccomp.ts";
import profile from "./docker-seccomp.json" with { type: "json" };

interface RuleFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

/** A rule of docker's profile: an OCI syscall rule plus its conditions. */
interface DockerSyscall extends LinuxSyscall {
  name?: string;
  comment?: string;
  includes?: RuleFilter | null;
  excludes?: RuleFilter | null;
}

export interface DockerSeccompProfile {
  defaultAction: LinuxSeccomp["defaultAction"];
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[] | null;
  flags?: LinuxSeccomp["flags"];
  listenerPath?: string;
  syscalls?: DockerSyscall[] | null;
}

export const DOCKER_DEFAULT_SECCOMP = profile as unknown as DockerSeccompProfile;

/** Go's GOARCH names (what the profile's `arches` say) → libseccomp's architecture. */
const SECCOMP_ARCH: Record<string, string> = {
  amd64: "SCMP_ARCH_X86_64", "386": "SCMP_ARCH_X86", x86: "SCMP_ARCH_X86", arm64: "SCMP_ARCH_AARCH64", arm: "SCMP_ARCH_ARM",
  ppc64le: "SCMP_ARCH_PPC64LE", s390x: "SCMP_ARCH_S390X", riscv64: "SCMP_ARCH_RISCV64", loong64: "SCMP_ARCH_LOONGARCH64",
};

/** Node's `process.arch` → the name the profile's `arches` use. */
export function goArch(nodeArch: string): string {
  return ({ x64: "amd64", ia32: "x86", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loongarch64" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

const atLeast = (kernel: [number, number], min: string): boolean => {
  const [maj = 0, minor = 0] = min.split(".").map(Number);
  return kernel[0] > maj || (kernel[0] === maj && kernel[1] >= minor);
};

export interface SeccompContext {
  /** the profile's architecture name (`amd64`), see {@link goArch} */
  arch: string;
  /** the container's bounding capabilities */
  bounding: string[];
  /** the running kernel's major and minor version */
  kernel: [number, number];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown) => v == null || (Array.isArray(v) && v.every((s) => typeof s === "string"));

/**
 * The parts of a profile (a user's file) the conversion reads have the types docker's Go
 * decoding wants: other JSON is one line naming the part, as docker refuses it — not a
 * TypeError from reading `null.architectures`. The values themselves (actions, args) are
 * the runtime's spec validation's.
 */
function checkShape(p: unknown, field: string): asserts p is DockerSeccompProfile {
  const refuse = (part: string, what: string) => new BerthError(`${part} is not ${what}; see docker's seccomp profile format (moby's profiles/seccomp/default.json)`, { field });
  if (!isObject(p)) throw refuse("the profile", "a JSON object");
  for (const key of ["architectures", "flags"]) if (!isStrings(p[key])) throw refuse(key, "a list of strings");
  if (p.archMap != null) {
    if (!Array.isArray(p.archMap)) throw refuse("archMap", "a list");
    p.archMap.forEach((a, i) => {
      if (!isObject(a) || typeof a.architecture !== "string") throw refuse(`archMap[${i}]`, "an object with an architecture");
      if (!isStrings(a.subArchitectures)) throw refuse(`archMap[${i}].subArchitectures`, "a list of strings");
    });
  }
  if (p.syscalls == null) return;
  if (!Array.isArray(p.syscalls)) throw refuse("syscalls", "a list");
  p.syscalls.forEach((call, i) => {
    if (!isObject(call)) throw refuse(`syscalls[${i}]`, "an object");
    if (call.name != null && typeof call.name !== "string") throw refuse(`syscalls[${i}].name`, "a string");
    if (!isStrings(call.names)) throw refuse(`syscalls[${i}].names`, "a list of strings");
    for (const side of ["includes", "excludes"]) {
      const filter = call[side];
      if (filter == null) continue;
      if (!isObject(filter)) throw refuse(`syscalls[${i}].${side}`, "an object");
      for (const key of ["caps", "arches"]) if (!isStrings(filter[key])) throw refuse(`syscalls[${i}].${side}.${key}`, "a list of strings");
      if (filter.minKernel != null && typeof filter.minKernel !== "string") throw refuse(`syscalls[${i}].${side}.minKernel`, "a string");
    }
  });
}

/**
 * @example dockerSeccomp(DOCKER_DEFAULT_SECCOMP, { arch: "amd64", bounding: ["CAP_CHOWN"], kernel: [6, 1] }).architectures
 * // → ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
 */
export function dockerSeccomp(p: DockerSeccompProfile, ctx: SeccompContext, field = "--security-opt seccomp"): LinuxSeccomp {
  // docker's own profile is known good: every run converts it
  if (p !== DOCKER_DEFAULT_SECCOMP) checkShape(p, field);
  if (p.architectures?.length && p.archMap?.length) {
    throw new BerthError("the profile has both architectures and archMap; use one of them", { field });
  }
  const out: LinuxSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.flags?.length) out.flags = p.flags;
  if (p.listenerPath) out.listenerPath = p.listenerPath;
  if (p.architectures?.length) out.architectures = p.architectures;
  const native = SECCOMP_ARCH[ctx.arch];
  const mapped = p.archMap?.find((a) => a.architecture === native);
  if (mapped) out.architectures = [mapped.architecture, ...(mapped.subArchitectures ?? [])];
  const syscalls: LinuxSyscall[] = [];
  for (const [i, call] of (p.syscalls ?? []).entries()) {
    if (call.name && call.names?.length) throw new BerthError("has both name and names; use one of them", { field: `${field}: syscalls[${i}]` });
    const ex = call.excludes;
    if (ex?.arches?.includes(ctx.arch) || ex?.caps?.some((c) => ctx.bounding.includes(c)) || (ex?.minKernel && atLeast(ctx.kernel, ex.minKernel))) continue;
    const inc = call.includes;
    if ((inc?.arches?.length && !inc.arches.includes(ctx.arch)) || inc?.caps?.some((c) => !ctx.bounding.includes(c)) || (inc?.minKernel && !atLeast(ctx.kernel, inc.minKernel))) continue;
    const rule: LinuxSyscall = { names: call.name ? [call.name] : call.names, action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args?.length) rule.args = call.args;
    syscalls.push(rule);
  }
  if (syscalls.length) out.syscalls = syscalls;
  return out;
}
