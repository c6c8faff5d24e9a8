/**
 * libseccomp (libseccomp.so.2) through Bun's FFI: just enough to build a filter from
 * rules and export it as classic BPF. berth never calls seccomp_load — the program is
 * handed to native/berth-init, which loads it between clone and execve.
 *
 * The library is opened on first use, never at import: a cached program
 * (security/seccomp.ts) must not pay for dlopen, and most CLI paths never need it.
 */
import type { Pointer } from "bun:ffi";
import { BerthError } from "../errors.ts";
import { describeErrno, errnoName } from "./errno.ts";
import { close, errno, preadFd, realPath, statFd, statPath, syscall } from "./libc.ts";

const ffi = () => require("bun:ffi") as typeof import("bun:ffi");

/** Actions as seccomp.h encodes them; ERRNO and TRACE carry 16 bits of data. */
export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_NOTIFY = 0x7fc00000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const scmpActErrno = (code: number) => (0x00050000 | (code & 0xffff)) >>> 0;
export const scmpActTrace = (msg: number) => (0x7ff00000 | (msg & 0xffff)) >>> 0;

/** enum scmp_compare */
export const SCMP_CMP = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 } as const;

/** enum scmp_filter_attr (the ones berth sets) */
export const SCMP_FLTATR_CTL_LOG = 6;
export const SCMP_FLTATR_CTL_SSB = 7;
export const SCMP_FLTATR_CTL_OPTIMIZE = 8;

/** seccomp_syscall_resolve_name's "no such syscall on this architecture" */
export const NR_SCMP_ERROR = -1;

/** One `struct scmp_arg_cmp`: argument index, SCMP_CMP_* and its one or two operands. */
export interface ArgCmp {
  arg: number;
  op: number;
  datumA: bigint;
  datumB: bigint;
}

const ARG_CMP_SIZE = 24; // unsigned int arg; enum op; uint64_t datum_a, datum_b — host order, and Bun runs on little-endian hosts only

/**
 * Where libseccomp.so.2 lives, found the way ld.so mostly would (LD_LIBRARY_PATH, then
 * the usual directories), without loading it. The compiled-program cache keys on this
 * file's identity, and the same file is then dlopen'ed, so key and library agree.
 */
export function findLibseccomp(): { path: string; identity: string } | undefined {
  const triplet = `${process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch}-linux-gnu`;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean),
    `/usr/lib/${triplet}`, `/lib/${triplet}`, "/usr/local/lib", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
  ];
  for (const dir of dirs) {
    try {
      const path = realPath(`${dir}/libseccomp.so.2`);
      const st = statPath(path);
      // The real name carries the version (libseccomp.so.2.5.4); size and mtime catch a
      // rebuilt library of the same version.
      return { path, identity: `${path}:${st.size}:${st.mtimeMs}` };
    } catch {} // not in this directory
  }
  return undefined;
}

function open() {
  const I32 = "i32" as const, U32 = "u32" as const, PTR = "ptr" as const;
  return ffi().dlopen(findLibseccomp()?.path ?? "libseccomp.so.2", {
    seccomp_version: { args: [], returns: PTR },
    seccomp_api_get: { args: [], returns: U32 },
    seccomp_init: { args: [U32], returns: PTR },
    seccomp_release: { args: [PTR], returns: "void" },
    seccomp_arch_native: { args: [], returns: U32 },
    seccomp_arch_resolve_name: { args: ["cstring"], returns: U32 },
    seccomp_arch_add: { args: [PTR, U32], returns: I32 },
    seccomp_syscall_resolve_name_arch: { args: [U32, "cstring"], returns: I32 },
    seccomp_rule_add_array: { args: [PTR, U32, I32, U32, PTR], returns: I32 },
    seccomp_attr_set: { args: [PTR, I32, U32], returns: I32 },
    seccomp_export_bpf: { args: [PTR, I32], returns: I32 },
  }).symbols;
}

let lib: ReturnType<typeof open> | undefined;
let loads = 0;
function libseccomp() {
  if (!lib) {
    try {
      lib = open();
    } catch (err) {
      throw new BerthError(`cannot load libseccomp.so.2 (${(err as Error).message.split("\n")[0]}); install libseccomp2 (Debian) or libseccomp (Fedora, Alpine)`, { field: "linux.seccomp", cause: err });
    }
    loads++;
  }
  return lib;
}

/** How many times this process has dlopen'ed libseccomp (0 or 1): lets tests prove a cache hit never loads it. */
export function libseccompLoads(): number {
  return loads;
}

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** `2.5.4`: the loaded library's version (struct scmp_version). */
export function libseccompVersion(): string {
  const v = libseccomp().seccomp_version() as Pointer | null;
  if (v === null) return "unknown";
  const read = ffi().read;
  return `${read.u32(v, 0)}.${read.u32(v, 4)}.${read.u32(v, 8)}`;
}

/**
 * The API level libseccomp found this kernel to support (seccomp_api_get): 6 and up
 * can create a user-notification listener (SCMP_ACT_NOTIFY).
 */
export function libseccompApiLevel(): number {
  return libseccomp().seccomp_api_get();
}

