/**
 * The seed's security checklist (002_9231cf6c1d5f29fb.txt, "Security Considerations"),
 * item by item, against berth-runtime's default spec (`berth-runtime spec`, runc's safe
 * default) — one test per item a runtime can apply, each checked from inside the container.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, RuntimeFixture, sharedRootfs, copySharedRootfs } from "../../test/runtime-harness.ts";
import { clientSpec } from "../../test/client-specs.ts";
import { rootlessSpec } from "../spec/default-spec.ts";
import type { Spec } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("checklist");
afterAll(() => fx.cleanup(), 60_000);

/** The default spec exactly as `berth-runtime spec` writes it, with the shared rootfs and the test's command. */
function defaultFromCli(): Spec {
  const dir = join(fx.dir, `spec-${fx.id("s")}`);
  Bun.spawnSync(["mkdir", "-p", dir]);
  expect(fx.rt(["spec", "--bundle", dir]).code).toBe(0);
  return JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
}

function run(script: string, change?: (s: Spec) => void, id = fx.id()): { out: string; err: string; code: number; id: string } {
  const s = defaultFromCli();
  s.process!.terminal = false;
  s.root = { path: sharedRootfs(), readonly: true };
  s.linux!.cgroupsPath = `/berth-test/${id}`;
  s.process!.args = ["sh", "-c", script];
  change?.(s);
  const r = fx.runSpec(id, s);
  return { out: r.stdout, err: r.stderr, code: r.code, id };
}

const hasLsm = existsSync("/sys/fs/selinux/enforce") || (existsSync("/sys/module/apparmor/parameters/enabled") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y"));

describe.skipIf(!canRunContainers)("seed 002 security checklist, with the default spec", () => {
  test("1. user namespaces: the rootless variant maps container root to an unprivileged host uid", () => {
    const rootfs = join(fx.dir, "rootfs-rootless");
    copySharedRootfs(rootfs);
    Bun.spawnSync(["chown", "-R", "100000:100000", rootfs]);
    // what `berth-runtime spec --rootless` writes, with the mapping moved from the caller (root here) to an unprivileged uid
    const dir = join(fx.dir, "spec-rootless");
    Bun.spawnSync(["mkdir", "-p", dir]);
    expect(fx.rt(["spec", "--rootless", "--bundle", dir]).code).toBe(0);
    const written: Spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(written).toEqual(rootlessSpec(defaultFromCli(), 0, 0));
    expect(written.linux!.namespaces!.map((n) => n.type)).not.toContain("network");
    expect(written.linux!.resources).toBeUndefined();
    const r = run("id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user", (s) => {
      Object.assign(s, { ...written, process: { ...written.process, args: s.process!.args, terminal: false } });
      s.linux!.cgroupsPath = `/berth-test/${fx.id("rootless")}`;
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
      s.root = { path: rootfs, readonly: true };
    });
    const [uid, map, ns] = r.out.trim().split("\n");
    expect(uid).toBe("0");
    expect(map!.trim().split(/\s+/)).toEqual(["0", "100000", "1"]);
    expect(ns).not.toBe(readlinkSync("/proc/self/ns/user"));
  });

  test("2. limit capabilities: three capabilities, and chown is denied to container root", () => {
    const r = run("grep CapEff /proc/1/status; touch /dev/shm/f; chown 1 /dev/shm/f || echo denied");
    expect(r.out).toContain("CapEff:\t0000000020000420");
    expect(r.out).toContain("denied");
  });

  test("3. seccomp: the default spec with docker's profile blocks unshare with EPERM", () => {
    const docker = (clientSpec("docker-run") as { linux: { seccomp: unknown } }).linux.seccomp;
    const r = run("unshare -U true", (s) => { s.linux!.seccomp = docker as never; });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("Operation not permitted");
  });

  // the refusal is what a host without an LSM can show; docs/security.md says how a host with one applies it
  test.skipIf(hasLsm)("4. AppArmor/SELinux: on a host without them a profile request is refused, never dropped silently", () => {
    const r = run("echo ran", (s) => { s.process!.apparmorProfile = "berth-default"; });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toContain("process.apparmorProfile: AppArmor is not enabled on this host");
  });

  test("5. resource limits: pids.max stops a fork bomb, and the memory limit is in the cgroup", () => {
    // the bomb runs in a shell of its own: a shell that cannot fork gives up, the outer one reports
    const r = run("sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done'; grep -c . /sys/fs/cgroup/pids/tasks 2>/dev/null || cat /sys/fs/cgroup/pids.current; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max", (s) => {
      s.linux!.namespaces!.push({ type: "cgroup" });
      s.linux!.resources = { ...s.linux!.resources, pids: { limit: 8 }, memory: { limit: 64 << 20 } };
    });
    const [pids, memory] = r.out.trim().split("\n");
    expect(Number(pids)).toBeLessThanOrEqual(8);
    expect(r.err).toMatch(/fork|Resource temporarily unavailable/i);
    expect(memory).toBe(String(64 << 20));
  });

  test("6. read-only root filesystem: writing to / fails with EROFS", () => {
    const r = run("touch /written");
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("Read-only file system");
    expect(existsSync(join(sharedRootfs(), "written"))).toBe(false);
  });

  test("7. no-new-privileges: the container's init has NoNewPrivs set", () => {
    expect(run("grep NoNewPrivs /proc/1/status").out).toBe("NoNewPrivs:\t1\n");
  });

  test("8. network isolation: a private network namespace holding only lo", () => {
    const r = run("readlink /proc/self/ns/net; ls /sys/class/net");
    const [ns, ifaces] = r.out.trim().split("\n");
    expect(ns).not.toBe(readlinkSync("/proc/self/ns/net"));
    expect(ifaces).toBe("lo");
  });

  test("10. audit and monitor: a SCMP_ACT_LOG rule's call is in the kernel log, and failures are in the JSON log", () => {
    const r = run("mkdir /dev/shm/audited && echo made", (s) => {
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_LOG" }] } as never;
    });
    expect(r.out).toBe("made\n");
    expect(Bun.spawnSync(["dmesg"]).stdout.toString()).toMatch(/type=1326 .*comm="mkdir"/);
    const log = join(fx.dir, "runtime-log.json");
    const id = fx.id();
    const s = defaultFromCli();
    s.process!.terminal = false;
    s.root = { path: sharedRootfs(), readonly: true };
    s.process!.args = ["/no/such/program"];
    s.linux!.cgroupsPath = `/berth-test/${id}`;
    const failed = fx.rt(["create", "--bundle", fx.bundle(id, s), id], { globals: ["--log", log, "--log-format", "json"] });
    expect(failed.code).toBe(1);
    const record = JSON.parse(readFileSync(log, "utf8").trim());
    expect(record.level).toBe("error");
    expect(record.msg).toContain("process.args[0]");
    expect(statSync(log).size).toBeGreaterThan(0);
  });
});
