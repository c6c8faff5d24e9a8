import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { errorOf } from "../../test/berth-error.ts";
import { CLIENT_SPECS_DIR, clientSpecNames } from "../../test/client-specs.ts";
import { defaultSpec } from "./default-spec.ts";
import { validateSpec } from "./validate-config.ts";

type Json = Record<string, any>;

/** A fresh, mutable copy of `berth-runtime spec`'s config as plain JSON. */
function base(): Json {
  return JSON.parse(JSON.stringify(defaultSpec()));
}

/** `base()` changed by `edit`. */
function spec(edit: (s: Json) => void): Json {
  const s = base();
  edit(s);
  return s;
}

function readClient(name: string): Json {
  return JSON.parse(readFileSync(`${CLIENT_SPECS_DIR}${name}`, "utf8"));
}

/** The client files that are whole configs (the *-exec-process ones are a process object only). */
const CONFIGS = clientSpecNames().filter((n) => !n.includes("exec-process"));
const PROCESSES = clientSpecNames().filter((n) => n.includes("exec-process"));

describe("validateSpec accepts real configs", () => {
  test("the reference client configs are all there", () => {
    expect(CONFIGS.length).toBeGreaterThanOrEqual(6);
    expect(PROCESSES.length).toBeGreaterThanOrEqual(2);
  });

  test("berth-runtime spec's default config", () => {
    const s = base();
    expect(validateSpec(s, { needProcess: true }) as unknown).toBe(s);
  });

  for (const name of CONFIGS) {
    test(`${name} as its client wrote it`, () => {
      expect(() => validateSpec(readClient(name), { needProcess: true })).not.toThrow();
    });
  }

  for (const name of PROCESSES) {
    test(`${name} as the process of a config (exec)`, () => {
      expect(() => validateSpec(spec((s) => (s.process = readClient(name))), { needProcess: true })).not.toThrow();
    });
  }

  test("a config without process is fine unless one is needed", () => {
    const s = spec((s) => delete s.process);
    expect(() => validateSpec(s)).not.toThrow();
  });

  test("a relative mount destination is read as relative to / (config.md; runc 1.1 does too)", () => {
    const s = spec((s) => (s.mounts[1].destination = "dev"));
    expect(validateSpec(s).mounts![1]!.destination).toBe("/dev");
  });

  test("JSON null means unset: process.oomScoreAdj null is dropped", () => {
    const s = spec((s) => (s.process.oomScoreAdj = null));
    validateSpec(s);
    expect("oomScoreAdj" in s.process).toBe(false);
  });

  test("a fifo device needs no major or minor", () => {
    expect(() => validateSpec(spec((s) => (s.linux.devices = [{ type: "p", path: "/dev/fifo" }])))).not.toThrow();
  });

  test("oomScoreAdj at the limits -1000 and 1000", () => {
    expect(() => validateSpec(spec((s) => (s.process.oomScoreAdj = -1000)))).not.toThrow();
    expect(() => validateSpec(spec((s) => (s.process.oomScoreAdj = 1000)))).not.toThrow();
  });

  test("umask 0o777 and uid 4294967294 are the largest allowed", () => {
    expect(() => validateSpec(spec((s) => (s.process.user = { uid: 4294967294, gid: 0, umask: 0o777 })))).not.toThrow();
  });

  test("adjacent id mappings do not overlap", () => {
    const maps = [{ containerID: 0, hostID: 1000, size: 500 }, { containerID: 500, hostID: 5000, size: 500 }];
    expect(() => validateSpec(spec((s) => (s.linux.uidMappings = maps)))).not.toThrow();
  });

  test("linux.resources comes back normalised (device rule access filled in)", () => {
    const s = spec((s) => (s.linux.resources = { devices: [{ allow: false }] }));
    const out = validateSpec(s);
    expect(out.linux?.resources?.devices?.[0]?.access).toBe("rwm");
  });
});

