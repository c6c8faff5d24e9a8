/**
 * `berth diagnose` of a container with a network problem, for real: the checks run
 * inside its network namespace say which — an interface down, no route out (an
 * --internal network, a deleted default route), packets dropped by an iptables rule in
 * its namespace, DNS unreachable (a nameserver that is a container of this test with
 * nothing on port 53) — with the fix, and exit 1; a container whose nameserver answers
 * (a UDP echo on 53 in another container of this test) has none of them. Only traffic
 * between this file's containers. Subnets 10.82.X.0/24 and 10.83.X.0/24, X from the pid.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { BERTH, canRunContainers, canRunConmon, EngineFixture } from "../../test/engine-harness.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon && existsSync("/usr/lib/cni/bridge") && Bun.which("iptables") !== null && Bun.which("bash") !== null;
const fx = ok ? new EngineFixture("diagnet") : (undefined as unknown as EngineFixture);
const X = process.pid % 250;
const NET = `dn${process.pid}`;
const INTERNAL = `dni${process.pid}`;
/** the UDP echo serving as the nameserver, ended even when a test fails */
let echo: Bun.Subprocess | undefined;
let dnsIp = "";

interface Diagnosis {
  verdict: string;
  findings: { kind: string; severity: string; summary: string; evidence: string[]; fix: string[]; data?: Record<string, unknown> }[];
}
function diagnose(name: string): { code: number; d: Diagnosis; stderr: string } {
  const r = fx.berth(["diagnose", "--json", "--sample", "0", name]);
  return { code: r.code, d: JSON.parse(r.stdout || "{}") as Diagnosis, stderr: r.stderr };
}
const NETWORK_KINDS = ["link-down", "no-route", "packet-drops", "dns-unreachable"];
const networkKinds = (d: Diagnosis) => d.findings.map((f) => f.kind).filter((k) => NETWORK_KINDS.includes(k));
const pidOf = (name: string) => String(fx.inspect(name).State.Pid);
/** A command in the container's network namespace only (the host's ip and iptables), as the fix lines say. */
const inNetns = (name: string, cmd: string[]) => expect(fx.berth(["enter", "-n", "--no-cgroup", pidOf(name), "--", ...cmd])).toMatchObject({ code: 0, stderr: "" });

beforeAll(async () => {
  if (!ok) return;
  expect(fx.berth(["network", "create", "--subnet", `10.82.${X}.0/24`, NET]).code).toBe(0);
  expect(fx.berth(["network", "create", "--internal", "--subnet", `10.83.${X}.0/24`, INTERNAL]).code).toBe(0);
  // the nameserver: a container whose namespace holds a UDP echo on port 53 (any reply is an answer to the probe)
  fx.runDetached(["--name", "dns", "--network", NET], ["sleep", "600"]);
  dnsIp = fx.inspect("dns").NetworkSettings.IPAddress;
  const script = "await Bun.udpSocket({ port: 53, socket: { data(s, b, port, addr) { s.send(b, port, addr); }, error() {} } }); console.log('ready')";
  echo = Bun.spawn([BERTH, "enter", "-n", "--no-cgroup", pidOf("dns"), "--", process.execPath, "-e", script], { stdin: "ignore", stdout: "pipe", stderr: "inherit", env: fx.env() });
  const reader = (echo.stdout as ReadableStream<Uint8Array>).getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
  reader.releaseLock();
});
afterAll(async () => {
  // SIGTERM: berth enter passes it on to the echo (a SIGKILL would leave the echo and its helper running)
  echo?.kill("SIGTERM");
  await echo?.exited;
  fx?.cleanup();
});

