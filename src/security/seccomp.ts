/**
 * OCI `linux.seccomp` → a classic BPF program for seccomp(2), with libseccomp, the way
 * runc builds it (libcontainer/specconv SetupSeccomp, libcontainer/seccomp
 * InitSeccomp/matchCall, patchbpf's -ENOSYS stub). The program is loaded later by
 * native/berth-init (its SECCOMP op); nothing here installs a filter.
 *
 * Validation and the spec types are in spec/linux-seccomp.ts (pure, an OCI type);
 * compileSeccomp calls libseccomp through sys/libseccomp.ts;
 * compileSeccompCached skips libseccomp entirely when the program is already on disk,
 * as crun does (src/libcrun/seccomp.c): that is most of a fast `create`.
 */
import { kernelBuild, kernelRelease } from "../sys/host-facts.ts";
import { close, mkdirParents, O, openPath, readBytes, renamePath, statPath, unlinkPath, writeAll } from "../sys/libc.ts";
import { BerthError } from "../errors.ts";
import {
  type ArgCmp, findLibseccomp, libseccompApiLevel, libseccompVersion, NR_SCMP_ERROR, nativeArch, resolveArch, resolveSyscall,
  SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_NOTIFY, SCMP_ACT_TRAP, SCMP_CMP,
  SCMP_FLTATR_CTL_LOG, SCMP_FLTATR_CTL_OPTIMIZE, SCMP_FLTATR_CTL_SSB, scmpActErrno, scmpActTrace, SeccompFilter,
} from "../sys/libseccomp.ts";
import { type LinuxSeccomp, type LinuxSyscall, type SeccompAction, type SeccompOperator } from "../spec/linux-seccomp.ts";

/** seccomp(2) SECCOMP_FILTER_FLAG_* bits (include/uapi/linux/seccomp.h) */
export const FILTER_FLAG_TSYNC = 1;
export const FILTER_FLAG_LOG = 2;
export const FILTER_FLAG_SPEC_ALLOW = 4;
export const FILTER_FLAG_NEW_LISTENER = 8;
export const FILTER_FLAG_WAIT_KILLABLE_RECV = 32;

/** The kernel's BPF_MAXINSNS: seccomp(2) refuses a longer program with EINVAL. */
export const MAX_INSTRUCTIONS = 4096;

export interface CompiledSeccomp {
  /** `struct sock_filter[]` in host byte order, ready for seccomp(SECCOMP_SET_MODE_FILTER) */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits to pass with it */
  flags: number;
  /** a rule uses SCMP_ACT_NOTIFY: loading returns a listener fd for listenerPath's agent */
  notify: boolean;
  /** syscall names this architecture does not have, left out as runc does */
  skipped: string[];
}

export interface CompileOptions {
  /** the spec path errors name; `linux.seccomp` unless the profile came from elsewhere */
  field?: string;
}

const EPERM = 1;
const ENOSYS = 38;
const EOPNOTSUPP = 95;

/** runc's getAction: KILL is KILL_THREAD; ERRNO and TRACE default to EPERM. */
function actionValue(action: SeccompAction, ret: number | undefined): number {
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD": return SCMP_ACT_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS": return SCMP_ACT_KILL_PROCESS;
    case "SCMP_ACT_TRAP": return SCMP_ACT_TRAP;
    case "SCMP_ACT_ERRNO": return scmpActErrno(ret ?? EPERM);
    case "SCMP_ACT_TRACE": return scmpActTrace(ret ?? EPERM);
    case "SCMP_ACT_ALLOW": return SCMP_ACT_ALLOW;
    case "SCMP_ACT_LOG": return SCMP_ACT_LOG;
    case "SCMP_ACT_NOTIFY": return SCMP_ACT_NOTIFY;
  }
}

const OPERATOR: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: SCMP_CMP.NE, SCMP_CMP_LT: SCMP_CMP.LT, SCMP_CMP_LE: SCMP_CMP.LE, SCMP_CMP_EQ: SCMP_CMP.EQ,
  SCMP_CMP_GE: SCMP_CMP.GE, SCMP_CMP_GT: SCMP_CMP.GT, SCMP_CMP_MASKED_EQ: SCMP_CMP.MASKED_EQ,
};

/** `SCMP_ARCH_X86_64` → `x86_64`, the name seccomp_arch_resolve_name takes (crun does the same). */
const archName = (arch: string) => arch.slice("SCMP_ARCH_".length).toLowerCase();

