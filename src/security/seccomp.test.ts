/**
 * linux.seccomp: validation (pure), compilation with the real libseccomp, the on-disk
 * cache, and programs loaded by a real kernel — in a child process
 * (seccomp-probe.fixture.ts), because a filter can never be taken off again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../errors.ts";
import { resolveArch } from "../sys/libseccomp.ts";
import { compileSeccomp, compileSeccompCached, seccompCacheKey } from "./seccomp.ts";
import {
  type LinuxSeccomp, SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_FLAGS, SECCOMP_OPERATORS, validateSeccomp,
} from "../spec/linux-seccomp.ts";
import { clientSpec, clientSpecNames } from "../../test/client-specs.ts";
import { errorOf } from "../../test/berth-error.ts";

const EPERM = 1, ENOSYS = 38;
const dockerSeccomp = () => (clientSpec("docker-run") as { linux: { seccomp: LinuxSeccomp } }).linux.seccomp;

/** A small valid profile each validation case breaks in one place. */
function base(): Record<string, any> {
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    flags: ["SECCOMP_FILTER_FLAG_LOG"],
    syscalls: [
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
      { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    ],
  };
}

describe("validateSeccomp", () => {
  test("the seccomp profiles docker and podman generate are valid", () => {
    const withSeccomp = clientSpecNames().filter((n) => (clientSpec(n) as any).linux?.seccomp);
    expect(withSeccomp.length).toBeGreaterThanOrEqual(2);
    for (const name of withSeccomp) expect(validateSeccomp((clientSpec(name) as any).linux.seccomp)).toBeDefined();
  });

  test("the small base profile is valid and comes back as given", () => {
    const s = base();
    expect(validateSeccomp(s)).toBe(s as any);
  });

  test("no defaultAction and no syscalls is no seccomp at all, as in runc", () => {
    expect(validateSeccomp({})).toBeUndefined();
    expect(validateSeccomp({ defaultAction: "", syscalls: [] })).toBeUndefined();
  });

  test("every action, architecture, flag and operator the runtime-spec lists is accepted", () => {
    for (const action of SECCOMP_ACTIONS.filter((a) => a !== "SCMP_ACT_NOTIFY")) validateSeccomp({ defaultAction: action });
    validateSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: [...SECCOMP_ARCHITECTURES], flags: [...SECCOMP_FLAGS] });
    validateSeccomp({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: SECCOMP_OPERATORS.map((op, i) => ({ index: i % 6, value: i, valueTwo: 1, op })) }],
    });
  });

  test("SCMP_ACT_NOTIFY with a listenerPath, listenerMetadata and errnoRet 0 are accepted", () => {
    validateSeccomp({
      defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", listenerMetadata: "m",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }, { names: ["chmod"], action: "SCMP_ACT_ERRNO", errnoRet: 0 }],
    });
  });

  test("a value of 2^64-2048, the largest JSON can carry below 2^64, is accepted", () => {
    const s = base();
    s.syscalls[1].args[0].value = 2 ** 64 - 2048;
    validateSeccomp(s);
  });

  const ACTIONS = "use one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY";
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  // [what, how to break base() (or {replace: a whole new value}), the error line]
  const cases: [string, (s: Record<string, any>) => unknown, string][] = [
    ["an array", () => ({ replace: [] }), `linux.seccomp: must be an object like {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [...]}`],
    ["null", () => ({ replace: null }), `linux.seccomp: must be an object like {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [...]}`],
    ["an unknown default action", (s) => (s.defaultAction = "SCMP_ACT_FOO"), `linux.seccomp.defaultAction: "SCMP_ACT_FOO" is not a seccomp action; ${ACTIONS}`],
    ["a lower-case default action", (s) => (s.defaultAction = "scmp_act_allow"), `linux.seccomp.defaultAction: "scmp_act_allow" is not a seccomp action; ${ACTIONS}`],
    ["no default action with syscalls", (s) => delete s.defaultAction, `linux.seccomp.defaultAction: is required; ${ACTIONS}`],
    ["SCMP_ACT_NOTIFY as default", (s) => (s.defaultAction = "SCMP_ACT_NOTIFY"), "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action; use it in syscalls[] for the calls the agent handles"],
    ["a negative defaultErrnoRet", (s) => (s.defaultErrnoRet = -1), "linux.seccomp.defaultErrnoRet: -1 is not an errno number; use a non-negative integer such as 1 (EPERM)"],
    ["a fractional defaultErrnoRet", (s) => (s.defaultErrnoRet = 1.5), "linux.seccomp.defaultErrnoRet: 1.5 is not an errno number; use a non-negative integer such as 1 (EPERM)"],
    ["a string defaultErrnoRet", (s) => (s.defaultErrnoRet = "1"), `linux.seccomp.defaultErrnoRet: "1" is not an errno number; use a non-negative integer such as 1 (EPERM)`],
    ["defaultErrnoRet with an action that has no errno", (s) => ((s.defaultAction = "SCMP_ACT_KILL"), (s.defaultErrnoRet = 1)), "linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL (linux.seccomp.defaultAction) takes no errno; remove it or use SCMP_ACT_ERRNO or SCMP_ACT_TRACE"],
    ["an errno libseccomp refuses", (s) => (s.defaultErrnoRet = 4095), "linux.seccomp.defaultErrnoRet: 4095 is too large for SCMP_ACT_ERRNO; use a value from 0 to 4094"],
    ["a trace message over 16 bits", (s) => ((s.defaultAction = "SCMP_ACT_TRACE"), (s.defaultErrnoRet = 65536)), "linux.seccomp.defaultErrnoRet: 65536 is too large for SCMP_ACT_TRACE; use a value from 0 to 65535"],
    ["architectures as a string", (s) => (s.architectures = "SCMP_ARCH_X86_64"), "linux.seccomp.architectures: must be an array of SCMP_ARCH_* names"],
    ["a Go architecture name", (s) => (s.architectures = ["SCMP_ARCH_X86_64", "amd64"]), `linux.seccomp.architectures[1]: "amd64" is not a seccomp architecture; use one of ${SECCOMP_ARCHITECTURES.join(", ")}`],
    ["flags as an object", (s) => (s.flags = {}), "linux.seccomp.flags: must be an array of SECCOMP_FILTER_FLAG_* names"],
    ["an unknown flag", (s) => (s.flags = ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]), `linux.seccomp.flags[0]: "SECCOMP_FILTER_FLAG_NEW_LISTENER" is not a seccomp flag; use one of ${SECCOMP_FLAGS.join(", ")}`],
    ["an empty listenerPath", (s) => (s.listenerPath = ""), "linux.seccomp.listenerPath: must be the path of the seccomp agent's unix socket"],
    ["a numeric listenerMetadata", (s) => ((s.listenerPath = "/a"), (s.listenerMetadata = 5)), "linux.seccomp.listenerMetadata: 5 is not a string; pass the agent's metadata as a string"],
    ["listenerMetadata without listenerPath", (s) => (s.listenerMetadata = "m"), "linux.seccomp.listenerMetadata: is set without listenerPath; set listenerPath to the agent's socket or remove listenerMetadata"],
    ["syscalls as an object", (s) => (s.syscalls = {}), `linux.seccomp.syscalls: must be an array of {"names": [...], "action": "SCMP_ACT_..."} entries`],
    ["a syscall entry that is a string", (s) => (s.syscalls[1] = "read"), `linux.seccomp.syscalls[1]: must be an object like {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}`],
    ["an entry without names", (s) => delete s.syscalls[0].names, `linux.seccomp.syscalls[0].names: must list at least one syscall name, like ["mkdir"]`],
    ["an entry with no names", (s) => (s.syscalls[0].names = []), `linux.seccomp.syscalls[0].names: must list at least one syscall name, like ["mkdir"]`],
    ["the old single-name form", (s) => (s.syscalls[0].names = "read"), `linux.seccomp.syscalls[0].names: must list at least one syscall name, like ["mkdir"]`],
    ["an empty name", (s) => (s.syscalls[0].names = ["read", ""]), `linux.seccomp.syscalls[0].names[1]: "" is not a syscall name; use a name like "mkdirat"`],
    ["a numeric name", (s) => (s.syscalls[0].names = [0]), `linux.seccomp.syscalls[0].names[0]: 0 is not a syscall name; use a name like "mkdirat"`],
    ["an unknown rule action", (s) => (s.syscalls[2].action = "SCMP_ACT_FOO"), `linux.seccomp.syscalls[2].action: "SCMP_ACT_FOO" is not a seccomp action; ${ACTIONS}`],
    ["a rule without action", (s) => delete s.syscalls[1].action, `linux.seccomp.syscalls[1].action: is required; ${ACTIONS}`],
    ["SCMP_ACT_NOTIFY without listenerPath", (s) => (s.syscalls[0].action = "SCMP_ACT_NOTIFY"), "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath, the seccomp agent's socket; set it or use another action"],
    ["SCMP_ACT_NOTIFY on write", (s) => ((s.listenerPath = "/a"), (s.syscalls[0].action = "SCMP_ACT_NOTIFY")), `linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for "write"; remove it from this entry`],
    ["errnoRet on an allowing rule", (s) => (s.syscalls[0].errnoRet = 1), "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW (linux.seccomp.syscalls[0].action) takes no errno; remove it or use SCMP_ACT_ERRNO or SCMP_ACT_TRACE"],
    ["a negative errnoRet", (s) => (s.syscalls[2].errnoRet = -38), "linux.seccomp.syscalls[2].errnoRet: -38 is not an errno number; use a non-negative integer such as 1 (EPERM)"],
    ["an errnoRet over libseccomp's limit", (s) => (s.syscalls[2].errnoRet = 70000), "linux.seccomp.syscalls[2].errnoRet: 70000 is too large for SCMP_ACT_ERRNO; use a value from 0 to 4094"],
    ["args as an object", (s) => (s.syscalls[1].args = { index: 0 }), `linux.seccomp.syscalls[1].args: must be an array of {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"} objects`],
    ["an arg that is a number", (s) => (s.syscalls[1].args = [0]), `linux.seccomp.syscalls[1].args[0]: must be an object like {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}`],
    ["an argument index past 5", (s) => (s.syscalls[1].args[0].index = 6), "linux.seccomp.syscalls[1].args[0].index: 6 is not a syscall argument index; use 0 to 5"],
    ["a negative argument index", (s) => (s.syscalls[1].args[0].index = -1), "linux.seccomp.syscalls[1].args[0].index: -1 is not a syscall argument index; use 0 to 5"],
    ["no argument index", (s) => delete s.syscalls[1].args[0].index, "linux.seccomp.syscalls[1].args[0].index: undefined is not a syscall argument index; use 0 to 5"],
    ["a negative value", (s) => (s.syscalls[1].args[0].value = -1), "linux.seccomp.syscalls[1].args[0].value: -1 is not a 64-bit unsigned integer; use a number from 0 to 18446744073709551615"],
    ["no value", (s) => delete s.syscalls[1].args[0].value, "linux.seccomp.syscalls[1].args[0].value: undefined is not a 64-bit unsigned integer; use a number from 0 to 18446744073709551615"],
    ["a value JSON rounded up to 2^64", (s) => (s.syscalls[1].args[0].value = 18446744073709551615), "linux.seccomp.syscalls[1].args[0].value: 18446744073709551616 is not a 64-bit unsigned integer; use a number from 0 to 18446744073709551615"],
    ["a string valueTwo", (s) => (s.syscalls[1].args[0].valueTwo = "0x10"), `linux.seccomp.syscalls[1].args[0].valueTwo: "0x10" is not a 64-bit unsigned integer; use a number from 0 to 18446744073709551615`],
    ["an unknown operator", (s) => (s.syscalls[1].args[0].op = "SCMP_CMP_FOO"), `linux.seccomp.syscalls[1].args[0].op: "SCMP_CMP_FOO" is not a seccomp comparison; use one of ${SECCOMP_OPERATORS.join(", ")}`],
    ["no operator", (s) => delete s.syscalls[1].args[0].op, `linux.seccomp.syscalls[1].args[0].op: is required; use one of ${SECCOMP_OPERATORS.join(", ")}`],
  ];
  for (const [what, breakIt, line] of cases) {
    test(`refuses ${what}`, () => {
      const s = base();
      const result = breakIt(s);
      const input = isObject(result) && "replace" in result ? result.replace : s;
      const err = errorOf(() => validateSeccomp(input));
      expect(err.message).toBe(line);
      expect(line).toStartWith(`${err.field}: `);
      expect(err.message).not.toContain("\n");
      expect(err.message).not.toEndWith(".");
    });
  }

  test("errors name the field the caller passes", () => {
    expect(errorOf(() => validateSeccomp({ defaultAction: 1 }, "profile")).field).toBe("profile.defaultAction");
  });
});