/** The native architecture's token (an AUDIT_ARCH_* value). */
export function nativeArch(): number {
  return libseccomp().seccomp_arch_native();
}

/** `x86_64` → its token, or 0 when this libseccomp does not know the name. */
export function resolveArch(name: string): number {
  return libseccomp().seccomp_arch_resolve_name(cstr(name));
}

/**
 * A syscall name → its number on `arch` (0 = native); {@link NR_SCMP_ERROR} when the
 * architecture has no such syscall. Other negative numbers are libseccomp's
 * pseudo-syscalls (socketcall-multiplexed calls), valid in rules.
 */
export function resolveSyscall(arch: number, name: string): number {
  return libseccomp().seccomp_syscall_resolve_name_arch(arch, cstr(name));
}

const SYS_MEMFD_CREATE = 319; // x86_64
const MFD_CLOEXEC = 1;

/**
 * A libseccomp filter context. Every failing call throws a BerthError naming `field`,
 * the spec path the caller was working on; call {@link release} when done.
 */
export class SeccompFilter {
  private ctx: Pointer | null;

  constructor(defaultAction: number, field: string) {
    this.ctx = libseccomp().seccomp_init(defaultAction) as Pointer | null;
    // seccomp_init returns NULL, not an errno, for an action the kernel lacks.
    if (this.ctx === null) throw new BerthError(`libseccomp refused the default action 0x${defaultAction.toString(16)}; this kernel may not support it (see /proc/sys/kernel/seccomp/actions_avail)`, { field });
  }

  private handle(): Pointer {
    if (this.ctx === null) throw new Error("seccomp filter used after release");
    return this.ctx;
  }

  /** seccomp_arch_add; an architecture already present (the native one) is fine. */
  addArch(token: number, field: string): void {
    const rc = libseccomp().seccomp_arch_add(this.handle(), token);
    if (rc === -33 /* EDOM */) {
      throw new BerthError(`seccomp_arch_add: ${describeErrno(33)}: one filter holds architectures of one byte order only; remove this one`, { field, errno: "EDOM" });
    }
    if (rc < 0 && rc !== -17 /* EEXIST */) throw failure("seccomp_arch_add", rc, field);
  }

  /** seccomp_attr_set; returns the negative errno instead of throwing, for callers that explain it. */
  setAttr(attr: number, value: number): number {
    return libseccomp().seccomp_attr_set(this.handle(), attr, value);
  }

  /**
   * seccomp_rule_add_array: libseccomp may rewrite the rule for each architecture
   * (socketcall multiplexing on x86), as runc's AddRuleConditional lets it.
   */
  addRule(action: number, syscallNr: number, conditions: ArgCmp[], field: string, name: string): void {
    const array = new Uint8Array(Math.max(1, conditions.length) * ARG_CMP_SIZE);
    const view = new DataView(array.buffer);
    conditions.forEach((c, i) => {
      view.setUint32(i * ARG_CMP_SIZE, c.arg, true);
      view.setUint32(i * ARG_CMP_SIZE + 4, c.op, true);
      view.setBigUint64(i * ARG_CMP_SIZE + 8, c.datumA, true);
      view.setBigUint64(i * ARG_CMP_SIZE + 16, c.datumB, true);
    });
    const rc = libseccomp().seccomp_rule_add_array(this.handle(), action, syscallNr, conditions.length, ffi().ptr(array));
    if (rc === -22 /* EINVAL */) {
      // libseccomp checks each action against the kernel (seccomp GET_ACTION_AVAIL).
      throw new BerthError(`seccomp_rule_add_array for ${JSON.stringify(name)}: ${describeErrno(22)}; this kernel may lack the action (see /proc/sys/kernel/seccomp/actions_avail)`, { field, errno: "EINVAL" });
    }
    if (rc < 0) throw failure(`seccomp_rule_add_array for ${JSON.stringify(name)}`, rc, field);
  }

  /**
   * The filter as `struct sock_filter[]`. libseccomp 2.5 can only write it to an fd, so
   * it goes through a memfd and is read back.
   */
  exportBpf(field: string): Uint8Array {
    const fd = syscall(SYS_MEMFD_CREATE, cstr("berth-seccomp"), MFD_CLOEXEC);
    if (fd < 0) throw new BerthError(`memfd_create for the seccomp program: ${describeErrno(errno())}`, { field, errno: errnoName(errno()) });
    try {
      const rc = libseccomp().seccomp_export_bpf(this.handle(), fd);
      if (rc < 0) throw failure("seccomp_export_bpf", rc, field);
      const program = new Uint8Array(statFd(fd).size);
      for (let at = 0; at < program.length; ) {
        const n = preadFd(fd, program.subarray(at), at);
        if (n === 0) break;
        at += n;
      }
      return program;
    } finally {
      close(fd);
    }
  }

  release(): void {
    if (this.ctx !== null) libseccomp().seccomp_release(this.ctx);
    this.ctx = null;
  }
}

function failure(call: string, rc: number, field: string): BerthError {
  return new BerthError(`${call}: ${describeErrno(-rc)}`, { field, errno: errnoName(-rc) });
}