/**
 * Build the BPF program for a validated profile with libseccomp, following runc:
 * - KILL is KILL_THREAD; ERRNO/TRACE take errnoRet (default EPERM) — for TRACE it is the tracer's message
 * - the native architecture is always in the filter, plus `architectures`
 * - a rule whose action equals the default action is left out (libseccomp refuses it)
 * - a name this architecture does not know is skipped (listed in `skipped`)
 * - args: one rule with every condition ANDed, unless an argument index repeats — then
 *   one rule per condition (runc's matchCall)
 * - flags unset → SPEC_ALLOW when the kernel has it; TSYNC is accepted and ignored
 * - with a non-allowing default action, runc's -ENOSYS stub is prepended: syscalls newer
 *   than any the profile names fail with ENOSYS, so libc falls back instead of failing
 *
 * @example
 * const { program, flags } = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
 */
export function compileSeccomp(seccomp: LinuxSeccomp, options: CompileOptions = {}): CompiledSeccomp {
  const field = options.field ?? "linux.seccomp";
  const syscalls = seccomp.syscalls ?? [];
  const notify = syscalls.some((s) => s.action === "SCMP_ACT_NOTIFY");
  if (notify && libseccompApiLevel() < 6) {
    throw new BerthError(`SCMP_ACT_NOTIFY needs libseccomp >= 2.5.0 and Linux >= 5.7 (libseccomp ${libseccompVersion()} reports API level ${libseccompApiLevel()}); use another action`, { field: `${field}.syscalls[${syscalls.findIndex((s) => s.action === "SCMP_ACT_NOTIFY")}].action` });
  }

  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet);
  const filter = new SeccompFilter(defaultAction, `${field}.defaultAction`);
  try {
    const native = nativeArch();
    const arches: number[] = [native];
    (seccomp.architectures ?? []).forEach((arch, i) => {
      const token = resolveArch(archName(arch));
      if (token === 0) throw new BerthError(`${arch} is not supported by libseccomp ${libseccompVersion()}; remove it or install a newer libseccomp`, { field: `${field}.architectures[${i}]` });
      filter.addArch(token, `${field}.architectures[${i}]`);
      if (!arches.includes(token)) arches.push(token);
    });

    const flags = filterFlags(filter, seccomp, notify, field);

    // runc turns on libseccomp's binary-tree layout past 32 rules: libseccomp <= 2.5.4
    // misbehaves with it and no rules, and a short list gains nothing from it. The
    // attribute is new in 2.5.0, so an older library just keeps the linear layout.
    if (syscalls.reduce((n, s) => n + s.names.length, 0) > 32) filter.setAttr(SCMP_FLTATR_CTL_OPTIMIZE, 2);

    const skipped = new Set<string>();
    syscalls.forEach((entry, i) => {
      const action = actionValue(entry.action, entry.errnoRet);
      if (action === defaultAction) return; // runc: redundant, and libseccomp would refuse it
      const conditions: ArgCmp[] = (entry.args ?? []).map((a) => ({
        arg: a.index, op: OPERATOR[a.op], datumA: BigInt(a.value), datumB: BigInt(a.valueTwo ?? 0),
      }));
      const repeats = new Set(conditions.map((c) => c.arg)).size !== conditions.length;
      for (const name of entry.names) {
        const nr = resolveSyscall(0, name);
        if (nr === NR_SCMP_ERROR) {
          skipped.add(name);
          continue;
        }
        const at = `${field}.syscalls[${i}]`;
        if (repeats) for (const c of conditions) filter.addRule(action, nr, [c], at, name);
        else filter.addRule(action, nr, conditions, at, name);
      }
    });

    let program = filter.exportBpf(field);
    if (needsEnosysStub(seccomp, defaultAction)) program = concat(enosysStub(lastSyscalls(syscalls, arches)), program);
    const count = program.length / 8;
    if (count > MAX_INSTRUCTIONS) {
      throw new BerthError(`compiles to ${count} BPF instructions, more than the kernel's ${MAX_INSTRUCTIONS}; merge rules that share an action or drop architectures`, { field });
    }
    return { program, flags, notify, skipped: [...skipped] };
  } finally {
    filter.release();
  }
}

/**
 * The SECCOMP_FILTER_FLAG_* bits. LOG and SPEC_ALLOW are set on the libseccomp filter
 * only because that is how libseccomp reports whether this kernel has them (runc's
 * FlagSupported); the bits themselves go to berth-init with the program.
 */
