import { describe, expect, test } from "bun:test";
import type { Container, Subject } from "./discovery.ts";
import { NS_TYPES, parseNsLink, readNamespaces } from "../runtime/process-namespaces.ts";
import { formatNamespaces, namespaceRows } from "./namespaces.ts";

const host = { cgroup: 1, ipc: 2, mnt: 3, net: 4, pid: 5, pid_for_children: 5, time: 6, time_for_children: 6, user: 7, uts: 8 };
const web: Container = { runtime: "podman", id: "a".repeat(64), name: "web", cgroup: "/w", pid: 42, pids: [42] };
const sidecar: Container = { runtime: "podman", id: "b".repeat(64), name: "sidecar", cgroup: "/s", pid: 50, pids: [50] };
const other: Container = { runtime: "docker", id: "c".repeat(64), cgroup: "/o", pid: 60, pids: [60] };

describe("parseNsLink", () => {
  test("the inode of a /proc/PID/ns link", () => {
    expect(parseNsLink("net:[4026531833]")).toBe(4026531833);
    expect(parseNsLink("pid_for_children:[4026532251]")).toBe(4026532251);
    expect(parseNsLink("nope")).toBeUndefined();
  });
  test("this process: every type the kernel has", () => {
    const own = readNamespaces("self");
    expect(Object.keys(own).length).toBeGreaterThan(0);
    for (const t of Object.keys(own)) expect(NS_TYPES as readonly string[]).toContain(t);
  });
});

describe("namespaceRows", () => {
  // a pod: web and its sidecar share net and ipc; everyone shares the host's user and time
  const webNs = { ...host, mnt: 100, net: 101, ipc: 102, pid: 103, pid_for_children: 103, uts: 104, cgroup: 105 };
  const rows = namespaceRows(webNs, host, [
    { container: sidecar, ns: { ...host, mnt: 200, net: 101, ipc: 102 } },
    { container: other, ns: host },
  ]);
  const row = (t: string) => rows.find((r) => r.type === t)!;

  test("one row per type, in /proc/PID/ns order", () => {
    expect(rows.map((r) => r.type)).toEqual([...NS_TYPES]);
  });
  test("own namespaces: not the host's, with the containers that share them", () => {
    expect(row("net")).toEqual({ type: "net", inode: 101, host: false, sharedWith: [{ runtime: "podman", id: sidecar.id, name: "sidecar", pid: 50 }] });
    expect(row("mnt")).toEqual({ type: "mnt", inode: 100, host: false, sharedWith: [] });
  });
  test("the host's namespaces, and a nameless container by its short id", () => {
    expect(row("user").host).toBe(true);
    expect(row("user").sharedWith.map((p) => p.name)).toEqual(["sidecar", "cccccccccccc"]);
  });
  test("a type the kernel lacks", () => {
    const { time: _t, time_for_children: _c, ...old } = webNs;
    expect(namespaceRows(old, host, []).find((r) => r.type === "time")).toEqual({ type: "time", inode: null, host: false, sharedWith: [] });
  });
  test("the table names the peers of its own namespaces and counts the host's", () => {
    const s: Subject = { kind: "container", id: web.id, name: "web", runtime: "podman", pid: 42, cgroup: "/w", pids: [42], container: web };
    const text = formatNamespaces(s, rows).split("\n");
    expect(text[0]).toBe(`podman container web (${"a".repeat(12)}), pid 42`);
    expect(text[1]).toBe("NAMESPACE          INODE       HOST'S  SHARED WITH");
    expect(text).toContain("net                101         no      podman sidecar (pid 50)");
    expect(text).toContain("user               7           yes     the host and 2 other containers");
    expect(text).toContain("uts                104         no      -");
  });
});
