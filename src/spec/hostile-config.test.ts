/**
 * Issue 21's probe, as pure checks: out-of-range numbers (a test per field kind), null
 * in required fields and NUL bytes are refused by validateSpec with the field named —
 * never wrapped, never a TypeError further down. The runtime-level cases (exit code,
 * one line, nothing left) are in src/runtime/hostile-input.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { BerthError } from "../errors.ts";
import { defaultSpec } from "./default-spec.ts";
import { validateSpec } from "./validate-config.ts";

type Json = Record<string, any>;

function spec(edit: (s: Json) => void): Json {
  const s = JSON.parse(JSON.stringify(defaultSpec()));
  edit(s);
  return s;
}

/** The BerthError validateSpec throws for `edit`, as its message. */
function refusal(edit: (s: Json) => void): string {
  try {
    validateSpec(spec(edit), { needProcess: true });
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    return err.message;
  }
  throw new Error("accepted");
}

const SAFE = " (-9007199254740991..9007199254740991; JSON numbers past 2^53 are not exact)";

describe("defect 2: every number within its field's range, refused with the field named", () => {
  const cases: [string, (s: Json) => void, string][] = [
    ["uid/gid: additionalGids 2^64 (was group 0)", (s) => (s.process.user = { uid: 1000, gid: 1000, additionalGids: [2 ** 64] }), "process.user.additionalGids[0]: 18446744073709551616 is out of range (0..4294967294)"],
    ["uid/gid: gid 2^32-1 (the kernel's -1)", (s) => (s.process.user.gid = 2 ** 32 - 1), "process.user.gid: 4294967295 is out of range (0..4294967294)"],
    ["uid/gid: a device's uid 2^64", (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, uid: 2 ** 64 }]), "linux.devices[0].uid: 18446744073709551616 is out of range (0..4294967294)"],
    ["mode: a device's fileMode 2^64 (was mode 0)", (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, fileMode: 2 ** 64 }]), "linux.devices[0].fileMode: 18446744073709551616 is out of range (0..4095)"],
    ["mode: fileMode 0o10000 (past the permission bits)", (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 1, minor: 3, fileMode: 0o10000 }]), "linux.devices[0].fileMode: 4096 is out of range (0..4095)"],
    ["device number: major past 12 bits (would wrap into another device)", (s) => (s.linux.devices = [{ path: "/dev/x", type: "c", major: 4096, minor: 3 }]), "linux.devices[0].major: 4096 is out of range (0..4095)"],
    ["size: memory.limit 2^63", (s) => (s.linux.resources = { memory: { limit: 2 ** 63 } }), `linux.resources.memory.limit: 9223372036854775808 is out of range${SAFE}`],
    ["size: memory.limit 1e20", (s) => (s.linux.resources = { memory: { limit: 1e20 } }), `linux.resources.memory.limit: 100000000000000000000 is out of range${SAFE}`],
    ["count: pids.limit -2^63-1", (s) => (s.linux.resources = { pids: { limit: -(2 ** 63) - 1 } }), `linux.resources.pids.limit: -9223372036854775808 is out of range${SAFE}`],
    ["seconds: hooks timeout 1e308", (s) => (s.hooks = { prestart: [{ path: "/bin/true", timeout: 1e308 }] }), "hooks.prestart[0].timeout: 1e+308 is out of range (1..2147483)"],
    ["seconds: hooks timeout 0", (s) => (s.hooks = { prestart: [{ path: "/bin/true", timeout: 0 }] }), "hooks.prestart[0].timeout: 0 is out of range (1..2147483)"],
    ["u16: consoleSize height 65536 (struct winsize)", (s) => (s.process.consoleSize = { height: 65536, width: 80 }), "process.consoleSize.height: 65536 is out of range (0..65535)"],
    ["rlimit: 2^60 (not exact in JSON)", (s) => (s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2 ** 60, hard: 2 ** 60 }]), "process.rlimits[0].soft: 1152921504606846976 is out of range (0..9007199254740991, or 18446744073709551615 for unlimited; JSON numbers past 2^53 are not exact)"],
    ["not an integer: uid 1.5", (s) => (s.process.user.uid = 1.5), "process.user.uid: got 1.5; use a whole number 0..4294967294"],
    ["id mapping: hostID 2^64", (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 2 ** 64, size: 1 }]), "linux.uidMappings[0].hostID: 18446744073709551616 is out of range (0..4294967294)"],
    ["time offset: nanosecs 1e9", (s) => (s.linux.timeOffsets = { boottime: { secs: 1, nanosecs: 1e9 } }), "linux.timeOffsets.boottime.nanosecs: 1000000000 is out of range (0..999999999)"],
    ["u32: network classID 2^32", (s) => (s.linux.resources = { network: { classID: 2 ** 32 } }), "linux.resources.network.classID: 4294967296 is out of range (0..4294967295)"],
  ];
  for (const [name, edit, message] of cases) test(name, () => expect(refusal(edit)).toBe(message));

  test("RLIM_INFINITY written as 18446744073709551615 is unlimited, not wrapped to 0", () => {
    const s = validateSpec(JSON.parse(JSON.stringify(spec((s) => (s.process.rlimits = [{ type: "RLIMIT_CORE", soft: 0, hard: 0 }]))).replace('"soft":0,"hard":0', '"soft":18446744073709551615,"hard":18446744073709551615')));
    expect(s.process!.rlimits![0]!.hard).toBe(2 ** 64);
  });
});

