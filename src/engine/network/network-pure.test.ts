/** The pure parts of networking: subnets, -p/--expose, the conflist, /etc/hosts and resolv.conf, the CNI stdin/env. */
import { describe, expect, test } from "bun:test";
import { BerthError } from "../../errors.ts";
import { pluginEnv, pluginFailure, pluginStdin, type NetworkConfList } from "./cni.ts";
import { hostsText, parseAddHost, resolvConfWith } from "./etc-files.ts";
import { buildConfList, networkMeta } from "./networks.ts";
import { pluginsNeeded } from "./attach.ts";
import { conntrackFilters, parseConntrackTable } from "./conntrack.ts";
import { dockerPorts, parseExposed, parsePublish, portLines, portMappings, psPorts } from "./ports.ts";
import { chooseSubnet, formatSubnet, OTHER_ENGINES_DEFAULTS, overlaps, parseProcNetRoute, parseSubnet } from "./subnet.ts";

function fails(fn: () => unknown, field: string, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).field).toBe(field);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error("did not fail");
}

describe("subnets", () => {
  test("parse, overlap, host bits named with the fix", () => {
    expect(formatSubnet(parseSubnet("10.90.3.0/24", "--subnet"))).toBe("10.90.3.0/24");
    expect(overlaps(parseSubnet("10.88.0.0/16", "s"), parseSubnet("10.88.7.0/24", "s"))).toBe(true);
    expect(overlaps(parseSubnet("10.89.0.0/16", "s"), parseSubnet("10.88.7.0/24", "s"))).toBe(false);
    fails(() => parseSubnet("10.90.3.1/24", "--subnet"), "--subnet", /host bits are set; use 10\.90\.3\.0\/24/);
    fails(() => parseSubnet("10.90.3.0", "--subnet"), "--subnet", /CIDR/);
    fails(() => parseSubnet("10.90.300.0/24", "--subnet"), "--subnet", /IPv4/);
    fails(() => parseSubnet("10.90.3.0/31", "--subnet"), "--subnet", /too small/);
  });
  test("/proc/net/route: the default route is not a clash, the others are", () => {
    const text = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\neth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\nbr0\t00005A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
    expect(parseProcNetRoute(text).map((r) => `${r.iface} ${formatSubnet(r.subnet)}`)).toEqual(["eth0 192.0.2.0/24", "br0 10.90.0.0/16"]);
  });
  test("the default subnet avoids docker's, podman's and nerdctl's defaults and the host's routes", () => {
    const others = OTHER_ENGINES_DEFAULTS.map((s) => parseSubnet(s, "s"));
    expect(formatSubnet(chooseSubnet(others))).toBe("10.90.0.0/24");
    expect(formatSubnet(chooseSubnet([...others, parseSubnet("10.90.0.0/23", "s")]))).toBe("10.90.2.0/24");
    expect(formatSubnet(chooseSubnet(others, 10 * 256 - 1))).toBe("10.99.255.0/24");
    expect(() => chooseSubnet([parseSubnet("10.0.0.0/8", "s")])).toThrow(/no free subnet/);
  });
});

describe("ports", () => {
  test("-p forms: port, host:container, ip:host:container, ip::container, ranges, udp", () => {
    expect(parsePublish("80")).toEqual([{ hostIP: "0.0.0.0", hostPort: 0, containerPort: 80, protocol: "tcp" }]);
    expect(parsePublish("8080:80/udp")).toEqual([{ hostIP: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "udp" }]);
    expect(parsePublish("127.0.0.1::80")).toEqual([{ hostIP: "127.0.0.1", hostPort: 0, containerPort: 80, protocol: "tcp" }]);
    expect(parsePublish("127.0.0.1:8000-8001:80-81").map((m) => `${m.hostPort}->${m.containerPort}`)).toEqual(["8000->80", "8001->81"]);
    fails(() => parsePublish("8000-8002:80-81"), "--publish", /differ in length/);
    fails(() => parsePublish("70000"), "--publish", /1 … 65535/);
    fails(() => parsePublish("80/sctp"), "--publish", /tcp or udp/);
    fails(() => parsePublish("1.2.3:80:80"), "--publish", /IPv4/);
    fails(() => portMappings(["8080:80", "8080:81"], false, []), "--publish", /8080\/tcp is published twice/);
  });
  test("-P publishes what is exposed and not published already; docker's views", () => {
    const exposed = [...parseExposed("80/tcp", "x"), ...parseExposed("53/udp", "x")];
    const m = portMappings(["8080:80"], true, exposed);
    expect(m).toEqual([{ hostIP: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostIP: "0.0.0.0", hostPort: 0, containerPort: 53, protocol: "udp" }]);
    expect(dockerPorts(m.slice(0, 1), exposed)).toEqual({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "53/udp": null });
    expect(portLines(m.slice(0, 1))).toEqual(["80/tcp -> 0.0.0.0:8080"]);
    expect(portLines(m.slice(0, 1), "80")).toEqual(["0.0.0.0:8080"]);
    expect(portLines(m.slice(0, 1), "81")).toEqual([]);
    expect(psPorts(m.slice(0, 1))).toBe("0.0.0.0:8080->80/tcp");
  });
});

