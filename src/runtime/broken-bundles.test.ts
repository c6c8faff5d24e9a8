/**
 * "Why won't it start", answered by the runtime: each broken bundle gives exit 1, one
 * line naming the field and the cause, and leaves nothing behind — no state directory,
 * no cgroup, no process.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/runtime-spec.ts";
import { canRunContainers, cgroupDirsFor, RuntimeFixture } from "../../test/runtime-harness.ts";

// each test execs the runtime several times; in the cgroup v2 VM that takes seconds
setDefaultTimeout(30_000);

const fx = new RuntimeFixture("broken");
afterAll(() => fx.cleanup(), 60_000);

interface Case {
  name: string;
  /** change the spec, or return raw config.json text */
  change: (s: Spec, id: string) => void | string;
  /** what the one error line must contain */
  error: string;
  /** extra create flags */
  flags?: string[];
}

const CASES: Case[] = [
  { name: "bad JSON", change: () => "{ not json", error: "config.json is not valid JSON" },
  { name: "no ociVersion", change: (s) => { delete (s as Partial<Spec>).ociVersion; }, error: "ociVersion: is required" },
  { name: "missing rootfs", change: (s) => { s.root = { path: "/nonexistent/rootfs" }; }, error: "root.path: /nonexistent/rootfs does not exist" },
  { name: "rootfs is a file", change: (s) => { s.root = { path: "/etc/hostname" }; }, error: "root.path: /etc/hostname is not a directory" },
  { name: "empty args", change: (s) => { s.process!.args = []; }, error: "process.args: is empty" },
  { name: "relative cwd", change: (s) => { s.process!.cwd = "tmp"; }, error: "process.cwd: \"tmp\" is not an absolute path" },
  { name: "unknown namespace type", change: (s) => { s.linux!.namespaces!.push({ type: "bogus" as never }); }, error: "linux.namespaces[5].type: \"bogus\" is not a namespace type" },
  { name: "namespace path of the wrong type", change: (s) => { delete s.hostname; s.linux!.namespaces![3] = { type: "uts", path: "/proc/self/ns/ipc" }; }, error: "linux.namespaces[3].path: \"/proc/self/ns/ipc\" is not a uts namespace" },
  { name: "namespace path missing", change: (s) => { s.linux!.namespaces![1] = { type: "network", path: "/proc/999999999/ns/net" }; }, error: "linux.namespaces[1].path: \"/proc/999999999/ns/net\": no such file or directory" },
  { name: "mount without type", change: (s) => { s.mounts!.push({ destination: "/x", source: "none" }); }, error: "mounts[7].type: has no type" },
  { name: "bad mount type", change: (s) => { s.mounts!.push({ destination: "/x", type: "nosuchfs", source: "none" }); }, error: "mounts[7] (/x): mount nosuchfs on /x: no such device" },
  { name: "bind source missing", change: (s) => { s.mounts!.push({ destination: "/x", type: "bind", source: "/nonexistent-src", options: ["rbind"] }); }, error: "mounts[7] (/x): bind /nonexistent-src on /x" },
  { name: "empty mount destination", change: (s) => { s.mounts!.push({ destination: "", type: "tmpfs", source: "tmpfs" }); }, error: "mounts[7].destination: is empty" },
  { name: "an empty annotation key", change: (s) => { s.annotations = { "": "x" }; }, error: "annotations: has an empty key" },
  { name: "bad device type", change: (s) => { s.linux!.devices = [{ path: "/dev/x", type: "z" }]; }, error: "linux.devices[0].type: \"z\" is not a device type" },
  { name: "device without major", change: (s) => { s.linux!.devices = [{ path: "/dev/x", type: "c", minor: 1 }]; }, error: "linux.devices[0].major: is required" },
  { name: "missing program", change: (s) => { s.process!.args = ["/app"]; }, error: "process.args[0]: \"/app\": executable file not found in the root filesystem: no such file or directory" },
  { name: "program not on PATH", change: (s) => { s.process!.args = ["no-such-tool"]; }, error: "process.args[0]: \"no-such-tool\": executable file not found in $PATH" },
  { name: "non-executable program", change: (s) => { s.process!.args = ["/etc/passwd"]; }, error: "process.args[0]: \"/etc/passwd\": permission denied" },
  { name: "bad uid", change: (s) => { s.process!.user.uid = -1; }, error: "process.user.uid: -1 is out of range (0..4294967294)" },
  { name: "unknown rlimit", change: (s) => { s.process!.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }]; }, error: "process.rlimits[0].type: \"RLIMIT_BOGUS\" is not a resource limit" },
  { name: "rlimit above the hard limit", change: (s) => { s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1 << 30, hard: 1 << 30 }]; }, error: "process.rlimits[0]: set RLIMIT_NOFILE to 1073741824/1073741824: operation not permitted" },
  { name: "negative oomScoreAdj without CAP_SYS_RESOURCE", change: (s) => { s.process!.oomScoreAdj = -500; }, error: "process.oomScoreAdj: set oom_score_adj -500" },
  { name: "unknown capability", change: (s) => { s.process!.capabilities!.bounding!.push("CAP_BOGUS"); }, error: "process.capabilities.bounding[3]: \"CAP_BOGUS\" is not a capability" },
  { name: "hostname without uts namespace", change: (s) => { s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "uts"); }, error: "hostname: cannot be set without a uts namespace" },
  { name: "host sysctl", change: (s) => { s.linux!.sysctl = { "kernel.panic": "1" }; }, error: 'linux.sysctl["kernel.panic"]: is not a namespaced sysctl' },
  { name: "bad memory limit", change: (s) => { s.linux!.resources = { memory: { limit: -5 } }; }, error: "linux.resources.memory.limit: -5 is not a size" },
  { name: "empty cgroupsPath", change: (s) => { s.linux!.cgroupsPath = ""; }, error: "linux.cgroupsPath: is empty" },
  { name: "a terminal and nowhere to send it (no --console-socket)", change: (s) => { s.process!.terminal = true; }, error: "process.terminal: cannot allocate a terminal when berth-runtime returns before the container ends" },
  { name: "a prestart hook that fails", change: (s) => { s.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo no network for you >&2; exit 3"] }] }; }, error: "hooks.prestart[0]: /bin/sh exited with status 3: no network for you" },
  { name: "a createRuntime hook that does not exist", change: (s) => { s.hooks = { createRuntime: [{ path: "/no/such/hook" }] }; }, error: "hooks.createRuntime[0]: /no/such/hook:" },
  { name: "a relative hook path", change: (s) => { s.hooks = { prestart: [{ path: "bin/hook" }] }; }, error: "hooks.prestart[0].path: \"bin/hook\" is not an absolute path" },
  { name: "bad --preserve-fds", change: () => undefined, flags: ["--preserve-fds", "x"], error: "--preserve-fds: \"x\" is not a count" },
];

/** Root without CAP_SYS_RESOURCE (this project's CI host) cannot lower oom_score_adj; the v2 VM's root can. */
const hasSysResource = (BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`) & (1n << 24n)) !== 0n;

describe.skipIf(!canRunContainers)("broken bundles: one clear line, exit 1, nothing left", () => {
  for (const c of CASES) {
    if (c.name.startsWith("negative oomScoreAdj") && hasSysResource) continue;
    test(c.name, () => {
      const id = fx.id("broken");
      const spec = fx.spec(id);
      const raw = c.change(spec, id);
      const bundle = fx.bundle(id, typeof raw === "string" ? raw : spec);
      const r = fx.rt(["create", "--bundle", bundle, ...(c.flags ?? []), id]);
      expect(r.stderr).toContain(c.error);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(1);
      expect(existsSync(join(fx.root, id))).toBe(false);
      expect(cgroupDirsFor(id)).toEqual([]);
    });
  }

  test("a mount destination through a symlink stays inside the rootfs", () => {
    const id = fx.id("broken");
    const rootfs = fx.ownRootfs(id);
    const outside = join(fx.dir, `outside-${id}`);
    mkdirSync(outside);
    symlinkSync(outside, join(rootfs, "evil"));
    symlinkSync("../../../../../../" + outside.slice(1), join(rootfs, "evil2"));
    const spec = fx.spec(id, (s) => {
      s.root = { path: rootfs, readonly: false };
      s.mounts!.push({ destination: "/evil/x", type: "tmpfs", source: "tmpfs" }, { destination: "/evil2/y", type: "tmpfs", source: "tmpfs" });
      s.process!.args = ["sh", "-c", "touch /evil/x/in-tmpfs && ls -d /evil/x /evil2/y"];
    });
    const r = fx.runSpec(id, spec);
    expect(r.code).toBe(0);
    expect(readdirSync(outside)).toEqual([]);
    // the symlink resolved inside the rootfs: <rootfs>/<outside path>/x was made there
    expect(existsSync(join(rootfs, outside, "x"))).toBe(true);
  });

  test("a program that is not executable in a private rootfs gives podman's 126 phrase", () => {
    const id = fx.id("broken");
    const rootfs = fx.ownRootfs(id);
    writeFileSync(join(rootfs, "app"), "#!/bin/sh\necho hi\n");
    chmodSync(join(rootfs, "app"), 0o644);
    const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => { s.root = { path: rootfs }; s.process!.args = ["/app"]; })), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("permission denied");
    expect(existsSync(join(fx.root, id))).toBe(false);
  });
});