describe("compileSeccomp", () => {
  test("the docker and podman default profiles compile to whole sock_filter instructions", () => {
    for (const name of ["docker-run", "podman-run"]) {
      const c = compileSeccomp(validateSeccomp((clientSpec(name) as any).linux.seccomp)!);
      expect(c.program.length % 8).toBe(0);
      expect(c.program.length / 8).toBeGreaterThan(100);
      expect(c.program.length / 8).toBeLessThanOrEqual(4096);
      expect(c.notify).toBe(false);
      // No flags in the profile: runc's default, SPEC_ALLOW, which this kernel has.
      expect(c.flags).toBe(4);
    }
  });

  test("the same profile compiles to the same bytes", () => {
    expect(compileSeccomp(dockerSeccomp()).program).toEqual(compileSeccomp(dockerSeccomp()).program);
  });

  test("syscall names this architecture lacks are skipped, once each", () => {
    const c = compileSeccomp({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read", "berth_no_such_syscall", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["berth_no_such_syscall", "berth_other"], action: "SCMP_ACT_KILL" },
      ],
    });
    expect(c.skipped).toEqual(["berth_no_such_syscall", "berth_other"]);
  });

  test("a rule with the default action is left out, errno included (runc's matchCall)", () => {
    // openat outnumbers mkdir, so the -ENOSYS stub is the same in all three.
    const allow = { names: ["read", "openat"], action: "SCMP_ACT_ALLOW" as const };
    const none = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow] });
    const same = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow, { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM }] });
    const other = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [allow, { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 2 }] });
    expect(same.program).toEqual(none.program);
    expect(other.program).not.toEqual(none.program);
  });

  test("SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD", () => {
    const kill = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL" }] });
    const thread = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_KILL_THREAD" }] });
    expect(kill.program).toEqual(thread.program);
  });

  test("a deny-by-default profile gets runc's -ENOSYS stub, unless its default already is ENOSYS", () => {
    const rules = [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" as const }];
    const eperm = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: rules });
    const enosys = compileSeccomp({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: ENOSYS, syscalls: rules });
    // Same rules, same libseccomp layout: the difference is the stub alone (load arch,
    // jeq, ja, load nr, jset, jgt, ja, ja, ret for a native-only x86_64 filter).
    expect(eperm.program.length - enosys.program.length).toBe(9 * 8);
  });

  test("flags follow runc: unset → SPEC_ALLOW, [] → none, TSYNC ignored, NOTIFY adds NEW_LISTENER", () => {
    const allow = (extra: Partial<LinuxSeccomp>) => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", ...extra });
    expect(allow({}).flags).toBe(4);
    expect(allow({ flags: [] }).flags).toBe(0);
    expect(allow({ flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }).flags).toBe(0);
    expect(allow({ flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }).flags).toBe(2 | 4);
    expect(allow({ flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }).flags).toBe(0);
    const notify = allow({ flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], listenerPath: "/a", syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] });
    expect(notify.notify).toBe(true);
    expect(notify.flags).toBe(8 | 32);
  });

  test("an architecture this libseccomp lacks names the entry", () => {
    const s: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_LOONGARCH64"] };
    if (resolveArch("loongarch64") !== 0) return void compileSeccomp(s); // a newer libseccomp has it
    const err = errorOf(() => compileSeccomp(s));
    expect(err.field).toBe("linux.seccomp.architectures[1]");
    expect(err.message).toMatch(/^linux\.seccomp\.architectures\[1\]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp [\d.]+; remove it or install a newer libseccomp$/);
  });

  test("an architecture of the other byte order is refused with the reason", () => {
    const err = errorOf(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_S390X"] }));
    expect(err.field).toBe("linux.seccomp.architectures[1]");
    expect(err.errno).toBe("EDOM");
    expect(err.message).toContain("one filter holds architectures of one byte order only; remove this one");
  });

  test("a profile past the kernel's 4096 instructions is refused before it reaches the kernel", () => {
    // 800 names, under the validator's 4096, but two argument checks each cost the filter more
    const syscalls = Array.from({ length: 800 }, (_, i) => ({
      names: ["personality"], action: "SCMP_ACT_ERRNO" as const,
      args: [{ index: 0, value: 100 + i, op: "SCMP_CMP_EQ" as const }, { index: 1, value: i, op: "SCMP_CMP_EQ" as const }],
    }));
    const err = errorOf(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls }, { field: "profile" }));
    expect(err.field).toBe("profile");
    expect(err.message).toMatch(/^profile: compiles to \d+ BPF instructions, more than the kernel's 4096; /);
  });
});

