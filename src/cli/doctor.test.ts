/**
 * `berth doctor` on this host: every check's status and evidence against the file the
 * test reads itself.
 */
import { describe, expect, test } from "bun:test";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { helperPath } from "../sys/init-helper.ts";
import { berth } from "../../test/observe-fixture.ts";
import { hasPodman, podman, podmanCleanup, podmanRootfs } from "../../test/podman-fixture.ts";
import { REPO } from "../../test/runtime-harness.ts";

const r = berth("doctor", "--json");
const checks = JSON.parse(r.stdout) as { name: string; status: string; evidence: string; fix: string }[];
const get = (name: string) => checks.find((c) => c.name === name)!;
const read = (f: string) => {
  try {
    return readFileSync(f, "utf8").trim();
  } catch {
    return undefined;
  }
};
const { layout } = detectHostCgroups();

describe("berth doctor", () => {
  test("exits 1 only when a check fails; the table has one line per check", () => {
    expect(r.stderr).toBe("");
    expect(r.code).toBe(checks.some((c) => c.status === "fail") ? 1 : 0);
    const table = berth("doctor");
    expect(table.stdout.trimEnd().split("\n")).toHaveLength(checks.length);
    for (const c of checks) expect(["ok", "warn", "fail"]).toContain(c.status);
    for (const c of checks) expect(c.fix === "").toBe(c.status === "ok");
  });

  test("kernel and namespaces", () => {
    expect(get("kernel").evidence).toBe(`/proc/sys/kernel/osrelease: Linux ${read("/proc/sys/kernel/osrelease")}`);
    const missing = ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"].filter((t) => !existsSync(`/proc/self/ns/${t}`));
    expect(get("namespaces").status).toBe(missing.length === 0 ? "ok" : missing.some((t) => ["mnt", "uts", "ipc", "pid", "net"].includes(t)) ? "fail" : "warn");
  });

  test("user namespaces: max_user_namespaces and unprivileged_userns_clone where present", () => {
    const max = Number(read("/proc/sys/user/max_user_namespaces"));
    const clone = read("/proc/sys/kernel/unprivileged_userns_clone");
    const c = get("user namespaces");
    expect(c.evidence).toStartWith(`/proc/sys/user/max_user_namespaces ${max}`);
    expect(c.evidence.includes("unprivileged_userns_clone")).toBe(clone !== undefined);
    if (max === 0) expect(c.status).toBe("fail");
    else if (clone === "0") expect(c.status).toBe("warn");
  });

  test("cgroup layout and controllers, as mounted", () => {
    expect(get("cgroup layout").status).toBe(layout.mode === "v2" ? "ok" : "warn");
    expect(get("cgroup layout").evidence).toStartWith(layout.mode === "v2" ? "v2 (unified)" : layout.mode);
    const c = get("cgroup controllers");
    if (layout.mode === "v2") {
      const available = read(`${layout.unified!.mountPoint}/cgroup.controllers`)!.split(" ");
      expect(c.evidence).toStartWith(`${layout.unified!.mountPoint}/cgroup.controllers: available [${available.join(" ")}]; enabled: ${layout.unified!.mountPoint}/cgroup.subtree_control [${read(`${layout.unified!.mountPoint}/cgroup.subtree_control`)}]`);
      expect(c.status).toBe(["cpu", "memory", "pids", "io"].every((x) => available.includes(x)) ? "ok" : "fail");
    } else {
      for (const h of layout.v1) expect(c.evidence).toContain(`${h.mountPoint} [${h.controllers.join(",")}]`);
    }
    expect(get("delegation").evidence).toContain(`/sys/kernel/cgroup/delegate: ${(read("/sys/kernel/cgroup/delegate") ?? "absent").split("\n").join(" ")}`);
  });

  test("PSI, swap accounting, overlayfs, seccomp, pivot_root", () => {
    expect(get("PSI").evidence).toStartWith(read("/proc/pressure/cpu") !== undefined ? "/proc/pressure/cpu readable" : "/proc/pressure/cpu unreadable");
    const memory = layout.v1.find((h) => h.controllers.includes("memory"));
    if (memory) expect(get("swap accounting").status).toBe(existsSync(`${memory.mountPoint}/memory.memsw.limit_in_bytes`) ? "ok" : "warn");
    expect(get("overlayfs").status).toBe(/\toverlay$/m.test(read("/proc/filesystems")!) ? "ok" : "warn");
    const actions = read("/proc/sys/kernel/seccomp/actions_avail");
    expect(get("seccomp").evidence).toStartWith(actions === undefined ? "/proc/sys/kernel/seccomp/actions_avail absent" : `/proc/sys/kernel/seccomp/actions_avail: ${actions}`);
    const root = read("/proc/self/mountinfo")!.split("\n").filter((l) => l.split(" ")[4] === "/").at(-1)!;
    const fsType = root.split(" - ")[1]!.split(" ")[0];
    expect(get("pivot_root").evidence).toStartWith(`/ is ${fsType}`);
  });

  test("CNI plugins, ip_forward, storage, the native helper", () => {
    for (const dir of ["/usr/lib/cni", "/opt/cni/bin"]) {
      const plugins = existsSync(dir) ? readdirSync(dir) : [];
      expect(get("CNI plugins").evidence).toContain(plugins.length > 0 ? `${dir}: ${plugins.length} plugins` : `${dir}: absent`);
    }
    const fwd = read("/proc/sys/net/ipv4/ip_forward");
    expect(get("ip_forward").evidence).toStartWith(`/proc/sys/net/ipv4/ip_forward ${fwd}`);
    expect(get("ip_forward").status).toBe(fwd === "1" ? "ok" : "warn");
    for (const path of ["/var/lib", "/run"]) {
      const s = statfsSync(path);
      const free = +((100 * s.bavail) / s.blocks).toFixed(1);
      const inodes = +((100 * s.ffree) / s.files).toFixed(1);
      const c = get(`storage ${path}`);
      // the disk is shared with running tests: compare at a tenth of a percent, reading before and after
      const m = /: ([\d.]+)% space free, ([\d.]+)% inodes free$/.exec(c.evidence)!;
      expect(Math.abs(Number(m[1]) - free)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(Number(m[2]) - inodes)).toBeLessThanOrEqual(0.5);
    }
    let executable = true;
    try {
      accessSync(helperPath(), constants.X_OK);
    } catch {
      executable = false;
    }
    expect(get("native helper")).toMatchObject({ status: executable ? "ok" : "fail", evidence: executable ? `${helperPath()} is built` : expect.any(String) });
  });

  test.skipIf(!hasPodman)("capabilities: what root really holds, and — without CAP_SYS_RESOURCE — podman's default ulimits fail as doctor says, with runc and with berth-runtime", () => {
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(read("/proc/self/status")!)![1]!;
    const c = get("capabilities");
    expect(c.evidence).toStartWith(`/proc/self/status CapEff ${eff}`);
    const hasResource = (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
    const hardNofile = Number(/^Max open files\s+\S+\s+(\S+)/m.exec(read("/proc/self/limits")!)![1]);
    if (hasResource || hardNofile >= 1048576) {
      expect(c.evidence).not.toContain("so every such run fails with 126");
      return;
    }
    expect(c.status).toBe("fail");
    expect(c.evidence).toContain(`missing CAP_SYS_RESOURCE: podman's and docker's default nofile=1048576 is above root's hard limit ${hardNofile}`);
    // the incident: podman with its default ulimits (no --ulimit), as a new user runs it
    const name = `doctor-ulimits-${process.pid}`;
    try {
      for (const runtime of ["/usr/sbin/runc", `${REPO}/bin/berth-runtime`]) {
        const run = podman(["--runtime", runtime, "run", "--rm", "--network", "none", "--rootfs", podmanRootfs(name), "true"]);
        const stderr = run.stderr.toString();
        expect(run.exitCode).toBe(126);
        expect(stderr).toContain("operation not permitted");
        // berth-runtime's own error names the fix
        if (runtime.endsWith("berth-runtime")) expect(stderr).toContain("process.rlimits[0]: set RLIMIT_NOFILE to 1048576/1048576: operation not permitted; raising a hard limit above the runtime's own needs CAP_SYS_RESOURCE");
      }
    } finally {
      podmanCleanup(name, false);
    }
  });
});
