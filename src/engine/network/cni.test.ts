/**
 * CNI invocation with Debian's real plugins (bridge + host-local, portmap, firewall,
 * tuning, loopback) in a network namespace this test makes: ADD chains prevResult
 * through the list, CHECK passes, DEL from the cache alone (a fresh invoker: as after a
 * crash) leaves no veth, lease, iptables rule or bridge port; a failing plugin is one line.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniInvoker, type NetworkConfList } from "./cni.ts";
import { createNetworkNamespace, deleteLink, removeNetworkNamespace } from "../../sys/network-namespace.ts";
import { removeUnusedCniChains } from "../../../test/cni-chains.ts";
import { iptablesChains } from "../../../test/clients/client-env.ts";

// plugins are Go executables: seconds each in the cgroup v2 VM (QEMU TCG)
setDefaultTimeout(300_000);

const ok = process.getuid?.() === 0 && existsSync("/usr/lib/cni/bridge") && Bun.which("unshare") !== null && Bun.which("iptables") !== null;
const dir = mkdtempSync(join(tmpdir(), "berth-cni-"));
const netns = join(dir, "netns");
const bridge = `bcni${process.pid % 100000}`;
// 10.85.X.0/24: unique per test process (podman's tests use 10.79, docker's 10.80, cri's 10.81)
const third = process.pid % 250;
const subnet = `10.85.${third}.0/24`;
const name = `cni-test-${process.pid}`;
const list: NetworkConfList = {
  cniVersion: "1.0.0", name,
  plugins: [
    { type: "bridge", bridge, isGateway: true, ipMasq: true, ipam: { type: "host-local", ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(dir, "ipam") } },
    { type: "portmap", capabilities: { portMappings: true }, snat: true },
    { type: "firewall", backend: "iptables" },
    { type: "tuning", capabilities: { mac: true } },
  ],
};
const rt = { containerId: `cnitest${process.pid}`, netns, ifName: "eth0", capabilityArgs: { portMappings: [{ hostPort: 40000 + (process.pid % 20000), containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }], mac: "02:42:0a:55:00:99" } };

const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]).stdout.toString();
// the plugins' shared top-level chains, removed at the end if this file made them and nothing uses them
const chainsBefore = iptablesChains();
const rules = () => sh(`iptables-save | grep -e '${rt.containerId}' -e '10.85.${third}.' || true`);

afterAll(() => {
  try {
    new CniInvoker(join(dir, "cache")).del(list, rt);
  } catch {}
  removeNetworkNamespace(netns);
  deleteLink(bridge);
  rmSync(dir, { recursive: true, force: true });
  removeUnusedCniChains(chainsBefore);
});

describe.skipIf(!ok)("a conflist through the real plugins", () => {
  test("ADD: veth in the namespace with the address and MAC, tuning saw the bridge's result, port rule, lease; result cached", () => {
    createNetworkNamespace(netns);
    const cni = new CniInvoker(join(dir, "cache"));
    const lo = cni.add({ cniVersion: "1.0.0", name: "lo", plugins: [{ type: "loopback" }] }, { containerId: rt.containerId, netns, ifName: "lo" });
    expect(lo.interfaces?.[0]?.name).toBe("lo");
    const result = cni.add(list, rt);
    const ip = result.ips?.[0]?.address ?? "";
    expect(ip).toMatch(new RegExp(`^10\\.85\\.${third}\\.\\d+/24$`));
    // tuning (last) returned the bridge's (first) result with its own MAC change: prevResult went through the list
    expect(result.interfaces?.find((i) => i.name === "eth0")?.mac).toBe("02:42:0a:55:00:99");
    const inside = sh(`nsenter --net=${netns} ip -o addr show eth0; nsenter --net=${netns} ip -o link show eth0; nsenter --net=${netns} ip -o link show lo`);
    expect(inside).toContain(`inet ${ip}`);
    expect(inside).toContain("02:42:0a:55:00:99");
    expect(inside).toMatch(/lo: <LOOPBACK,UP/);
    expect(rules()).toContain(`--dport ${rt.capabilityArgs.portMappings[0]!.hostPort}`);
    expect(readdirSync(join(dir, "ipam", name))).toContain(ip.split("/")[0]!);
    expect(cni.cached(name, rt.containerId, "eth0")?.result.ips?.[0]?.address).toBe(ip);
    // CHECK of the same attachment; Debian's portmap 1.1 fails its own CHECK ("could not check ipv6 dnat") when only IPv4 is mapped
    cni.check({ ...list, plugins: list.plugins.filter((p) => p.type !== "portmap") }, rt);
    expect(() => cni.check({ ...list, name: "never-added" }, rt)).toThrow(/not attached/);
  });
  test("DEL from the cache alone (a new invoker, the runtime conf without capabilities) undoes all of it", () => {
    const cni = new CniInvoker(join(dir, "cache"));
    cni.del(list, { containerId: rt.containerId, netns, ifName: "eth0" });
    expect(rules()).toBe("");
    expect(readdirSync(join(dir, "ipam", name)).filter((f) => f.startsWith("10."))).toEqual([]);
    expect(readdirSync(`/sys/class/net/${bridge}/brif`)).toEqual([]);
    expect(sh(`nsenter --net=${netns} ip -o link`)).not.toContain("eth0");
    expect(cni.cached(name, rt.containerId, "eth0")).toBeUndefined();
    // DEL again (a retry after a crash in the middle) is fine
    cni.del(list, { containerId: rt.containerId, netns, ifName: "eth0" });
    cni.del({ cniVersion: "1.0.0", name: "lo", plugins: [{ type: "loopback" }] }, { containerId: rt.containerId, netns, ifName: "lo" });
    expect(cni.attachments()).toEqual([]);
  });
  test("a plugin's failure is one line naming the network and plugin; nothing is cached", () => {
    const cni = new CniInvoker(join(dir, "cache"));
    const bad: NetworkConfList = { ...list, plugins: [{ ...list.plugins[0]!, ipam: { type: "host-local", ranges: [[{ subnet: "not-a-subnet" }]], dataDir: join(dir, "ipam") } }] };
    expect(() => cni.add(bad, rt)).toThrow(new RegExp(`^network ${name}: CNI plugin bridge ADD: .*not-a-subnet`));
    expect(cni.cached(name, rt.containerId, "eth0")).toBeUndefined();
    expect(() => cni.add({ ...list, plugins: [{ type: "no-such-plugin" }] }, rt)).toThrow(/CNI plugin no-such-plugin is not in \/usr\/lib\/cni/);
    cni.del(list, rt);
    expect(rules()).toBe("");
  });
});