describe("compileSeccompCached", () => {
  let dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-seccomp-"));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  const profile = (): LinuxSeccomp => ({
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [{ names: ["read", "write", "berth_no_such_syscall"], action: "SCMP_ACT_ALLOW" }],
  });

  test("a miss compiles and stores, a hit returns the same program, flags and skipped names", () => {
    const cacheDir = join(scratch(), "cache", "seccomp");
    const first = compileSeccompCached(profile(), cacheDir);
    expect(first.cache).toBe("stored");
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const file = join(cacheDir, `${seccompCacheKey(profile())}.bpf`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(cacheDir)).toEqual([`${seccompCacheKey(profile())}.bpf`]); // no temp file left

    const second = compileSeccompCached(profile(), cacheDir);
    expect(second.cache).toBe("hit");
    expect(second.program).toEqual(first.program);
    expect(second.flags).toBe(first.flags);
    expect(second.notify).toBe(first.notify);
    expect(second.skipped).toEqual(["berth_no_such_syscall"]);
    expect(second.program).toEqual(compileSeccomp(profile()).program);
  });

  test("the key changes with any value; the same profile with its keys reordered is a miss, never another profile's program", () => {
    expect(seccompCacheKey(profile())).toBe(seccompCacheKey(profile()));
    expect(seccompCacheKey({ ...profile(), defaultErrnoRet: 38 })).not.toBe(seccompCacheKey(profile()));
    expect(seccompCacheKey({ ...profile(), syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_ALLOW" }] })).not.toBe(seccompCacheKey(profile()));
    const cacheDir = scratch();
    expect(compileSeccompCached(profile(), cacheDir).cache).toBe("stored");
    const reordered = { syscalls: profile().syscalls, defaultAction: "SCMP_ACT_ERRNO" } as LinuxSeccomp;
    const again = compileSeccompCached(reordered, cacheDir);
    expect(again.cache).toBe("stored");
    expect(again.program).toEqual(compileSeccomp(profile()).program);
    expect(compileSeccompCached(reordered, cacheDir).cache).toBe("hit");
    expect(seccompCacheKey(profile())).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a hit does not load libseccomp (checked in a fresh process)", () => {
    const cacheDir = scratch();
    const script = `
      const { compileSeccompCached } = await import(${JSON.stringify(`${import.meta.dir}/seccomp.ts`)});
      const { libseccompLoads } = await import(${JSON.stringify(`${import.meta.dir}/../sys/libseccomp.ts`)});
      const r = compileSeccompCached(${JSON.stringify(profile())}, ${JSON.stringify(cacheDir)});
      console.log(JSON.stringify({ cache: r.cache, loads: libseccompLoads(), bytes: r.program.length }));`;
    const run = () => {
      const r = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      return JSON.parse(r.stdout.toString());
    };
    const miss = run();
    expect(miss).toMatchObject({ cache: "stored", loads: 1 });
    expect(run()).toEqual({ cache: "hit", loads: 0, bytes: miss.bytes });
  });

  const damages: [string, (bytes: Buffer) => Uint8Array][] = [
    ["empty", () => new Uint8Array(0)],
    ["cut short", (b) => b.subarray(0, b.length - 5)],
    ["one flipped program byte", (b) => ((b[70]! ^= 0xff), b)],
    ["a changed flags field", (b) => ((b[12] = 0x7f), b)],
    ["not a cache file", () => new TextEncoder().encode("#!/bin/sh\n")],
  ];
  for (const [what, damage] of damages) {
    test(`a cache file that is ${what} is compiled again and replaced`, () => {
      const cacheDir = scratch();
      const good = compileSeccompCached(profile(), cacheDir);
      const file = join(cacheDir, `${seccompCacheKey(profile())}.bpf`);
      const original = readFileSync(file);
      writeFileSync(file, damage(Buffer.from(original)));
      const again = compileSeccompCached(profile(), cacheDir);
      expect(again.cache).toBe("stored");
      expect(again.program).toEqual(good.program);
      expect(again.flags).toBe(good.flags);
      expect(readFileSync(file)).toEqual(original);
      expect(compileSeccompCached(profile(), cacheDir).cache).toBe("hit");
    });
  }

  test("a cache directory others can write to is neither read nor written", () => {
    const cacheDir = scratch();
    chmodSync(cacheDir, 0o777);
    const r = compileSeccompCached(profile(), cacheDir);
    expect(r.cache).toBe("uncached");
    expect(r.program).toEqual(compileSeccomp(profile()).program);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  test("a cache path that is a file still compiles, uncached", () => {
    const file = join(scratch(), "not-a-dir");
    writeFileSync(file, "");
    expect(compileSeccompCached(profile(), file).cache).toBe("uncached");
    expect(existsSync(`${file}.bpf`)).toBe(false);
  });

  test("compile errors still throw through the cache", () => {
    const err = errorOf(() => compileSeccompCached({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_S390X"] }, scratch()));
    expect(err).toBeInstanceOf(BerthError);
    expect(err.field).toBe("linux.seccomp.architectures[1]");
  });
});

// ---------------------------------------------------------------------------------------
// The kernel: the probe loads the program on itself, makes raw syscalls, prints the results.

const FIXTURE = `${import.meta.dir}/seccomp-probe.fixture.ts`;
const SYS = { getpid: 39, socket: 41, mkdir: 83, personality: 135, kexec_load: 246, mkdirat: 258, clone3: 435 };
const AT_FDCWD = -100;
type Result = { ret: number; errno: number };

function probe(seccomp: LinuxSeccomp, calls: { nr: number; args: (number | string)[] }[]): { load: Result; results: Result[] } {
  const dir = mkdtempSync(join(tmpdir(), "berth-seccomp-probe-"));
  try {
    const c = compileSeccomp(validateSeccomp(seccomp)!);
    const input = join(dir, "input.json");
    writeFileSync(input, JSON.stringify({ flags: c.flags, program: Buffer.from(c.program).toString("base64"), calls }));
    const r = Bun.spawnSync([process.execPath, FIXTURE, input], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`probe exited ${r.exitCode ?? r.signalCode}: ${r.stderr.toString()}`);
    return JSON.parse(r.stdout.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Syscall numbers above are x86_64's.
describe.skipIf(process.arch !== "x64")("the kernel runs the compiled programs", () => {
  test("an ERRNO rule on mkdir and mkdirat fails both with EPERM and leaves other calls alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-seccomp-mkdir-"));
    try {
      const { load, results } = probe(
        { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] },
        [{ nr: SYS.mkdir, args: [`${dir}/a`, 0o755] }, { nr: SYS.mkdirat, args: [AT_FDCWD, `${dir}/b`, 0o755] }, { nr: SYS.getpid, args: [] }],
      );
      expect(load).toEqual({ ret: 0, errno: 0 });
      expect(results.map((r) => r.errno)).toEqual([EPERM, EPERM, 0]);
      expect(results[2]!.ret).toBeGreaterThan(0);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an argument filter: personality(8) gets errnoRet 38, the query personality(0xffffffff) passes", () => {
    const { results } = probe(
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] }] },
      [{ nr: SYS.personality, args: [0xffffffff] }, { nr: SYS.personality, args: [8] }],
    );
    expect(results).toEqual([{ ret: 0, errno: 0 }, { ret: -1, errno: ENOSYS }]);
  });

  test("conditions on different arguments are ANDed into one rule", () => {
    const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2;
    const { results } = probe(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97, args: [{ index: 0, value: AF_UNIX, op: "SCMP_CMP_EQ" }, { index: 1, value: SOCK_STREAM, op: "SCMP_CMP_EQ" }] }],
      },
      [{ nr: SYS.socket, args: [AF_UNIX, SOCK_STREAM, 0] }, { nr: SYS.socket, args: [AF_UNIX, SOCK_DGRAM, 0] }],
    );
    expect(results[0]).toEqual({ ret: -1, errno: 97 });
    expect(results[1]!.ret).toBeGreaterThanOrEqual(0);
  });

  test("conditions that repeat an argument index become one rule each (runc's matchCall)", () => {
    const { results } = probe(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }, { index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] }],
      },
      // ANDed, no value could match both; one rule each denies both.
      [{ nr: SYS.personality, args: [0xffffffff] }, { nr: SYS.personality, args: [8] }],
    );
    expect(results).toEqual([{ ret: -1, errno: ENOSYS }, { ret: -1, errno: ENOSYS }]);
  });

  test("docker's default profile: allowed calls work, others get EPERM, newer syscalls ENOSYS from the stub", () => {
    const seccomp = dockerSeccomp();
    const named = new Set(seccomp.syscalls!.flatMap((s) => s.names));
    expect(named.has("kexec_load")).toBe(false);
    const { load, results } = probe(seccomp, [
      { nr: SYS.getpid, args: [] },
      { nr: SYS.kexec_load, args: [0, 0, 0, 0] },
      { nr: 1000, args: [] }, // above every syscall the profile names
      { nr: SYS.personality, args: [0xffffffff] },
      { nr: SYS.personality, args: [3] },
      { nr: SYS.clone3, args: [0, 0] },
    ]);
    expect(load).toEqual({ ret: 0, errno: 0 });
    expect(results[0]!.ret).toBeGreaterThan(0);
    expect(results.slice(1).map((r) => r.errno)).toEqual([EPERM, ENOSYS, 0, EPERM, ENOSYS]);
  });

  test("SCMP_ACT_NOTIFY loads with NEW_LISTENER and WAIT_KILLABLE_RECV and returns a listener fd", () => {
    const { load } = probe(
      {
        defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }],
      },
      [],
    );
    expect(load.errno).toBe(0);
    expect(load.ret).toBeGreaterThan(2);
  });

  test("the LOG flag loads", () => {
    const { load, results } = probe({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"] }, [{ nr: SYS.getpid, args: [] }]);
    expect(load).toEqual({ ret: 0, errno: 0 });
    expect(results[0]!.ret).toBeGreaterThan(0);
  });
});