function filterFlags(filter: SeccompFilter, seccomp: LinuxSeccomp, notify: boolean, field: string): number {
  let flags = notify ? FILTER_FLAG_NEW_LISTENER : 0;
  if (seccomp.flags === undefined) {
    // runc: no flags at all (not even []) means SPEC_ALLOW where it is supported.
    if (filter.setAttr(SCMP_FLTATR_CTL_SSB, 1) === 0) flags |= FILTER_FLAG_SPEC_ALLOW;
    return flags;
  }
  seccomp.flags.forEach((flag, i) => {
    const at = `${field}.flags[${i}]`;
    switch (flag) {
      case "SECCOMP_FILTER_FLAG_TSYNC":
        // runc ignores it: the filter goes on a single-threaded init right before execve,
        // and TSYNC with NEW_LISTENER is EINVAL.
        return;
      case "SECCOMP_FILTER_FLAG_LOG":
        flags |= supported(filter.setAttr(SCMP_FLTATR_CTL_LOG, 1), flag, "4.14", at) ? FILTER_FLAG_LOG : 0;
        return;
      case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
        flags |= supported(filter.setAttr(SCMP_FLTATR_CTL_SSB, 1), flag, "4.17", at) ? FILTER_FLAG_SPEC_ALLOW : 0;
        return;
      case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
        // The kernel refuses it without NEW_LISTENER; libseccomp 2.6 likewise passes it only
        // when the filter has a notify rule.
        if (notify) flags |= FILTER_FLAG_WAIT_KILLABLE_RECV;
        return;
    }
  });
  return flags;
}

