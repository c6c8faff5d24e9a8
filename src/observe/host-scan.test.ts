/**
 * Discovery of real containers: a berth-runtime one (busybox bundle, its own namespaces,
 * a cgroup under /berth-test that only its state.json ties to it), and one podman runs
 * with runc (skipped where podman is not installed) — then the operator's commands on
 * each by id or name.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { canRunContainers, RuntimeFixture } from "../../test/runtime-harness.ts";
import { berth } from "../../test/observe-fixture.ts";
import { hasPodman, podman, podmanCleanup, podmanParentAbsent, podmanRun } from "../../test/podman-fixture.ts";
import { resolveOnHost, scanHost } from "./host-scan.ts";

setDefaultTimeout(60_000);

const fx = new RuntimeFixture("observe");
afterAll(() => fx.cleanup(), 60_000);

describe.skipIf(!canRunContainers)("discovery of a berth-runtime container", () => {
  const id = fx.id();
  let pid = 0;

  test("found from its state.json and its init's cgroup, with the init's pid", () => {
    const run = fx.rt(["run", "--detach", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["sleep", "1000"]))), id]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    pid = fx.state(id).pid;
    const host = scanHost({ root: fx.root });
    const c = host.containers.find((x) => x.id === id);
    expect(c).toMatchObject({ runtime: "berth", id, name: id, pid, cgroup: `/berth-test/${id}`, pids: [pid] });
    expect(resolveOnHost(String(pid), host)).toMatchObject({ kind: "container", id, pid });
    // without its state directory it is only a cgroup: /berth-test is no engine's naming
    expect(scanHost({ root: `${fx.dir}/elsewhere` }).containers.some((x) => x.id === id)).toBe(false);
  });

  test("stats, top, ns and enter take its id", () => {
    const stats = berth("stats", "--root", fx.root, "--no-stream", "--format", "{{.Runtime}} {{.Name}} {{.PID}}", "--interval", "100", id);
    expect(stats.stdout).toBe(`berth-runtime ${id} ${pid}\n`);

    const top = berth("top", "--root", fx.root, id, "-o", "pid,comm");
    expect(top.stdout.trimEnd().split("\n").slice(1).map((l) => l.trim())).toEqual([`${pid} sleep`]);

    const ns = JSON.parse(berth("ns", "--root", fx.root, "--json", id).stdout);
    const own = ns.namespaces.filter((n: { host: boolean; inode: number | null }) => !n.host && n.inode !== null).map((n: { type: string }) => n.type);
    expect(own).toEqual(["ipc", "mnt", "net", "pid", "pid_for_children", "uts"]);

    // the mount namespace is the container's pivot_root'd busybox tree; PID 1 is its sleep
    const enter = berth("enter", "--root", fx.root, id, "--", "sh", "-c", "hostname; cat /proc/1/comm; readlink /proc/self/ns/net; ls /bin/busybox");
    expect(enter.stderr).toBe("");
    expect(enter.stdout).toBe(`${id.slice(0, 60)}\nsleep\n${readlinkSync(`/proc/${pid}/ns/net`)}\n/bin/busybox\n`);
  });
});

// This host has no systemd or journald; the sandbox lacks CAP_SYS_RESOURCE, so podman's
// default nofile/nproc limits (above the hard limit) are lowered.
describe.skipIf(!hasPodman)("discovery of a podman container (runc, cgroupfs)", () => {
  const name = `berth-observe-${process.pid}`;
  // podman makes its parent cgroups on first use and keeps them; remove them only if this test made them
  const madeParent = podmanParentAbsent();
  afterAll(() => podmanCleanup(name, madeParent));

  test("found by its libpod-<id> cgroup, named from containers.json, its init conmon's child; stats, top, ns, enter by name", () => {
    const { id, stderr } = podmanRun(name, ["--memory", "64m"], ["sleep", "1000"]);
    expect(stderr).toBe("");
    const pid = Number(podman(["inspect", "--format", "{{.State.Pid}}", name]).stdout.toString().trim());

    const c = scanHost().containers.find((x) => x.id === id);
    // named from containers.json, or in a private store (the v2 VM, whose root is overlayfs) from conmon's --name
    expect(c).toMatchObject({ runtime: "podman", id, pid, cgroup: `/libpod_parent/libpod-${id}`, name });
    const conmon = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    expect(readFileSync(`/proc/${conmon}/comm`, "utf8").trim()).toBe("conmon");

    const stats = JSON.parse(berth("stats", "--no-stream", "--format", "json", "--interval", "100", name).stdout);
    expect(stats).toMatchObject({ kind: "container", runtime: "podman", id, pid });
    expect(stats.memory.limit).toBe(64 * 1024 * 1024);
    expect(berth("top", id.slice(0, 12), "-o", "pid,comm").stdout.trimEnd().split("\n").slice(1).map((l) => l.trim())).toEqual([`${pid} sleep`]);
    const ns = JSON.parse(berth("ns", "--json", name).stdout);
    expect(ns.namespaces.find((n: { type: string }) => n.type === "net")).toMatchObject({ inode: Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))![1]), host: false });
    const enter = berth("enter", name, "--", "sh", "-c", "cat /proc/1/comm; hostname");
    expect(enter.stdout).toBe(`sleep\n${id.slice(0, 12)}\n`);
  });
});
