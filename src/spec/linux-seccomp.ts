/**
 * OCI `linux.seccomp` as config.json spells it: the names runtime-spec allows, the types,
 * and the validation (runc's and crun's rules), each error naming the field. Pure and
 * free of libseccomp, so validating a config.json loads no FFI code; security/seccomp.ts
 * compiles what passes here into BPF.
 */
import { BerthError } from "../errors.ts";
import { describeValue } from "./shape.ts";

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

/** The runtime-spec's list; which of them work is up to the installed libseccomp (checked when compiling). */
export const SECCOMP_ARCHITECTURES = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
] as const;

export const SECCOMP_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

// ---------------------------------------------------------------------------------------
// Validation (pure)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? "undefined" : describeValue(v));
const TAKES_ERRNO: readonly string[] = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];
// libseccomp refuses SCMP_ACT_ERRNO(n) for n >= MAX_ERRNO (4095); TRACE's data is 16 bits.
const ERRNO_LIMIT = 4094;
const TRACE_LIMIT = 0xffff;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string, field: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  const head = value === undefined ? "is required" : `${show(value)} is not ${what}`;
  throw new BerthError(`${head}; use one of ${allowed.join(", ")}`, { field });
}

function errnoRet(value: unknown, action: SeccompAction, field: string, actionField: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new BerthError(`${show(value)} is not an errno number; use a non-negative integer such as 1 (EPERM)`, { field });
  }
  if (!TAKES_ERRNO.includes(action)) {
    // runtime-spec: "When the action doesn't support an errno, the runtime MUST print an error and fail" (crun does; runc ignores it).
    throw new BerthError(`${action} (${actionField}) takes no errno; remove it or use SCMP_ACT_ERRNO or SCMP_ACT_TRACE`, { field });
  }
  const limit = action === "SCMP_ACT_ERRNO" ? ERRNO_LIMIT : TRACE_LIMIT;
  if (value > limit) throw new BerthError(`${value} is too large for ${action}; use a value from 0 to ${limit}`, { field });
}

function uint64(value: unknown, field: string): void {
  // JSON numbers past 2^53 are already rounded; 2^64 itself is out of range.
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= 2 ** 64) {
    throw new BerthError(`${show(value)} is not a 64-bit unsigned integer; use a number from 0 to 18446744073709551615`, { field });
  }
}

function stringList(value: unknown, field: string, what: string): unknown[] {
  if (value !== undefined && !Array.isArray(value)) throw new BerthError(`must be an array of ${what}`, { field });
  return value ?? [];
}

/**
 * Check `linux.seccomp` field by field; the first problem throws a one-line BerthError
 * naming the exact field. Pure: no libseccomp, so `berth-runtime create` fails on a bad
 * profile before any work. Returns undefined for a profile with neither defaultAction
 * nor syscalls, which runc reads as "no seccomp".
 *
 * @example
 * validateSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }] });
 * validateSeccomp({ defaultAction: "SCMP_ACT_FOO" });
 * // throws linux.seccomp.defaultAction: "SCMP_ACT_FOO" is not a seccomp action; use one of SCMP_ACT_KILL, …
 */