describe("a network's conflist", () => {
  test("bridge + host-local, portmap, firewall, tuning; --internal has no route out and no masquerade", () => {
    const meta = networkMeta("n1", { subnet: "10.91.0.0/24", ipRange: "10.91.0.128/25", options: { mtu: "1400" } }, [], "ab".repeat(32), "t", "br-abababababab", 0);
    expect(meta).toMatchObject({ subnet: "10.91.0.0/24", gateway: "10.91.0.1", mtu: 1400, internal: false });
    const list = buildConfList("n1", meta, "/ipam");
    expect(list.plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "firewall", "tuning"]);
    expect(list.plugins[0]).toMatchObject({ bridge: "br-abababababab", isGateway: true, ipMasq: true, mtu: 1400, ipam: { type: "host-local", dataDir: "/ipam", routes: [{ dst: "0.0.0.0/0" }], ranges: [[{ subnet: "10.91.0.0/24", gateway: "10.91.0.1", rangeStart: "10.91.0.129", rangeEnd: "10.91.0.254" }]] } });
    const internal = buildConfList("n2", networkMeta("n2", { subnet: "10.91.1.0/24", internal: true }, [], "cd".repeat(32), "t", "br-x", 0), "/ipam");
    expect(internal.plugins[0]).toMatchObject({ isGateway: false, ipMasq: false, ipam: { routes: [] } });
  });
  test("an attachment runs portmap only with ports and tuning only with a MAC", () => {
    const list = buildConfList("n1", networkMeta("n1", { subnet: "10.91.0.0/24" }, [], "ab".repeat(32), "t", "br-x", 0), "/ipam");
    expect(pluginsNeeded(list, {}).plugins.map((p) => p.type)).toEqual(["bridge", "firewall"]);
    expect(pluginsNeeded(list, { portMappings: [], mac: "02:00:00:00:00:01" }).plugins.map((p) => p.type)).toEqual(["bridge", "portmap", "firewall", "tuning"]);
    expect(list.plugins).toHaveLength(4);
  });
  test("bad options name the flag; a subnet that overlaps a route is refused", () => {
    const taken = [parseSubnet("192.0.2.0/24", "s")];
    fails(() => networkMeta("n", { subnet: "192.0.2.0/25" }, taken, "i", "t", "b", 0), "--subnet", /overlaps 192\.0\.2\.0\/24/);
    fails(() => networkMeta("n", { subnet: "10.91.0.0/24", gateway: "10.92.0.1" }, [], "i", "t", "b", 0), "--gateway", /not a host address/);
    fails(() => networkMeta("n", { gateway: "10.92.0.1" }, [], "i", "t", "b", 0), "--gateway", /needs --subnet/);
    fails(() => networkMeta("n", { subnet: "10.91.0.0/24", ipRange: "10.92.0.0/25" }, [], "i", "t", "b", 0), "--ip-range", /not inside/);
    fails(() => networkMeta("n", { subnet: "10.91.0.0/24", options: { mtu: "9" } }, [], "i", "t", "b", 0), "-o mtu", /68/);
    fails(() => networkMeta("n", { subnet: "10.91.0.0/24", options: { vlan: "9" } }, [], "i", "t", "b", 0), "--opt", /unknown network option/);
    expect(() => networkMeta("bad/name", {}, [], "i", "t", "b", 0)).toThrow(/invalid network name/);
  });
});

describe("CNI invocation, pure parts", () => {
  const list: NetworkConfList = { cniVersion: "1.0.0", name: "n", plugins: [{ type: "portmap", capabilities: { portMappings: true }, snat: true }, { type: "tuning" }] };
  const rt = { containerId: "c1", netns: "/run/x", ifName: "eth0", args: [["IgnoreUnknown", "1"]] as [string, string][], capabilityArgs: { portMappings: [{ hostPort: 1 }], mac: "m" } };
  test("stdin carries the list's name and version, the capabilities the plugin asks for, and prevResult", () => {
    const a = JSON.parse(pluginStdin(list, list.plugins[0]!, rt, { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] }));
    expect(a).toEqual({ type: "portmap", capabilities: { portMappings: true }, snat: true, cniVersion: "1.0.0", name: "n", runtimeConfig: { portMappings: [{ hostPort: 1 }] }, prevResult: { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] } });
    expect(JSON.parse(pluginStdin(list, list.plugins[1]!, rt, undefined))).toEqual({ type: "tuning", cniVersion: "1.0.0", name: "n" });
  });
  test("the environment; a plugin's error object becomes one line", () => {
    expect(pluginEnv("DEL", rt, ["/usr/lib/cni", "/opt/cni/bin"])).toEqual({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "/run/x", CNI_IFNAME: "eth0", CNI_PATH: "/usr/lib/cni:/opt/cni/bin", CNI_ARGS: "IgnoreUnknown=1" });
    expect(pluginFailure("n", "bridge", "ADD", 1, '{"code":7,"msg":"failed to allocate","details":"range full"}', "").message).toBe("network n: CNI plugin bridge ADD: failed to allocate: range full");
    expect(pluginFailure("n", "bridge", "ADD", 2, "", "panic\nlast words\n").message).toBe("network n: CNI plugin bridge ADD: last words");
  });
});

