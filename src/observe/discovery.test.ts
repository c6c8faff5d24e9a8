/**
 * Discovery is pure: cgroup paths in the shapes each engine writes (moby's
 * newCgroupParent, podman's CGroupPath, containerd CRI's getCgroupsPath, the kubelet's
 * cgroup names), processes as /proc shows them, targets as a user types them.
 */
import { describe, expect, test } from "bun:test";
import { parseProcCgroup } from "../cgroups/mountinfo.ts";
import { errorOf } from "../../test/berth-error.ts";
import {
  applyNames, classifyCgroupPath, classifyProcess, discoverContainers, membershipPath, parseProcStat, pickInit, resolveTarget,
  type HostView, type ProcessInfo,
} from "./discovery.ts";

const A = "4f3c2b1a".repeat(8);
const B = "0123abcd".repeat(8);
const UID = "8f1c2a3b-1d2e-4f5a-9b8c-7d6e5f4a3b2c";
const UID_ = UID.replaceAll("-", "_");

describe("classifyCgroupPath", () => {
  const cases: [string, string, ReturnType<typeof classifyCgroupPath>][] = [
    // docker: cgroupfs parent "docker", systemd "system.slice" + prefix "docker"
    ["docker cgroupfs", `/docker/${A}`, { runtime: "docker", id: A, cgroup: `/docker/${A}` }],
    ["docker systemd", `/system.slice/docker-${A}.scope`, { runtime: "docker", id: A, cgroup: `/system.slice/docker-${A}.scope` }],
    ["docker in docker: the inner one", `/docker/${A}/docker/${B}`, { runtime: "docker", id: B, cgroup: `/docker/${A}/docker/${B}` }],
    ["systemd inside a docker container", `/system.slice/docker-${A}.scope/init.scope`, { runtime: "docker", id: A, cgroup: `/system.slice/docker-${A}.scope` }],
    ["rootless docker", `/user.slice/user-1000.slice/user@1000.service/docker-${A}.scope`,
      { runtime: "docker", id: A, cgroup: `/user.slice/user-1000.slice/user@1000.service/docker-${A}.scope` }],
    // podman: cgroupfs CgroupParent/libpod-<id>, systemd machine.slice:libpod:<id>
    ["podman systemd", `/machine.slice/libpod-${A}.scope`, { runtime: "podman", id: A, cgroup: `/machine.slice/libpod-${A}.scope` }],
    ["podman with crun's inner cgroup", `/machine.slice/libpod-${A}.scope/container`, { runtime: "podman", id: A, cgroup: `/machine.slice/libpod-${A}.scope` }],
    ["podman cgroupfs", `/libpod_parent/libpod-${A}`, { runtime: "podman", id: A, cgroup: `/libpod_parent/libpod-${A}` }],
    ["podman 1.x cgroupfs ctr", `/libpod_parent/libpod-${A}/ctr`, { runtime: "podman", id: A, cgroup: `/libpod_parent/libpod-${A}` }],
    ["podman in a pod", `/machine.slice/machine-libpod_pod_${B}.slice/libpod-${A}.scope`,
      { runtime: "podman", id: A, pod: B, cgroup: `/machine.slice/machine-libpod_pod_${B}.slice/libpod-${A}.scope` }],
    ["rootless podman", `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${A}.scope`,
      { runtime: "podman", id: A, cgroup: `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${A}.scope` }],
    // containerd: WithNamespacedCgroup → /<namespace>/<id>; nerdctl's systemd unit
    ["containerd default namespace", "/default/redis-1", { runtime: "containerd", id: "redis-1", namespace: "default", cgroup: "/default/redis-1" }],
    ["containerd k8s.io namespace", `/k8s.io/${A}`, { runtime: "containerd", id: A, namespace: "k8s.io", cgroup: `/k8s.io/${A}` }],
    ["nerdctl systemd", `/system.slice/nerdctl-${A}.scope`, { runtime: "containerd", id: A, cgroup: `/system.slice/nerdctl-${A}.scope` }],
    // Kubernetes: the kubelet's pod cgroups, then the CRI runtime's container cgroup
    ["kubepods cgroupfs burstable", `/kubepods/burstable/pod${UID}/${A}`,
      { runtime: "kubernetes", id: A, pod: UID, cgroup: `/kubepods/burstable/pod${UID}/${A}` }],
    ["kubepods cgroupfs guaranteed", `/kubepods/pod${UID}/${A}`, { runtime: "kubernetes", id: A, pod: UID, cgroup: `/kubepods/pod${UID}/${A}` }],
    ["kubepods cgroupfs under cri-o", `/kubepods/besteffort/pod${UID}/crio-${A}`,
      { runtime: "cri-o", id: A, pod: UID, cgroup: `/kubepods/besteffort/pod${UID}/crio-${A}` }],
    ["kubepods systemd cri-containerd",
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${A}.scope`,
      { runtime: "containerd", id: A, pod: UID, namespace: "k8s.io", cgroup: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${A}.scope` }],
    ["kubepods systemd cri-o", `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${A}.scope`,
      { runtime: "cri-o", id: A, pod: UID, cgroup: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${A}.scope` }],
    ["kubepods systemd guaranteed docker", `/kubepods.slice/kubepods-pod${UID_}.slice/docker-${A}.scope`,
      { runtime: "docker", id: A, pod: UID, cgroup: `/kubepods.slice/kubepods-pod${UID_}.slice/docker-${A}.scope` }],
    ["kind node", `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${A}.scope`,
      { runtime: "containerd", id: A, pod: UID, namespace: "k8s.io", cgroup: `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${A}.scope` }],
    ["static pod uid (a hash, no dashes)", `/kubepods/burstable/pod${"ab".repeat(16)}/${A}`,
      { runtime: "kubernetes", id: A, pod: "ab".repeat(16), cgroup: `/kubepods/burstable/pod${"ab".repeat(16)}/${A}` }],
    // berth-runtime: /berth/<id>, system.slice:berth:<id>
    ["berth-runtime default", "/berth/web", { runtime: "berth", id: "web", cgroup: "/berth/web" }],
    ["below a berth container", "/berth/web/inner", { runtime: "berth", id: "web", cgroup: "/berth/web" }],
    ["berth-runtime systemd", "/system.slice/berth-web.scope", { runtime: "berth", id: "web", cgroup: "/system.slice/berth-web.scope" }],
  ];
  for (const [what, path, want] of cases) test(what, () => expect(classifyCgroupPath(path)).toEqual(want));

  const none: [string, string][] = [
    ["the root", "/"],
    ["a login session", "/user.slice/user-1000.slice/session-3.scope"],
    ["systemd's own", "/init.scope"],
    ["the docker daemon", "/system.slice/docker.service"],
    ["containerd itself", "/system.slice/containerd.service"],
    ["podman's conmon (systemd)", `/machine.slice/libpod-conmon-${A}.scope`],
    ["podman 1.x conmon inside the container's cgroup", `/libpod_parent/libpod-${A}/conmon`],
    ["cri-o's conmon", `/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${A}.scope`],
    ["a pod, not a container", `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`],
    ["a cgroupfs pod", `/kubepods/burstable/pod${UID}`],
    ["a short id is not docker's", "/docker/4f3c2b1a"],
    ["a hex name with no engine behind it", `/process_api/${"e6edc14f".repeat(4)}`],
    ["the /berth parent itself", "/berth"],
    ["a unit under a containerd namespace name", "/default/app.service"],
    ["a namespace nobody registered", "/tenant-a/redis-1"],
  ];
  for (const [what, path] of none) test(`not a container: ${what}`, () => expect(classifyCgroupPath(path)).toBeUndefined());

  test("ids the engines' state lists place a container under any parent", () => {
    expect(classifyCgroupPath(`/custom-parent/${A}`, { docker: new Set([A]) })).toEqual({ runtime: "docker", id: A, cgroup: `/custom-parent/${A}` });
    expect(classifyCgroupPath(`/zzz/${A}`, { podman: new Set([A]) })).toEqual({ runtime: "podman", id: A, cgroup: `/zzz/${A}` });
    expect(classifyCgroupPath("/tenant-a/redis-1", { containerd: new Map([["other", "tenant-a"]]) }))
      .toEqual({ runtime: "containerd", id: "redis-1", namespace: "tenant-a", cgroup: "/tenant-a/redis-1" });
    expect(classifyCgroupPath(`/kubepods/burstable/pod${UID}/${A}`, { containerd: new Map([[A, "k8s.io"]]) }))
      .toEqual({ runtime: "containerd", id: A, namespace: "k8s.io", pod: UID, cgroup: `/kubepods/burstable/pod${UID}/${A}` });
    expect(classifyCgroupPath("/system.slice/redis", { containerd: new Map([["redis", "default"]]) })).toBeUndefined();
    expect(classifyCgroupPath("/my/own/path", { berth: new Map([["/my/own/path", "db"]]) })).toEqual({ runtime: "berth", id: "db", cgroup: "/my/own/path" });
    expect(classifyCgroupPath("/my/own/path/sub", { berth: new Map([["/my/own/path", "db"]]) })).toEqual({ runtime: "berth", id: "db", cgroup: "/my/own/path" });
  });
});

function proc(pid: number, ppid: number, cgroup: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { pid, ppid, start: pid, comm: `p${pid}`, cgroups: parseProcCgroup(cgroup), ...extra };
}

/** A hybrid host's /proc/PID/cgroup: the v1 hierarchies, then the v2 line. */
const v1 = (path: string, unified = path) => `9:name=systemd:${path}\n8:pids:${path}\n4:memory:${path}\n1:cpu:${path}\n0::${unified}\n`;

describe("classifyProcess and membershipPath", () => {
  test("on v1 the memory hierarchy is read first, and the v2 line last", () => {
    const e = parseProcCgroup(`8:pids:/\n4:memory:/docker/${A}\n0::/system.slice/docker-${B}.scope\n`);
    expect(classifyProcess(e, "hybrid")?.id).toBe(A);
  });
  test("on v2 only the 0:: line counts", () => {
    const e = parseProcCgroup(`1:name=systemd:/docker/${A}\n0::/system.slice/docker-${B}.scope\n`);
    expect(classifyProcess(e, "v2")?.id).toBe(B);
  });
  test("a process at a different path per v1 hierarchy belongs where pids (then freezer, memory) says", () => {
    expect(membershipPath(parseProcCgroup("8:pids:/a\n4:memory:/b\n0::/c\n"), "hybrid")).toBe("/a");
    expect(membershipPath(parseProcCgroup("6:freezer:/f\n4:memory:/b\n0::/c\n"), "v1")).toBe("/f");
    expect(membershipPath(parseProcCgroup("4:memory:/b\n0::/c\n"), "hybrid")).toBe("/b");
    expect(membershipPath(parseProcCgroup("4:memory:/b\n0::/c\n"), "v2")).toBe("/c");
  });
});

describe("parseProcStat", () => {
  test("a command with spaces and parentheses", () => {
    const line = "4242 (my (odd) app) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
    expect(parseProcStat(line)).toEqual({ comm: "my (odd) app", state: "S", ppid: 17, start: 98765 });
  });
  test("garbage is no process", () => expect(parseProcStat("nope")).toBeUndefined());
});

describe("pickInit", () => {
  const info = (list: ProcessInfo[]) => new Map(list.map((p) => [p.pid, p]));
  test("the process whose parent is outside the cgroup", () => {
    const list = [proc(200, 100, ""), proc(210, 200, ""), proc(211, 210, "")];
    expect(pickInit([211, 210, 200], info(list))).toBe(200);
  });
  test("of several such (an exec'd shell beside the init), the earliest started", () => {
    const list = [proc(300, 50, "", { start: 900 }), proc(250, 100, "", { start: 1000 }), proc(301, 300, "")];
    expect(pickInit([250, 300, 301], info(list))).toBe(300);
  });
  test("no processes: 0", () => expect(pickInit([], new Map())).toBe(0));
});

describe("discoverContainers", () => {
  const procs = [
    proc(1, 0, v1("/init.scope")),
    proc(900, 1, v1(`/machine.slice/libpod-conmon-${A}.scope`), { comm: "conmon" }),
    proc(901, 900, v1(`/machine.slice/libpod-${A}.scope/container`), { comm: "nginx" }),
    proc(902, 901, v1(`/machine.slice/libpod-${A}.scope/container`), { comm: "nginx" }),
    proc(950, 1, v1(`/docker/${B}`), { comm: "redis-server" }),
    proc(960, 1, v1("/berth/db"), { comm: "postgres" }),
    proc(1000, 1, v1("/user.slice/user-0.slice/session-1.scope"), { comm: "bash" }),
    // a runtime's exited helper, not yet reaped: still listed in its v1 cgroup, and started first
    proc(959, 1, v1("/berth/db"), { comm: "berth-init", state: "Z", start: 1 }),
  ];
  test("processes grouped into containers, each with its init (zombies are none), named from the engines' state, sorted by runtime and name", () => {
    const found = discoverContainers(procs, { mode: "hybrid", names: new Map([[A, "web"]]) });
    expect(found.map((c) => [c.runtime, c.id, c.name, c.pid, c.pids, c.cgroup])).toEqual([
      ["berth", "db", "db", 960, [960], "/berth/db"],
      ["docker", B, undefined, 950, [950], `/docker/${B}`],
      ["podman", A, "web", 901, [901, 902], `/machine.slice/libpod-${A}.scope`],
    ]);
  });
  test("a container cgroup with no process left comes from the tree walk, with pid 0", () => {
    const found = discoverContainers(procs, { mode: "hybrid", cgroupPaths: ["/", "/berth", "/berth/stopped", "/berth/db", "/docker"] });
    const stopped = found.find((c) => c.id === "stopped");
    expect(stopped).toEqual({ runtime: "berth", id: "stopped", name: "stopped", cgroup: "/berth/stopped", pid: 0, pids: [] });
    expect(found.filter((c) => c.id === "db")).toHaveLength(1);
  });
  test("applyNames: a berth-runtime container is named by its id, one an engine drives (podman's libpod-<id>) only by the engine's name", () => {
    const own = { runtime: "berth" as const, id: "web", cgroup: "/berth/web", pid: 5, pids: [5] };
    const podmans = { runtime: "berth" as const, engine: "podman" as const, id: B, cgroup: `/libpod_parent/libpod-${B}`, pid: 6, pids: [6] };
    expect(applyNames([{ ...own }, { ...podmans }], new Map()).map((c) => [c.id, c.name])).toEqual([[B, undefined], ["web", "web"]]);
    expect(applyNames([{ ...podmans }], new Map([[B, "db"]]))[0]!.name).toBe("db");
  });
  test("applyNames re-sorts by the names it gives", () => {
    const found = discoverContainers(procs, { mode: "hybrid" });
    expect(applyNames(found, new Map([[B, "aaa"]])).map((c) => c.name ?? c.id)).toEqual(["db", "aaa", A]);
  });
});

describe("resolveTarget", () => {
  const procs = [
    proc(1, 0, v1("/init.scope")),
    proc(901, 1, v1(`/machine.slice/libpod-${A}.scope`)),
    proc(902, 901, v1(`/machine.slice/libpod-${A}.scope`)),
    proc(950, 1, v1(`/docker/${B}`)),
    proc(951, 1, v1(`/docker/${"0123ffff".repeat(8)}`)),
    proc(1000, 1, "8:pids:/mine\n4:memory:/elsewhere\n0::/\n", { comm: "bash" }),
    proc(1001, 1000, "8:pids:/mine/sub\n4:memory:/elsewhere\n0::/\n", { comm: "sleep" }),
  ];
  const host: HostView = { mode: "hybrid", procs, containers: discoverContainers(procs, { mode: "hybrid", names: new Map([[A, "web"]]) }) };

  test("by name, by full id, by a unique prefix of the id", () => {
    expect(resolveTarget("web", host)).toMatchObject({ kind: "container", id: A, name: "web", pid: 901, runtime: "podman" });
    expect(resolveTarget(A, host).id).toBe(A);
    expect(resolveTarget(A.slice(0, 5), host).id).toBe(A);
  });
  test("a container without a name is named by its short id", () => {
    expect(resolveTarget(B, host).name).toBe(B.slice(0, 12));
  });
  test("a prefix two ids share is refused, naming them", () => {
    expect(errorOf(() => resolveTarget("0123", host)).message).toBe(
      `TARGET: "0123" matches 2 containers (docker ${B.slice(0, 12)}, docker 0123ffff0123); give more of the id`,
    );
  });
  test("a PID inside a container gives the container, keeping that PID", () => {
    expect(resolveTarget("902", host)).toMatchObject({ kind: "container", id: A, pid: 902, pids: [901, 902] });
  });
  test("a PID outside any container is a process, with its cgroups per hierarchy", () => {
    const s = resolveTarget("1000", host);
    expect(s).toMatchObject({ kind: "process", id: "1000", name: "bash", pid: 1000, cgroup: "/mine", pids: [1000] });
    expect(s.cgroups?.find((e) => e.controllers.includes("memory"))?.path).toBe("/elsewhere");
  });
  test("a cgroup path: the container there, or the processes in and below it", () => {
    expect(resolveTarget(`/machine.slice/libpod-${A}.scope`, host)).toMatchObject({ kind: "container", id: A });
    expect(resolveTarget("/mine", host)).toMatchObject({ kind: "cgroup", id: "/mine", cgroup: "/mine", pid: 1000, pids: [1000, 1001] });
    expect(resolveTarget("/sys/fs/cgroup/pids/mine", host, { cgroupPath: (a) => a.replace("/sys/fs/cgroup/pids", "") }).cgroup).toBe("/mine");
    expect(resolveTarget("/empty", host)).toMatchObject({ kind: "cgroup", pid: 0, pids: [] });
  });
  test("nothing by that name", () => {
    expect(errorOf(() => resolveTarget("nope", host)).message).toBe(
      'TARGET: no container, process or cgroup "nope" on this host; `berth stats --no-stream --all` lists the containers, and a cgroup path starts with /',
    );
    expect(errorOf(() => resolveTarget("", host)).message).toBe("TARGET: is empty; give a container id or name, a PID, or a cgroup path");
  });
});