export function validateSeccomp(seccomp: unknown, field = "linux.seccomp"): LinuxSeccomp | undefined {
  if (!isObject(seccomp)) {
    throw new BerthError(`must be an object like {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [...]}`, { field });
  }
  const syscalls = seccomp.syscalls;
  if (syscalls !== undefined && !Array.isArray(syscalls)) {
    throw new BerthError(`must be an array of {"names": [...], "action": "SCMP_ACT_..."} entries`, { field: `${field}.syscalls` });
  }
  // runc (specconv.SetupSeccomp): no default action and no syscalls means seccomp is off.
  if ((seccomp.defaultAction === undefined || seccomp.defaultAction === "") && (syscalls ?? []).length === 0) return undefined;

  const defaultAction = oneOf(seccomp.defaultAction, SECCOMP_ACTIONS, "a seccomp action", `${field}.defaultAction`);
  if (defaultAction === "SCMP_ACT_NOTIFY") {
    // runc: the runtime's own syscalls after loading the filter would wait on an agent that has no fd yet.
    throw new BerthError("SCMP_ACT_NOTIFY cannot be the default action; use it in syscalls[] for the calls the agent handles", { field: `${field}.defaultAction` });
  }
  errnoRet(seccomp.defaultErrnoRet, defaultAction, `${field}.defaultErrnoRet`, `${field}.defaultAction`);

  stringList(seccomp.architectures, `${field}.architectures`, "SCMP_ARCH_* names").forEach((arch, i) =>
    oneOf(arch, SECCOMP_ARCHITECTURES, "a seccomp architecture", `${field}.architectures[${i}]`));
  stringList(seccomp.flags, `${field}.flags`, "SECCOMP_FILTER_FLAG_* names").forEach((flag, i) =>
    oneOf(flag, SECCOMP_FLAGS, "a seccomp flag", `${field}.flags[${i}]`));

  const { listenerPath, listenerMetadata } = seccomp;
  if (listenerPath !== undefined && (typeof listenerPath !== "string" || listenerPath === "")) {
    throw new BerthError("must be the path of the seccomp agent's unix socket", { field: `${field}.listenerPath` });
  }
  if (listenerMetadata !== undefined) {
    if (typeof listenerMetadata !== "string") throw new BerthError(`${show(listenerMetadata)} is not a string; pass the agent's metadata as a string`, { field: `${field}.listenerMetadata` });
    // runtime-spec: "This field MUST NOT be set if listenerPath is not set".
    if (!listenerPath) throw new BerthError("is set without listenerPath; set listenerPath to the agent's socket or remove listenerMetadata", { field: `${field}.listenerMetadata` });
  }

  // Plain loops over the rules and their names, not forEach/reduce callbacks: docker's
  // profile has ~350 names, and every create checks them before JavaScriptCore has
  // compiled anything (the callbacks were a third of the validation's time)
  const rules: unknown[] = syscalls ?? [];
  let names = 0;
  for (let i = 0; i < rules.length; i++) {
    validateSyscall(rules[i], `${field}.syscalls[${i}]`, field, Boolean(listenerPath));
    // Each name costs the filter at least one instruction, and the kernel takes 4096: a
    // bigger profile cannot load, and libseccomp takes seconds to say so (20k rules: 21 s).
    names += (rules[i] as { names: unknown[] }).names.length;
  }
  if (names > MAX_SYSCALL_NAMES) {
    throw new BerthError(`lists ${names} syscall names across its rules; a filter holds at most ${MAX_SYSCALL_NAMES} instructions, so merge rules or drop names`, { field: `${field}.syscalls` });
  }
  return seccomp as unknown as LinuxSeccomp;
}

/** BPF_MAXINSNS: the kernel's limit on a classic BPF program. */
const MAX_SYSCALL_NAMES = 4096;

function validateSyscall(entry: unknown, at: string, field: string, hasListener: boolean): void {
  if (!isObject(entry)) throw new BerthError(`must be an object like {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}`, { field: at });
  const names = entry.names;
  if (!Array.isArray(names) || names.length === 0) {
    throw new BerthError(`must list at least one syscall name, like ["mkdir"]`, { field: `${at}.names` });
  }
  for (let j = 0; j < names.length; j++) {
    const name: unknown = names[j];
    if (typeof name !== "string" || name === "") throw new BerthError(`${show(name)} is not a syscall name; use a name like "mkdirat"`, { field: `${at}.names[${j}]` });
  }
  const action = oneOf(entry.action, SECCOMP_ACTIONS, "a seccomp action", `${at}.action`);
  if (action === "SCMP_ACT_NOTIFY") {
    // runc refuses this when the process starts ("seccomp listenerPath is not set"); here it is refused up front.
    if (!hasListener) throw new BerthError(`SCMP_ACT_NOTIFY needs ${field}.listenerPath, the seccomp agent's socket; set it or use another action`, { field: `${at}.action` });
    const write = names.indexOf("write");
    // runc: the runtime writes the listener fd to its parent after loading the filter; a
    // notifying write would wait for an agent that never gets the fd.
    if (write >= 0) throw new BerthError(`SCMP_ACT_NOTIFY cannot be used for "write"; remove it from this entry`, { field: `${at}.names[${write}]` });
  }
  errnoRet(entry.errnoRet, action, `${at}.errnoRet`, `${at}.action`);

  const args = entry.args;
  if (args !== undefined && !Array.isArray(args)) throw new BerthError(`must be an array of {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"} objects`, { field: `${at}.args` });
  (args ?? []).forEach((arg: unknown, k: number) => {
    const af = `${at}.args[${k}]`;
    if (!isObject(arg)) throw new BerthError(`must be an object like {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}`, { field: af });
    const index = arg.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 5) {
      throw new BerthError(`${show(index)} is not a syscall argument index; use 0 to 5`, { field: `${af}.index` });
    }
    uint64(arg.value, `${af}.value`);
    if (arg.valueTwo !== undefined) uint64(arg.valueTwo, `${af}.valueTwo`);
    oneOf(arg.op, SECCOMP_OPERATORS, "a seccomp comparison", `${af}.op`);
  });
}
