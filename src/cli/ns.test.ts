/**
 * `berth ns` on real namespaces: two containers (cgroups named as docker's cgroupfs driver
 * names them, under the test's own parent) where the second joined the first's UTS
 * namespace, as a pod's containers share theirs.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { berth, CgroupFixture, until } from "../../test/observe-fixture.ts";

const SLOW = 60_000;
const fx = new CgroupFixture("ns");
afterAll(() => fx.cleanup());

const inode = (pid: number | "self", type: string) => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${type}`))![1]);

describe("berth ns", () => {
  test("each namespace's inode, whether it is the host's, and which containers share it", async () => {
    const a = "a1".repeat(32);
    const b = "b2".repeat(32);
    const first = fx.start(`docker/${a}`, ["unshare", "--uts", "--ipc", "sleep", "1000"]);
    expect(await until(() => inode(first.pid, "uts") !== inode("self", "uts"))).toBe(true);
    const second = fx.start(`docker/${b}`, ["nsenter", "-t", String(first.pid), "-u", "sleep", "1000"]);
    expect(await until(() => inode(second.pid, "uts") === inode(first.pid, "uts"))).toBe(true);

    const r = berth("ns", "--json", a);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ kind: "container", runtime: "docker", id: a, name: a.slice(0, 12), pid: first.pid });
    const row = (t: string) => out.namespaces.find((n: { type: string }) => n.type === t);
    expect(row("uts")).toEqual({ type: "uts", inode: inode(first.pid, "uts"), host: false, sharedWith: [{ runtime: "docker", id: b, name: b.slice(0, 12), pid: second.pid }] });
    expect(row("ipc")).toEqual({ type: "ipc", inode: inode(first.pid, "ipc"), host: false, sharedWith: [] });
    expect(row("net")).toMatchObject({ inode: inode("self", "net"), host: true });
    expect(row("net").sharedWith).toContainEqual({ runtime: "docker", id: b, name: b.slice(0, 12), pid: second.pid });

    const table = berth("ns", b.slice(0, 12)).stdout.split("\n");
    expect(table[0]).toBe(`docker container ${b.slice(0, 12)} (${b.slice(0, 12)}), pid ${second.pid}`);
    expect(table).toContainEqual(`${"uts".padEnd(18)} ${String(inode(first.pid, "uts")).padEnd(11)} no      docker ${a.slice(0, 12)} (pid ${first.pid})`);
    expect(table.find((l) => l.startsWith("ipc "))).toMatch(/ yes +the host/);
  }, SLOW);

  test("a cgroup without processes has no namespaces to show", () => {
    const empty = fx.cgroup("empty");
    const r = berth("ns", empty);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`berth: TARGET: ${empty} has no process, so no namespaces to show\n`);
  }, SLOW);
});