describe("/etc files", () => {
  test("hosts: the container's address replaces 127.0.1.1; --add-host and peers follow", () => {
    const base = "127.0.0.1\tlocalhost\n127.0.1.1\tbox\n";
    expect(hostsText(base, { ip: "10.9.0.2", names: ["box", "web", "web"] }, [parseAddHost("db:10.9.0.9", undefined), parseAddHost("gw:host-gateway", "10.9.0.1")])).toBe("127.0.0.1\tlocalhost\n10.9.0.2\tbox web\n10.9.0.9\tdb\n10.9.0.1\tgw\n");
    fails(() => parseAddHost("gw:host-gateway", undefined), "--add-host", /bridge network/);
    fails(() => parseAddHost("nocolon", undefined), "--add-host", /NAME:IP/);
  });
  test("resolv.conf: --dns replaces nameservers, --dns-search and --dns-option their lines", () => {
    expect(resolvConfWith("search a\nnameserver 1.1.1.1\noptions x\n", ["9.9.9.9"], ["b.c"], ["ndots:2"])).toBe("nameserver 9.9.9.9\nsearch b.c\noptions ndots:2\n");
    expect(resolvConfWith("nameserver 1.1.1.1\n", [], [], [])).toBe("nameserver 1.1.1.1\n");
    fails(() => resolvConfWith("", ["dns.example"], [], []), "--dns", /IP address/);
  });
});

describe("conntrack entries a container leaves", () => {
  // real lines of /proc/net/nf_conntrack: a published UDP port's DNATed flow, a container's masqueraded flow out, a host flow
  const table = parseConntrackTable([
    "ipv4     2 udp      17 27 src=127.0.0.1 dst=127.0.0.1 sport=40001 dport=8053 src=10.86.7.2 dst=10.86.7.1 sport=5000 dport=40001 mark=0 zone=0 use=2",
    "ipv4     2 tcp      6 117 TIME_WAIT src=10.86.7.3 dst=192.0.2.9 sport=33000 dport=80 src=192.0.2.9 dst=192.0.2.2 sport=80 dport=33000 [ASSURED] mark=0 zone=0 use=2",
    "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=40002 dport=9053 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=9053 dport=40002 mark=0 zone=0 use=2",
    "ipv4     2 tcp      6 431999 ESTABLISHED src=192.0.2.2 dst=203.0.113.80 sport=37758 dport=443 src=203.0.113.80 dst=192.0.2.2 sport=443 dport=37758 [ASSURED] mark=0 zone=0 use=2",
    "garbage",
  ].join("\n"));

  test("parses the original and the reply tuple", () => {
    expect(table).toHaveLength(4);
    expect(table[0]).toEqual({ protocol: "udp", orig: { src: "127.0.0.1", dst: "127.0.0.1", sport: 40001, dport: 8053 }, reply: { src: "10.86.7.2", dst: "10.86.7.1", sport: 5000, dport: 40001 } });
    expect(table[2]!.reply).toEqual({ src: "127.0.0.1", dst: "127.0.0.1", sport: 9053, dport: 40002 });
  });

  test("only the filters that match an entry: DNATed to the address (-r), from it (-s); none for an address with no flows", () => {
    expect(conntrackFilters(table, ["10.86.7.2"])).toEqual([["-r", "10.86.7.2"]]);
    expect(conntrackFilters(table, ["10.86.7.3"])).toEqual([["-s", "10.86.7.3"]]);
    expect(conntrackFilters(table, ["10.86.7.4"])).toEqual([]);
    expect(conntrackFilters(table, ["127.0.0.1"])).toEqual([["-s", "127.0.0.1"], ["-d", "127.0.0.1"], ["-r", "127.0.0.1"], ["-q", "127.0.0.1"]]);
  });

  test("a table the kernel does not show: every filter", () => {
    expect(conntrackFilters(undefined, ["10.0.0.2"])).toEqual([["-s", "10.0.0.2"], ["-d", "10.0.0.2"], ["-r", "10.0.0.2"], ["-q", "10.0.0.2"]]);
  });
});