describe("validateSpec refuses, naming the field and the fix", () => {
  const cases: [name: string, edit: (s: Json) => void, message: string][] = [
    ["ociVersion missing", (s) => delete s.ociVersion, `ociVersion: is required (e.g. "1.0.2")`],
    ["ociVersion a number", (s) => (s.ociVersion = 1), "ociVersion: got 1; use a string"],
    ["ociVersion 2.0.0", (s) => (s.ociVersion = "2.0.0"), `ociVersion: "2.0.0" is not a 1.x runtime-spec version; use e.g. "1.0.2"`],
    ["ociVersion 1.0 without a patch number", (s) => (s.ociVersion = "1.0"), `ociVersion: "1.0" is not a 1.x runtime-spec version`],
    ["root missing", (s) => delete s.root, `root: is required: { "path": "rootfs" }`],
    ["root a string", (s) => (s.root = "rootfs"), `root: got "rootfs"; use a JSON object`],
    ["root.path missing", (s) => (s.root = {}), "root.path: is required"],
    ["root.path empty", (s) => (s.root.path = ""), "root.path: is empty; name the root filesystem directory"],
    ["root.readonly a string", (s) => (s.root.readonly = "yes"), `root.readonly: got "yes"; use true or false`],
    ["hostname a number", (s) => (s.hostname = 5), "hostname: got 5; use a string"],
    ["process.args missing", (s) => delete s.process.args, "process.args: is required: the program to run and its arguments"],
    ["process.args empty", (s) => (s.process.args = []), "process.args: is empty; name the program to run"],
    ["process.args[0] empty string", (s) => (s.process.args = [""]), "process.args: is empty; name the program to run"],
    ["process.args with a number", (s) => (s.process.args = ["sleep", 5]), "process.args[1]: got 5; use a string"],
    ["process.args a string", (s) => (s.process.args = "sh"), `process.args: got "sh"; use a JSON array`],
    ["process.cwd relative", (s) => (s.process.cwd = "tmp"), `process.cwd: "tmp" is not an absolute path; start it with /`],
    ["process.cwd missing", (s) => delete s.process.cwd, "process.cwd: is required"],
    ["process.env entry without =", (s) => s.process.env.push("DEBUG"), `process.env[2]: "DEBUG" is not NAME=value`],
    ["process.env entry with an empty name", (s) => (s.process.env = ["=x"]), `process.env[0]: "=x" is not NAME=value`],
    ["process.user missing", (s) => delete s.process.user, `process.user: is required: { "uid": 0, "gid": 0 }`],
    ["process.user.uid negative", (s) => (s.process.user.uid = -1), "process.user.uid: -1 is out of range (0..4294967294)"],
    ["process.user.uid a string", (s) => (s.process.user.uid = "0"), `process.user.uid: got "0"; use a whole number 0..4294967294`],
    ["process.user.gid missing", (s) => (s.process.user = { uid: 0 }), "process.user.gid: is required"],
    ["process.user.uid 4294967295 (-1 as u32)", (s) => (s.process.user.uid = 4294967295), "process.user.uid: 4294967295 is out of range (0..4294967294)"],
    ["process.user.umask 0o1000", (s) => (s.process.user.umask = 0o1000), "process.user.umask: 512 is out of range (0..511)"],
    ["process.user.additionalGids with a string", (s) => (s.process.user.additionalGids = [1, "2"]), `process.user.additionalGids[1]: got "2"; use a whole number 0..4294967294`],
    [
      "process.rlimits type twice",
      (s) => s.process.rlimits.push({ type: "RLIMIT_NOFILE", soft: 10, hard: 10 }),
      "process.rlimits[1].type: RLIMIT_NOFILE is set twice; keep one entry",
    ],
    ["process.rlimits soft above hard", (s) => (s.process.rlimits[0].soft = 2048), "process.rlimits[0]: soft 2048 is above hard 1024"],
    ["process.rlimits soft missing", (s) => delete s.process.rlimits[0].soft, "process.rlimits[0].soft: is required"],
    ["process.rlimits type missing", (s) => delete s.process.rlimits[0].type, "process.rlimits[0].type: is required"],
    ["process.rlimits hard negative", (s) => (s.process.rlimits[0].hard = -1), "process.rlimits[0].hard: got -1; use a whole number ≥ 0"],
    ["process.oomScoreAdj 1001", (s) => (s.process.oomScoreAdj = 1001), "process.oomScoreAdj: 1001 is out of range (-1000..1000)"],
    ["process.oomScoreAdj -1001", (s) => (s.process.oomScoreAdj = -1001), "process.oomScoreAdj: -1001 is out of range (-1000..1000)"],
    ["process.oomScoreAdj fractional", (s) => (s.process.oomScoreAdj = 1.5), "process.oomScoreAdj: got 1.5; use a whole number"],
    ["process.terminal a string", (s) => (s.process.terminal = "true"), `process.terminal: got "true"; use true or false`],
    ["process.capabilities.bounding with a number", (s) => (s.process.capabilities.bounding = [5]), "process.capabilities.bounding[0]: got 5; use a string"],
    ["process.consoleSize.width missing", (s) => (s.process.consoleSize = { height: 24 }), "process.consoleSize.width: is required"],
    ["mounts an object", (s) => (s.mounts = {}), "mounts: got {}; use a JSON array"],
    ["mounts[1].destination empty", (s) => (s.mounts[1].destination = ""), `mounts[1].destination: is empty; name where in the container to mount, e.g. /data`],
    ["an empty annotation key", (s) => (s.annotations = { "": "x" }), `annotations: has an empty key; config.md requires a name, e.g. "org.example.key"`],
    ["mounts[0].destination missing", (s) => delete s.mounts[0].destination, "mounts[0].destination: is required"],
    ["mounts[2].options with a number", (s) => (s.mounts[2].options = ["nosuid", 1]), "mounts[2].options[1]: got 1; use a string"],
    ["mounts[0].type a number", (s) => (s.mounts[0].type = 1), "mounts[0].type: got 1; use a string"],
    [
      "mounts[0].uidMappings size 0",
      (s) => (s.mounts[0].uidMappings = [{ containerID: 0, hostID: 0, size: 0 }]),
      "mounts[0].uidMappings[0].size: is 0; a mapping needs size ≥ 1",
    ],
    ["annotations value a number", (s) => (s.annotations = { "io.x": 1 }), 'annotations["io.x"]: got 1; use a string'],
    // written bare, the key "a.b" would read annotations.a.b: field b of a key "a"
    ["an annotation key with dots stays one key", (s) => (s.annotations = { a: "x", "a.b": 2 }), 'annotations["a.b"]: got 2; use a string'],
    ["hooks an array", (s) => (s.hooks = []), "hooks: got []; use a JSON object"],
    ["linux an array", (s) => (s.linux = []), "linux: got []; use a JSON object"],
    [
      "linux.rootfsPropagation unknown",
      (s) => (s.linux.rootfsPropagation = "rprivat"),
      `linux.rootfsPropagation: "rprivat" is not a propagation; use one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable`,
    ],
    [
      "linux.namespaces with an unknown type",
      (s) => (s.linux.namespaces[1] = { type: "net" }),
      `linux.namespaces[1].type: "net" is not a namespace type; use one of pid, network, mount, ipc, uts, user, cgroup, time`,
    ],
    ["linux.namespaces with a type twice", (s) => s.linux.namespaces.push({ type: "pid" }), "linux.namespaces[5].type: pid is listed twice; keep one entry"],
    [
      "linux.namespaces path relative",
      (s) => (s.linux.namespaces[1] = { type: "network", path: "proc/1/ns/net" }),
      `linux.namespaces[1].path: "proc/1/ns/net" is not an absolute path; start it with /`,
    ],
    ["linux.namespaces entry without type", (s) => (s.linux.namespaces[0] = {}), "linux.namespaces[0].type: is required"],
    ["linux.uidMappings size 0", (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 0 }]), "linux.uidMappings[0].size: is 0; a mapping needs size ≥ 1"],
    [
      "linux.uidMappings overlapping",
      (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1000 }, { containerID: 500, hostID: 5000, size: 1000 }]),
      "linux.uidMappings[1]: container ids 500…1499 overlap linux.uidMappings[0]",
    ],
    ["linux.gidMappings without hostID", (s) => (s.linux.gidMappings = [{ containerID: 0, size: 1 }]), "linux.gidMappings[0].hostID: is required"],
    ["linux.gidMappings containerID negative", (s) => (s.linux.gidMappings = [{ containerID: -1, hostID: 0, size: 1 }]), "linux.gidMappings[0].containerID: -1 is out of range (0..4294967294)"],
    [
      "linux.devices with an unknown type",
      (s) => (s.linux.devices = [{ type: "x", path: "/dev/x", major: 1, minor: 1 }]),
      `linux.devices[0].type: "x" is not a device type; use c (char), b (block), u (unbuffered char) or p (fifo)`,
    ],
    ["linux.devices char device without major", (s) => (s.linux.devices = [{ type: "c", path: "/dev/fuse", minor: 229 }]), "linux.devices[0].major: is required for a character device"],
    ["linux.devices block device without minor", (s) => (s.linux.devices = [{ type: "b", path: "/dev/sda", major: 8 }]), "linux.devices[0].minor: is required for a block device"],
    [
      "linux.devices negative minor",
      (s) => (s.linux.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: -1 }]),
      "linux.devices[0].minor: -1 is out of range (0..1048575)",
    ],
    [
      "linux.devices relative path",
      (s) => (s.linux.devices = [{ type: "c", path: "dev/fuse", major: 10, minor: 229 }]),
      `linux.devices[0].path: "dev/fuse" is not an absolute path; start it with /`,
    ],
    ["linux.devices without path", (s) => (s.linux.devices = [{ type: "c", major: 10, minor: 229 }]), "linux.devices[0].path: is required"],
    ["linux.devices fileMode negative", (s) => (s.linux.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: -1 }]), "linux.devices[0].fileMode: -1 is out of range (0..4095)"],
    ["linux.sysctl value a number", (s) => (s.linux.sysctl = { "net.ipv4.ip_forward": 1 }), 'linux.sysctl["net.ipv4.ip_forward"]: got 1; use a string'],
    ["linux.sysctl an array", (s) => (s.linux.sysctl = []), "linux.sysctl: got []; use a JSON object"],
    ["linux.maskedPaths relative", (s) => (s.linux.maskedPaths[2] = "proc/kcore"), `linux.maskedPaths[2]: "proc/kcore" is not an absolute path; start it with /`],
    ["linux.readonlyPaths relative", (s) => (s.linux.readonlyPaths[0] = "proc/bus"), `linux.readonlyPaths[0]: "proc/bus" is not an absolute path; start it with /`],
    ["linux.readonlyPaths with a number", (s) => (s.linux.readonlyPaths = [1]), "linux.readonlyPaths[0]: got 1; use a string"],
    [
      "linux.timeOffsets for realtime",
      (s) => (s.linux.timeOffsets = { realtime: { secs: 1 } }),
      `linux.timeOffsets["realtime"]: "realtime" is not a clock a time namespace can offset; use monotonic or boottime`,
    ],
    [
      "linux.timeOffsets: a newline in the clock's name stays on one line",
      (s) => (s.linux.timeOffsets = { "a\nb": { secs: 1 } }),
      `linux.timeOffsets["a\\nb"]: "a\\nb" is not a clock a time namespace can offset; use monotonic or boottime`,
    ],
    ["linux.timeOffsets nanosecs negative", (s) => (s.linux.timeOffsets = { monotonic: { nanosecs: -1 } }), "linux.timeOffsets.monotonic.nanosecs: -1 is out of range (0..999999999)"],
    ["linux.resources.memory.limit a string", (s) => (s.linux.resources = { memory: { limit: "1g" } }), `linux.resources.memory.limit: got "1g"; use a whole number`],
    ["linux.resources.cpu.shares 1", (s) => (s.linux.resources = { cpu: { shares: 1 } }), "linux.resources.cpu.shares: 1 is out of range; use 2…262144"],
    ["linux.resources.pids.limit missing", (s) => (s.linux.resources = { pids: {} }), "linux.resources.pids.limit: is required"],
    ["linux.resources.devices[0].allow missing", (s) => (s.linux.resources = { devices: [{ access: "rwm" }] }), "linux.resources.devices[0].allow: is required; use true or false"],
  ];

  for (const [name, edit, message] of cases) {
    test(name, () => {
      const err = errorOf(() => validateSpec(spec(edit), { needProcess: true }));
      expect(err.message).toStartWith(message);
      expect(err.field).toBe(message.slice(0, message.indexOf(": ")));
    });
  }

  test("a config that is not an object", () => {
    expect(errorOf(() => validateSpec([])).message).toBe("config.json: got []; use a JSON object");
    expect(errorOf(() => validateSpec(null)).message).toBe("config.json: got null; use a JSON object");
  });

  test("process is required to create a container", () => {
    const err = errorOf(() => validateSpec(spec((s) => delete s.process), { needProcess: true }));
    expect(err.field).toBe("process");
    expect(err.message).toBe("process: is required to create a container");
  });

  test("the first problem in document order is the one reported", () => {
    const err = errorOf(() => validateSpec(spec((s) => {
      s.process.cwd = "rel";
      s.mounts[0].destination = "rel";
    })));
    expect(err.field).toBe("process.cwd");
  });
});