describe.skipIf(!ok)("berth diagnose: a container's network", () => {
  test("a container whose nameserver answers and whose routes and rules are intact: no network finding", () => {
    fx.runDetached(["--name", "fine", "--network", NET, "--dns", dnsIp], ["sleep", "600"]);
    const { d, stderr } = diagnose("fine");
    expect(stderr).toBe("");
    expect(networkKinds(d)).toEqual([]);
  });

  test("--internal: no route out, by design, and the fix is another network", () => {
    fx.runDetached(["--name", "inside", "--network", INTERNAL, "--dns", dnsIp], ["sleep", "600"]);
    const { code, d } = diagnose("inside");
    expect(code).toBe(1);
    expect(d.verdict).toBe(`no route out: its network ${INTERNAL} is --internal (no gateway, by design): it reaches only the containers on it`);
    expect(d.findings[0]).toMatchObject({ kind: "no-route", severity: "fail", evidence: [`ip route (in its namespace): 10.83.${X}.0/24 dev eth0`] });
    expect(d.findings[0]!.fix).toEqual(["to reach outside, connect it to a network that is not internal: berth network connect NETWORK CONTAINER"]);
    // DNS goes the same way: its nameserver is on another subnet
    expect(d.findings.find((f) => f.kind === "dns-unreachable")?.summary).toBe(`DNS unreachable: ${dnsIp} no route to it`);
  });

  test("a deleted default route: no route out, and how to put it back", () => {
    fx.runDetached(["--name", "lost", "--network", NET, "--dns", dnsIp], ["sleep", "600"]);
    inNetns("lost", ["ip", "route", "del", "default"]);
    const { code, d } = diagnose("lost");
    expect(code).toBe(1);
    expect(d.verdict).toBe("no route out: its network namespace has no default route, so only its own subnets are reachable");
    expect(d.findings[0]!.fix[0]).toBe(`add the route back (berth enter -n ${pidOf("lost")} -- ip route add default via 10.82.${X}.1), or restart the container: the engine's CNI set-up gives it one`);
    // its nameserver is on its own subnet: still answered
    expect(networkKinds(d)).toEqual(["no-route"]);
  });

  test("the human report names the problem and the fix; the fix done, nothing is left to say", () => {
    const r = fx.berth(["diagnose", "--sample", "0", "lost"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("verdict: no route out: its network namespace has no default route");
    expect(r.stdout).toContain(`  change:   add the route back (berth enter -n ${pidOf("lost")} -- ip route add default via 10.82.${X}.1)`);
    inNetns("lost", ["ip", "route", "add", "default", "via", `10.82.${X}.1`]);
    expect(networkKinds(diagnose("lost").d)).toEqual([]);
  });

  test("DNS unreachable: the nameserver is a container with nothing on port 53", () => {
    fx.runDetached(["--name", "nodns", "--network", NET, "--dns", fx.inspect("fine").NetworkSettings.IPAddress], ["sleep", "600"]);
    const { code, d } = diagnose("nodns");
    expect(code).toBe(1);
    const ns = fx.inspect("fine").NetworkSettings.IPAddress;
    expect(d.verdict).toBe(`DNS unreachable: ${ns} refused: nothing listens on port 53 there (ICMP port unreachable)`);
    expect(d.findings[0]).toMatchObject({ kind: "dns-unreachable", severity: "fail" });
    expect(d.findings[0]!.evidence).toEqual([`its /etc/resolv.conf: nameserver ${ns}`, `a DNS query to ${ns}:53 from its namespace: refused: nothing listens on port 53 there (ICMP port unreachable)`]);
    expect(d.findings[0]!.fix.at(-1)).toContain("--dns IP");
    expect(networkKinds(d)).toEqual(["dns-unreachable"]);
  });

  test("an iptables DROP rule in its namespace: the drops, the rule, and the command that removes it", () => {
    fx.runDetached(["--name", "walled", "--network", NET, "--dns", dnsIp], ["sleep", "600"]);
    inNetns("walled", ["iptables", "-A", "OUTPUT", "-p", "udp", "--dport", "53", "-j", "DROP"]);
    const { code, d } = diagnose("walled");
    expect(code).toBe(1);
    expect(d.findings[0]!.kind).toBe("packet-drops");
    // the probe's own query is what the rule dropped
    expect(d.verdict).toMatch(/^packets dropped by its own firewall: \d+ by `-A OUTPUT -p udp -m udp --dport 53 -j DROP` \(filter\)$/);
    expect(d.findings[0]!.fix).toEqual([`remove the rule if it is not meant: berth enter -n ${pidOf("walled")} -- iptables -t filter -D OUTPUT -p udp -m udp --dport 53 -j DROP`]);
    expect(d.findings.find((f) => f.kind === "dns-unreachable")?.fix[0]).toBe("first the route or the firewall rule above: DNS goes the same way");
    // the fix, done: nothing left to say
    inNetns("walled", ["iptables", "-D", "OUTPUT", "-p", "udp", "-m", "udp", "--dport", "53", "-j", "DROP"]);
    expect(networkKinds(diagnose("walled").d)).toEqual([]);
  });

  test("its interface down: said first, with its routes gone", () => {
    fx.runDetached(["--name", "dark", "--network", NET, "--dns", dnsIp], ["sleep", "600"]);
    inNetns("dark", ["ip", "link", "set", "eth0", "down"]);
    const { code, d } = diagnose("dark");
    expect(code).toBe(1);
    expect(d.verdict).toBe("eth0 is down in its network namespace: nothing goes in or out there (the kernel took its routes with it)");
    expect(d.findings[0]!.evidence).toEqual(["ip link (in its namespace): eth0 state DOWN, flags without UP", "ip route (in its namespace): none"]);
    expect(networkKinds(d)).toEqual(["link-down", "dns-unreachable"]);
  });
});