function supported(rc: number, flag: string, linux: string, field: string): true {
  if (rc === -EOPNOTSUPP) throw new BerthError(`${flag} is not supported by this kernel (needs Linux ${linux}); remove it`, { field });
  if (rc < 0) throw new BerthError(`${flag}: libseccomp ${libseccompVersion()} cannot set it (error ${-rc}); remove it or upgrade libseccomp`, { field });
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------------------------------
// runc's -ENOSYS stub (libcontainer/seccomp/patchbpf/enosys_linux.go)
//
// With a deny-by-default profile, a syscall newer than the profile gets the default
// action (EPERM), and libc only falls back to an older call on ENOSYS (clone3 → clone,
// fchmodat2 → fchmodat, …). The stub answers ENOSYS for any syscall number above the
// largest one the profile names, per architecture, before libseccomp's filter runs.

const AUDIT_ARCH_X86_64 = 0xc000003e;
const SCMP_ARCH_X32 = 0x4000003e;
const SCMP_ARCH_S390 = 0x16;
const SCMP_ARCH_S390X = 0x80000016;
const X32_SYSCALL_BIT = 0x40000000;

function needsEnosysStub(seccomp: LinuxSeccomp, defaultAction: number): boolean {
  // runc's isAllowAction: TRACE counts as allowing, a tracer handles new syscalls itself.
  if (["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(seccomp.defaultAction)) return false;
  // A default of ERRNO(ENOSYS) already says what the stub would.
  return defaultAction !== scmpActErrno(ENOSYS);
}

/** AUDIT_ARCH → (libseccomp arch token → largest syscall number named), as runc's findLastSyscalls. */
type LastSyscalls = Map<number, Map<number, number>>;

function lastSyscalls(syscalls: LinuxSyscall[], arches: number[]): LastSyscalls {
  const last: LastSyscalls = new Map();
  for (const arch of arches) {
    // x32 shares x86_64's AUDIT_ARCH; its syscalls are told apart by bit 30 of the number.
    const audit = arch === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch;
    let largest = 0;
    for (const entry of syscalls) for (const name of entry.names) largest = Math.max(largest, resolveSyscall(arch, name));
    if (largest <= 0) continue; // runc: no known syscall for this arch, nothing to compare against
    if (!last.has(audit)) last.set(audit, new Map());
    last.get(audit)!.set(arch, largest);
  }
  return last;
}

type Insn = [code: number, jt: number, jf: number, k: number];
const LD_W_ABS = 0x20, JMP_JA = 0x05, JMP_JEQ_K = 0x15, JMP_JGT_K = 0x25, JMP_JSET_K = 0x45, RET_K = 0x06;
const load = (offset: number): Insn => [LD_W_ABS, 0, 0, offset];
const ja = (skip: number): Insn => [JMP_JA, 0, 0, skip];
const jeq = (k: number, jt: number, jf = 0): Insn => [JMP_JEQ_K, jt, jf, k >>> 0];
const jgt = (k: number, jt: number, jf = 0): Insn => [JMP_JGT_K, jt, jf, k >>> 0];
const jset = (k: number, jt: number, jf = 0): Insn => [JMP_JSET_K, jt, jf, k >>> 0];
const retEnosys = (): Insn => [RET_K, 0, 0, scmpActErrno(ENOSYS)];
const OFFSET_NR = 0, OFFSET_ARCH = 4; // struct seccomp_data

/**
 * The stub, instruction for instruction as runc's generateEnosysStub (its jumps count
 * from the end of the stub, so sections are built back to front), but in a fixed
 * order so the same profile always gives the same bytes.
 */
function enosysStub(last: LastSyscalls): Uint8Array {
  if (last.size === 0) return new Uint8Array(0);
  let tail: Insn[] = [ja(1), retEnosys()];
  const jumpTable = new Map<number, number>();

  for (const [audit, maxes] of last) {
    const toEnosys = tail.length - 1;
    const toFilter = toEnosys + 1;
    const section: Insn[] = [load(OFFSET_NR)];
    if (maxes.size === 1) {
      const [[arch, nr]] = [...maxes] as [[number, number]];
      // s390: an unknown syscall arrives as setup(2), number 0.
      if (arch === SCMP_ARCH_S390 || arch === SCMP_ARCH_S390X) section.push(jeq(0, 0, 1), retEnosys());
      let sectionTail: Insn[] = toEnosys + 1 <= 255
        ? [jgt(nr, toEnosys + 1), ja(toFilter)]
        : [jgt(nr, 0, 1), retEnosys(), ja(toFilter)];
      if (audit === AUDIT_ARCH_X86_64) {
        // x86_64 and x32 share the AUDIT_ARCH: skip to the filter when the call is the other ABI's.
        sectionTail = arch === SCMP_ARCH_X32
          ? [jset(X32_SYSCALL_BIT, 0, sectionTail.length - 1), ...sectionTail]
          : [jset(X32_SYSCALL_BIT, sectionTail.length - 1), ...sectionTail];
      }
      section.push(...sectionTail);
    } else {
      // Two tokens on one AUDIT_ARCH is only x86_64 + x32 (lastSyscalls never makes another pair).
      const x86 = maxes.get(AUDIT_ARCH_X86_64)!, x32 = maxes.get(SCMP_ARCH_X32)!;
      section.push(...(toEnosys + 2 <= 255
        ? [jset(X32_SYSCALL_BIT, 1), jgt(x86, toEnosys + 2, 1), jgt(x32, toEnosys + 1), ja(toFilter)]
        : [jset(X32_SYSCALL_BIT, 1), jgt(x86, 1, 2), jgt(x32, 0, 1), retEnosys(), ja(toFilter)]));
    }
    tail = [...section, ...tail];
    jumpTable.set(audit, tail.length);
  }

  // An architecture not listed above falls through to the filter (which has its own bad-arch action).
  tail = [ja(tail.length), ...tail];
  for (const audit of last.keys()) {
    const jump = tail.length - jumpTable.get(audit)!;
    tail = jump <= 255 ? [jeq(audit, jump), ...tail] : [jeq(audit, 0, 1), ja(jump), ...tail];
  }
  tail = [load(OFFSET_ARCH), ...tail];

  // struct sock_filter { u16 code; u8 jt, jf; u32 k; } in host order; Bun runs on little-endian hosts only.
  const out = new Uint8Array(tail.length * 8);
  const view = new DataView(out.buffer);
  tail.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, true);
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Cache (crun's idea: a compiled program keyed by everything that shaped it)

/** Bump when the cache file layout or anything compileSeccomp emits changes. */
const CACHE_FORMAT = 1;
const MAGIC = "berth-sc";
const SUMMED = 8 + 4 * 5; // magic, format, flags, notify, program bytes, skipped bytes
const HEADER = SUMMED + 32; // then sha256 over those fields and the body

export interface CachedSeccomp extends CompiledSeccomp {
  /** hit: read from cacheDir, libseccomp never loaded; stored: compiled and written; uncached: compiled, not written */
  cache: "hit" | "stored" | "uncached";
}

const sha256 = (data: string | Uint8Array) => new Bun.CryptoHasher("sha256").update(data).digest();

/**
 * The cache file name for a profile: sha256 over the profile, the libseccomp file, the
 * machine and the kernel (libseccomp's answers about flags and actions depend on it),
 * and the cache format. Undefined when libseccomp cannot be found (then nothing is cached).
 *
 * The profile goes in as JSON.stringify writes it, keys in the config's order: the same
 * profile with its keys reordered is another key — a miss and one more file, never a
 * wrong hit. Sorting the keys first (canonical JSON, until 2026-12-06) cost every
 * `create` 0.5 ms on docker's profile; engines write the same profile the same way.
 */
export function seccompCacheKey(seccomp: LinuxSeccomp): string | undefined {
  const lib = findLibseccomp();
  if (!lib) return undefined;
  // the kernel's release and build (uname -r, -v) from /proc: node:os would cost `create` a module load
  const kernel = [kernelRelease(), kernelBuild()];
  const input = [`berth-seccomp/${CACHE_FORMAT}`, JSON.stringify(seccomp), lib.identity, process.arch, ...kernel].join("\0");
  return sha256(input).toString("hex");
}

/** sha256 over a cache file's fields and body: everything but the checksum itself. */
const checksum = (file: Uint8Array) => sha256(concat(file.subarray(0, SUMMED), file.subarray(HEADER)));

function encodeEntry(c: CompiledSeccomp): Uint8Array {
  const skipped = new TextEncoder().encode(c.skipped.join("\n"));
  const body = concat(c.program, skipped);
  const out = new Uint8Array(HEADER + body.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC));
  view.setUint32(8, CACHE_FORMAT, true);
  view.setUint32(12, c.flags, true);
  view.setUint32(16, c.notify ? 1 : 0, true);
  view.setUint32(20, c.program.length, true);
  view.setUint32(24, skipped.length, true);
  out.set(body, HEADER);
  out.set(checksum(out), SUMMED);
  return out;
}

/** A cache file back into a result; undefined for anything short, foreign or damaged. */
function decodeEntry(data: Uint8Array): CompiledSeccomp | undefined {
  if (data.length < HEADER || new TextDecoder().decode(data.subarray(0, 8)) !== MAGIC) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const [format, flags, notify, programBytes, skippedBytes] = [8, 12, 16, 20, 24].map((o) => view.getUint32(o, true)) as [number, number, number, number, number];
  if (format !== CACHE_FORMAT || notify > 1 || programBytes === 0 || programBytes % 8 !== 0) return undefined;
  if (HEADER + programBytes + skippedBytes !== data.length) return undefined;
  if (!checksum(data).equals(data.subarray(SUMMED, HEADER))) return undefined;
  const body = data.subarray(HEADER);
  const skipped = new TextDecoder().decode(body.subarray(programBytes));
  return { program: body.slice(0, programBytes), flags, notify: notify === 1, skipped: skipped ? skipped.split("\n") : [] };
}

/**
 * Our own 0700 directory, or not usable: a program read from a directory others can
 * write to could be anybody's filter.
 */
function trustedDir(dir: string): "yes" | "missing" | "no" {
  try {
    const st = statPath(dir, { follow: false });
    return st.isDirectory && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0 ? "yes" : "no";
  } catch (err) {
    return (err as { code?: string }).code === "ENOENT" ? "missing" : "no";
  }
}

/**
 * {@link compileSeccomp} behind an on-disk cache: `<cacheDir>/<key>.bpf` (see
 * {@link seccompCacheKey}). A hit reads one file and never loads libseccomp. A missing,
 * short or damaged file is compiled afresh and replaced (temp file + rename, so a reader
 * never sees half a program). cacheDir is created 0700; one that is not ours and private
 * is not used. Failing to write the cache does not fail the compile.
 *
 * @example
 * const { program, flags, cache } = compileSeccompCached(spec.linux.seccomp, "/run/berth/seccomp");
 */
export function compileSeccompCached(seccomp: LinuxSeccomp, cacheDir: string, options: CompileOptions = {}): CachedSeccomp {
  const key = seccompCacheKey(seccomp);
  const trust = key ? trustedDir(cacheDir) : "no";
  const path = key ? `${cacheDir}/${key}.bpf` : "";
  if (trust === "yes") {
    let data: Uint8Array | undefined;
    try {
      data = readBytes(path);
    } catch {} // missing or unreadable: compile
    const hit = data && decodeEntry(data);
    if (hit) return { ...hit, cache: "hit" };
  }

  const compiled = compileSeccomp(seccomp, options);
  if (trust === "no") return { ...compiled, cache: "uncached" };
  const tmp = `${cacheDir}/.${key}.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (trust === "missing") mkdirParents(cacheDir, 0o700);
    // No fsync: a file torn by a crash fails its checksum and is compiled again.
    const fd = openPath(tmp, O.WRONLY | O.CREAT | O.EXCL, 0o600);
    try {
      writeAll(fd, encodeEntry(compiled));
    } finally {
      close(fd);
    }
    renamePath(tmp, path);
    return { ...compiled, cache: "stored" };
  } catch {
    try {
      unlinkPath(tmp);
    } catch {} // never created
    return { ...compiled, cache: "uncached" };
  }
}