describe("defect 3: null in a required field is refused by name, not a TypeError later", () => {
  const cases: [string, (s: Json) => void, string][] = [
    ["process.user.gid", (s) => (s.process.user.gid = null), "process.user.gid: is null; it is required: use a whole number 0..4294967294"],
    ["process.user.uid", (s) => (s.process.user.uid = null), "process.user.uid: is null; it is required: use a whole number 0..4294967294"],
    ["process.cwd", (s) => (s.process.cwd = null), "process.cwd: is null; it is required: use a string"],
    ["process.args", (s) => (s.process.args = null), "process.args: got null; use a JSON array"],
    ["process.user", (s) => (s.process.user = null), "process.user: got null; use a JSON object"],
    ["root.path", (s) => (s.root.path = null), "root.path: is null; it is required: use a string"],
    ["mounts[i].destination", (s) => (s.mounts[0].destination = null), "mounts[0].destination: is null; it is required: use a string"],
    ["linux.devices[i].path", (s) => (s.linux.devices = [{ path: null, type: "c", major: 1, minor: 3 }]), "linux.devices[0].path: is null; it is required: use a string"],
    ["linux.devices[i].type", (s) => (s.linux.devices = [{ path: "/dev/x", type: null, major: 1, minor: 3 }]), "linux.devices[0].type: is null; it is required: use a string"],
    ["hooks.*[i].path", (s) => (s.hooks = { poststop: [{ path: null }] }), "hooks.poststop[0].path: is null; it is required: use a string"],
    ["rlimits[i].soft", (s) => (s.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: null, hard: 5 }]), "process.rlimits[0].soft: is null; it is required"],
    ["rlimits[i].type", (s) => (s.process.rlimits = [{ type: null, soft: 1, hard: 5 }]), "process.rlimits[0].type: is null; it is required: use a string"],
    ["linux.namespaces[i].type", (s) => (s.linux.namespaces[0].type = null), "linux.namespaces[0].type: is null; it is required: use a string"],
    ["linux.uidMappings[i].size", (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: null }]), "linux.uidMappings[0].size: is null; it is required: use a whole number 0..4294967295"],
  ];
  for (const [name, edit, message] of cases) test(name, () => expect(refusal(edit)).toBe(message));

  test("an optional null (mounts[i].options, process.env, hostname) means unset", () => {
    const s = validateSpec(spec((s) => {
      s.mounts[0].options = null;
      s.process.env = null;
      s.hostname = null;
    }), { needProcess: true });
    expect([s.mounts![0]!.options, s.process!.env, s.hostname]).toEqual([undefined, undefined, undefined]);
  });
});

describe("defect 4: a NUL byte in a string that reaches the plan is refused with the field", () => {
  const cases: [string, (s: Json) => void, string][] = [
    ["process.args", (s) => (s.process.args = ["sh", "a\0b"]), 'process.args[1]: "a\\u0000b" contains a NUL byte; remove it'],
    ["process.env", (s) => (s.process.env = ["A=b\0c"]), 'process.env[0]: "A=b\\u0000c" contains a NUL byte; remove it'],
    ["mounts[i].source", (s) => (s.mounts[0].source = "pr\0oc"), 'mounts[0].source: "pr\\u0000oc" contains a NUL byte; remove it'],
    ["mounts[i].options", (s) => (s.mounts[0].options = ["nosuid\0"]), 'mounts[0].options[0]: "nosuid\\u0000" contains a NUL byte; remove it'],
    ["hostname", (s) => (s.hostname = "a\0"), 'hostname: "a\\u0000" contains a NUL byte; remove it'],
    ["domainname", (s) => (s.domainname = "\0"), 'domainname: "\\u0000" contains a NUL byte; remove it'],
    ["linux.sysctl value", (s) => (s.linux.sysctl = { "net.ipv4.ip_forward": "1\0" }), 'linux.sysctl["net.ipv4.ip_forward"]: "1\\u0000" contains a NUL byte; remove it'],
    ["process.cwd", (s) => (s.process.cwd = "/\0tmp"), 'process.cwd: "/\\u0000tmp" contains a NUL byte; remove it'],
  ];
  for (const [name, edit, message] of cases) test(name, () => expect(refusal(edit)).toBe(message));
});

describe("defect 5: a huge or deep value is described, never formatted whole", () => {
  test("a 100k-deep array, even in a field berth does not know, is refused before anything walks it", () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(refusal((s) => (s["org.example.extension"] = deep))).toBe("config.json: nests deeper than 64 levels; a runtime-spec config needs fewer than 10 — look for what made it grow");
  });

  test("a deep value where a string belongs is named by what it is", () => {
    expect(refusal((s) => (s.hostname = [[[["x"]]]]))).toBe("hostname: got an array; use a string");
  });

  test("20,000 readonlyPaths or hooks are refused at once (the fuzzer's hangs: minutes of mounts or processes)", () => {
    expect(refusal((s) => (s.linux.readonlyPaths = Array.from({ length: 20_000 }, () => "/proc/sys")))).toBe("linux.readonlyPaths: has 20000 entries; berth-runtime takes at most 4096");
    expect(refusal((s) => (s.hooks = { createRuntime: Array.from({ length: 20_000 }, () => ({ path: "/bin/true" })) }))).toBe("hooks.createRuntime: has 20000 entries; berth-runtime takes at most 256");
  });

  test("20k seccomp rules are refused at once, not after seconds of compiling", () => {
    const rules = Array.from({ length: 20_000 }, () => ({ names: ["mkdir"], action: "SCMP_ACT_ERRNO" }));
    expect(refusal((s) => (s.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: rules }))).toBe("linux.seccomp.syscalls: lists 20000 syscall names across its rules; a filter holds at most 4096 instructions, so merge rules or drop names");
  });

  test("a 1 MB string where a number belongs is cut", () => {
    expect(refusal((s) => (s.process.user.uid = "x".repeat(1 << 20)))).toBe(`process.user.uid: got "${"x".repeat(60)}…"; use a whole number 0..4294967294`);
  });
});
