import { describe, expect, test } from "bun:test";
import { doctorChecks, formatChecks, parseLimitsHard, type DoctorFacts } from "./doctor.ts";

const v2Facts = (o: Partial<DoctorFacts> = {}): DoctorFacts => ({
  kernel: "6.1.0-18-amd64",
  namespaces: Object.fromEntries(["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"].map((t) => [t, true])),
  userns: { max: 15000 },
  euid: 0,
  layout: { mode: "v2", v1: [], unified: { mountPoint: "/sys/fs/cgroup", root: "/", controllers: ["cpuset", "cpu", "io", "memory", "pids"] } },
  subtree: [{ file: "/sys/fs/cgroup/cgroup.subtree_control", enabled: ["cpu", "io", "memory", "pids"], exists: true }],
  delegation: { nsdelegate: true, delegateFiles: ["cgroup.procs"], ownWritable: true },
  psi: { file: "/proc/pressure/cpu", readable: true },
  swap: { file: "/sys/fs/cgroup/init/memory.swap.max", accounting: true, devices: 1 },
  filesystems: ["ext4", "overlay", "cgroup2"],
  seccomp: { file: "/proc/sys/kernel/seccomp/actions_avail", actions: ["kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow"] },
  rootFsType: "ext4",
  cni: [{ dir: "/usr/lib/cni", plugins: ["bridge", "host-local", "loopback", "portmap"] }, { dir: "/opt/cni/bin", plugins: [] }],
  ipForward: 1,
  disks: [{ path: "/var/lib", freePct: 50, inodesFreePct: 90 }],
  helper: { path: "/b/native/build/berth-init", executable: true },
  capabilities: { file: "/proc/self/status", effective: "000001ffffffffff", lastCap: 40 },
  hardLimits: { file: "/proc/self/limits", nofile: 1048576 },
  ...o,
});
const status = (f: DoctorFacts) => Object.fromEntries(doctorChecks(f).map((c) => [c.name, c.status]));

describe("berth doctor's verdicts", () => {
  test("a ready v2 host: every check ok, no fixes", () => {
    const checks = doctorChecks(v2Facts());
    expect(checks.filter((c) => c.status !== "ok")).toEqual([]);
    expect(checks.every((c) => c.fix === "")).toBe(true);
  });
  test("each problem turns its own line, with a fix", () => {
    const s = status(v2Facts({
      kernel: "4.19.0", userns: { max: 0 }, psi: { file: "/proc/pressure/cpu", readable: false }, filesystems: ["ext4"], rootFsType: "rootfs",
      swap: { file: "x", accounting: false, devices: 0 }, ipForward: 0, seccomp: { file: "/proc/sys/kernel/seccomp/actions_avail" },
      cni: [{ dir: "/usr/lib/cni", plugins: [] }], disks: [{ path: "/var/lib", freePct: 4, inodesFreePct: 90 }, { path: "/run", freePct: 50, inodesFreePct: 8 }],
      helper: { path: "/b", executable: false },
    }));
    expect(s).toEqual({
      kernel: "fail", namespaces: "ok", "user namespaces": "fail", "cgroup layout": "ok", "cgroup controllers": "ok", delegation: "ok", PSI: "warn",
      "swap accounting": "warn", overlayfs: "warn", seccomp: "fail", pivot_root: "warn", "CNI plugins": "warn", ip_forward: "warn",
      "storage /var/lib": "fail", "storage /run": "warn", "native helper": "fail", capabilities: "ok",
    });
  });
  test("user namespaces: root-only when unprivileged_userns_clone is 0", () => {
    const c = doctorChecks(v2Facts({ userns: { max: 15000, unprivilegedClone: 0 } })).find((x) => x.name === "user namespaces")!;
    expect(c).toMatchObject({ status: "warn", fix: "sysctl -w kernel.unprivileged_userns_clone=1 for rootless containers" });
  });
  test("controllers: missing from cgroup.controllers fails; hybrid and v1 layouts warn", () => {
    const missing = v2Facts({ layout: { mode: "v2", v1: [], unified: { mountPoint: "/sys/fs/cgroup", root: "/", controllers: ["cpu", "memory"] } } });
    expect(doctorChecks(missing).find((c) => c.name === "cgroup controllers")!.evidence).toEndWith("missing pids io");
    const hybrid = v2Facts({ layout: { mode: "hybrid", v1: [{ controllers: ["memory"], mountPoint: "/sys/fs/cgroup/memory", root: "/" }], unified: { mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: [] } } });
    const s = status(hybrid);
    expect(s["cgroup layout"]).toBe("warn");
    expect(s["cgroup controllers"]).toBe("fail"); // no cpu hierarchy mounted
  });
  test("capabilities: root without CAP_SYS_RESOURCE under a hard limit below the engines' default nofile fails, and says what fails and how to fix it", () => {
    const noResource = { file: "/proc/self/status", effective: "000001fffeffffff", lastCap: 40 };
    const c = doctorChecks(v2Facts({ capabilities: noResource, hardLimits: { file: "/proc/self/limits", nofile: 20000 } })).find((x) => x.name === "capabilities")!;
    expect(c.status).toBe("fail");
    expect(c.evidence).toBe("/proc/self/status CapEff 000001fffeffffff; missing CAP_SYS_RESOURCE: podman's and docker's default nofile=1048576 is above root's hard limit 20000 (/proc/self/limits), so every such run fails with 126 (setrlimit: operation not permitted); no negative oom_score_adj either");
    expect(c.fix).toStartWith('lower the engines\' default to the hard limit: containers.conf [containers] default_ulimits = ["nofile=20000:20000"] (podman), dockerd --default-ulimit nofile=20000:20000');
    // a hard limit at the default: the engines' runs work, only a negative oom_score_adj is lost
    expect(status(v2Facts({ capabilities: noResource }))["capabilities"]).toBe("warn");
    // no CAP_SYS_ADMIN: nothing starts; a capability the kernel does not have (above cap_last_cap) is not missing
    expect(status(v2Facts({ capabilities: { ...noResource, effective: "000001ffffdfffff" } }))["capabilities"]).toBe("fail");
    expect(status(v2Facts({ capabilities: { ...noResource, effective: "ffffff", lastCap: 23 } }))["capabilities"]).toBe("ok");
  });
  test("/proc/PID/limits: the hard column, unlimited as null", () => {
    const limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax processes             96367                96367                processes \nMax open files            1024                 20000                files     \nMax locked memory         unlimited            unlimited            bytes     \n";
    expect(parseLimitsHard(limits, "Max open files")).toBe(20000);
    expect(parseLimitsHard(limits, "Max locked memory")).toBeNull();
    expect(parseLimitsHard(limits, "Max nothing")).toBeUndefined();
  });
  test("one line per check", () => {
    const text = formatChecks(doctorChecks(v2Facts({ ipForward: 0 })));
    expect(text.split("\n")).toHaveLength(doctorChecks(v2Facts()).length);
    expect(text).toContain("warn  ip_forward          /proc/sys/net/ipv4/ip_forward 0: bridged containers cannot reach beyond the host; fix: sysctl -w net.ipv4.ip_forward=1 (persist it in /etc/sysctl.d/)");
  });
});
