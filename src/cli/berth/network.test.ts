/**
 * Container networking for real (CNI's bridge, host-local, portmap, firewall, tuning):
 * a published httpd answers on 127.0.0.1 and on the host's own address, containers on one
 * network reach each other by name, --network none has only lo, container:ID shares the
 * namespace, a port in use fails with nothing left, a UDP echo answers on a published
 * port, and 50 containers (10 in the emulated v2 VM) leave the host's links, routes, iptables rules, conntrack
 * entries and IPAM state exactly as before. Subnets 10.86.X.0/24 and
 * 10.87.X.0/24 (and an empty bridge's 10.84.X.0/24) with X from this process's pid (podman's tests use 10.79, docker's 10.80, cri's 10.81).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BERTH, canRunContainers, canRunConmon, EngineFixture, until } from "../../../test/engine-harness.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon && existsSync("/usr/lib/cni/bridge") && Bun.which("iptables") !== null && Bun.which("conntrack") !== null;
const fx = ok ? new EngineFixture("net") : (undefined as unknown as EngineFixture);
const X = process.pid % 250;
const NET = `n${process.pid}`;
const SUBNET = `10.86.${X}.0/24`;
const ROUTED = `bnd${process.pid}`;
/**
 * The 50 containers; 10 under QEMU's software emulation (the cgroup v2 VM), where
 * each one's start and removal takes ~8 s (Go plugins and iptables, emulated) — what is
 * counted (links, routes, rules, leases) does not depend on the cgroup layout.
 */
const MANY = readFileSync("/proc/cpuinfo", "utf8").includes("QEMU TCG CPU") ? 10 : 50;
/**
 * The addresses of this file's subnets the conntrack table names, but those of running
 * containers (their entries come and go as their timers run out) and the gateways (the
 * bridge's own IGMP reports; and masqueraded flows, which name the container too).
 */
function conntrackLeftovers(): string {
  const ids = fx.berth(["ps", "-q", "--no-trunc"]).stdout.split("\n").filter(Boolean);
  const live = new Set(ids.length ? (JSON.parse(fx.berth(["inspect", ...ids]).stdout) as { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[]).flatMap((c) => Object.values(c.NetworkSettings.Networks).map((n) => n.IPAddress)) : []);
  const found = Bun.spawnSync(["conntrack", "-L"], { stderr: "ignore" }).stdout.toString().match(new RegExp(`=10\\.8[67]\\.${X}\\.\\d+\\b`, "g")) ?? [];
  return [...new Set(found.map((f) => f.slice(1)))].filter((a) => !live.has(a) && !a.endsWith(".1")).sort().join("\n");
}

/** UDP echoes started in containers' namespaces: ended even when a test fails */
const echoes: Bun.Subprocess[] = [];
afterAll(async () => {
  // SIGTERM: berth enter passes it on to the echo (a SIGKILL would leave the echo and its helper running)
  for (const e of echoes) e.kill("SIGTERM");
  await Promise.all(echoes.map((e) => e.exited));
  if (!fx) return;
  Bun.spawnSync(["ip", "link", "del", ROUTED], { stderr: "ignore" });
  fx.cleanup();
});

const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]).stdout.toString();
/** A port nothing listens on now, on 127.0.0.1. */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}
async function fetchText(url: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return await r.text();
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`${url} never answered`);
}

/** A UDP port nothing holds now on 127.0.0.1. */
function freeUdpPort(): number {
  const r = Bun.spawnSync([process.execPath, "-e", "const s = await Bun.udpSocket({ hostname: '127.0.0.1' }); console.log(s.port); s.close()"]);
  return Number(r.stdout.toString().trim());
}
/** The host's own address: the source of its default route, or (the v2 VM has none) its address on this file's bridge. */
function hostAddress(): string {
  return sh("ip -4 -o route get 192.0.2.1 2>/dev/null").match(/src (\S+)/)?.[1] ?? `10.86.${X}.1`;
}
/** The conntrack table's lines holding `text` (conntrack -L: the same lines as /proc/net/nf_conntrack, which some kernels lack). */
function conntrackLines(text: string): string[] {
  return Bun.spawnSync(["conntrack", "-L"], { stderr: "ignore" }).stdout.toString().split("\n").filter((l) => l.includes(text));
}
/** A UDP socket on one source port (one conntrack flow) that sends "ping" and counts the echoes. */
async function datagramClient() {
  let echoes = 0;
  // error: the ICMP port unreachable of datagrams sent while nothing is published (expected)
  const s = await Bun.udpSocket({ socket: { data(_s, buf) { if (buf.toString() === "ping") echoes++; }, error() {} } });
  return {
    send: (host: string, port: number) => s.send("ping", port, host),
    /** sends until an echo comes back: a bounded wait (150 × 200 ms) */
    async answered(host: string, port: number): Promise<boolean> {
      const before = echoes;
      for (let i = 0; i < 150 && echoes === before; i++) {
        s.send("ping", port, host);
        await Bun.sleep(200);
      }
      return echoes > before;
    },
    close: () => s.close(),
  };
}
/**
 * A container with a UDP echo on port 5000 in its namespace (busybox's nc has no UDP
 * mode: the echo is Bun, run in the container's network namespace by berth enter).
 */
async function startEcho(flags: string[]): Promise<{ ip: string; echo: Bun.Subprocess }> {
  const r = await fx.berthAsync(["run", "-d", "--cgroup-parent", fx.cgroupParent, "--network", NET, ...flags, "--rootfs", fx.rootfs, "sleep", "300"]);
  expect(r).toMatchObject({ code: 0, stderr: "" });
  const c = fx.inspect(r.stdout.trim());
  const script = "await Bun.udpSocket({ port: 5000, socket: { data(s, b, port, addr) { s.send(b, port, addr); }, error() {} } }); console.log('ready')";
  const echo = Bun.spawn([BERTH, "enter", String(c.State.Pid), "-n", "--no-cgroup", "--", process.execPath, "-e", script], { stdin: "ignore", stdout: "pipe", stderr: "inherit", env: fx.env() });
  echoes.push(echo);
  const reader = echo.stdout.getReader();
  const line = await reader.read();
  reader.releaseLock();
  expect(new TextDecoder().decode(line.value)).toBe("ready\n");
  return { ip: c.NetworkSettings.IPAddress, echo };
}
/**
 * What a container may leave on the host, limited to what names this file's networks
 * (other tests create and remove links at the same time): ports of its bridge, routes and
 * iptables rules of its subnets or naming its network, IPAM leases, namespace mounts.
 */
function hostNetworkState(): string {
  const bridge = JSON.parse(fx.berth(["network", "inspect", NET]).stdout)[0].Options["com.docker.network.bridge.name"];
  return [
    sh(`ip -o link show master ${bridge} 2>/dev/null | sed 's/^[0-9]*: //; s/@.*//' | sort`),
    sh(`ip route | grep -e '10\\.8[67]\\.${X}\\.' || true`),
    sh(`iptables-save | grep -v '^[#:]' | grep -e '10\\.8[67]\\.${X}\\.' -e 'name: .${NET}' || true`),
    sh(`ls -R ${fx.runroot}/cni/ipam 2>/dev/null | grep '^10\\.' || true`),
    sh(`grep ${fx.runroot} /proc/mounts || true`),
    conntrackLeftovers(),
  ].join("\n--\n");
}

describe.skipIf(!ok)("berth network", () => {
  test("create with a subnet; ls, inspect in docker's shape; a clash with a host route names --subnet", () => {
    const c = fx.berth(["network", "create", "--subnet", SUBNET, "--label", "team=a", NET]);
    expect(c).toMatchObject({ code: 0, stderr: "" });
    expect(c.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(fx.berth(["network", "ls"]).stdout).toMatch(new RegExp(`^NETWORK ID\\s+NAME\\s+DRIVER\\s+SCOPE\\n[\\s\\S]*${c.stdout.slice(0, 12)}\\s+${NET}\\s+bridge\\s+local\\n`));
    const [n] = JSON.parse(fx.berth(["network", "inspect", NET]).stdout);
    expect(n).toMatchObject({ Name: NET, Id: c.stdout.trim(), Driver: "bridge", Internal: false, IPAM: { Config: [{ Subnet: SUBNET, Gateway: `10.86.${X}.1` }] }, Labels: { team: "a" } });
    // a route on the host: this test's own empty bridge with an address (the VM has no other route; no dummy module here)
    sh(`ip link add ${ROUTED} type bridge && ip addr add 10.84.${X}.1/24 dev ${ROUTED} && ip link set ${ROUTED} up`);
    const clash = fx.berth(["network", "create", "--subnet", `10.84.${X}.0/25`, `clash${process.pid}`]);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toBe(`berth: --subnet: subnet 10.84.${X}.0/25 overlaps 10.84.${X}.0/24 (a route on this host or another network); choose another\n`);
    const mine = fx.berth(["network", "create", "--subnet", `10.86.${X}.128/25`, `clash${process.pid}`]);
    expect(mine.stderr).toBe(`berth: --subnet: subnet 10.86.${X}.128/25 overlaps ${SUBNET} (a route on this host or another network); choose another\n`);
    expect(fx.berth(["network", "create", "--subnet", SUBNET, NET]).stderr).toContain("already exists");
    expect(fx.berth(["network", "inspect", "nope-net"]).stderr).toMatch(/^berth: network nope-net not found/);
  });

  test("the default network: an address in a subnet that is nobody's default", () => {
    // no --network at all (fx.run would add --network none)
    const r = fx.berth(["run", "--rm", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "ip -4 -o addr show eth0; ip route"]);
    expect(r.code).toBe(0);
    const ip = /inet (10\.(\d+)\.\d+\.\d+)\//.exec(r.stdout);
    expect(ip).not.toBeNull();
    expect(Number(ip![2])).toBeGreaterThanOrEqual(90);
    expect(r.stdout).toMatch(/default via 10\.\d+\.\d+\.1 dev eth0/);
    const [n] = JSON.parse(fx.berth(["network", "inspect", "bridge"]).stdout);
    expect(n.IPAM.Config[0].Subnet).toMatch(/^10\.(9\d)\.\d+\.0\/24$/);
  });

  test("httpd answers on a published 127.0.0.1 port and on the host's own address; port, ps and inspect show it", async () => {
    const port = freePort();
    const id = fx.runDetached(["--name", "web", "--network", NET, "-p", `${port}:80`, "--network-alias", "www"], ["httpd", "-f", "-p", "80", "-h", "/etc"]);
    expect(await fetchText(`http://127.0.0.1:${port}/hostname`)).toBe(`${id.slice(0, 12)}\n`);
    expect(await fetchText(`http://${hostAddress()}:${port}/hostname`)).toBe(`${id.slice(0, 12)}\n`);
    expect(fx.berth(["port", "web"]).stdout).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    expect(fx.berth(["port", "web", "80/tcp"]).stdout).toBe(`0.0.0.0:${port}\n`);
    expect(fx.berth(["ps"]).stdout).toContain(`0.0.0.0:${port}->80/tcp`);
    expect(fx.berth(["ps", "-q", "--filter", `network=${NET}`]).stdout).toBe(`${id.slice(0, 12)}\n`);
    expect(fx.berth(["ps", "--format", "{{.Networks}}"]).stdout).toBe(`${NET}\n`);
    const s = fx.inspect("web").NetworkSettings;
    expect(s.IPAddress).toMatch(new RegExp(`^10\\.86\\.${X}\\.\\d+$`));
    expect(s).toMatchObject({ Gateway: `10.86.${X}.1`, IPPrefixLen: 24, Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: String(port) }] } });
    expect(s.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(s.Networks[NET]).toMatchObject({ IPAddress: s.IPAddress, Aliases: ["www"] });
    const [n] = JSON.parse(fx.berth(["network", "inspect", NET]).stdout);
    expect(n.Containers[id]).toMatchObject({ Name: "web", IPv4Address: `${s.IPAddress}/24` });
    expect(fx.berth(["network", "rm", NET]).stderr).toMatch(/has active endpoints \(web\); remove those containers first/);
  });

  test("two containers on one network reach each other by name and alias; /etc/hosts follows them", () => {
    const r = fx.run(["--rm", "--network", NET, "--name", "client", "--add-host", "gw:host-gateway"], ["sh", "-c", "wget -q -O - http://web/hostname && wget -q -O - http://www/hostname && grep -w gw /etc/hosts && grep -w client /etc/hosts"]);
    const web = fx.inspect("web");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${web.Id.slice(0, 12)}\n${web.Id.slice(0, 12)}\n10.86.${X}.1\tgw\n${r.stdout.split("\n")[3]}\n`);
    expect(r.stdout.split("\n")[3]).toMatch(new RegExp(`^10\\.86\\.${X}\\.\\d+\\t\\S+ client$`));
    // the client is gone from web's hosts once removed
    const hosts = fx.berth(["exec", "web", "cat", "/etc/hosts"]).stdout;
    expect(hosts).toContain(`${web.NetworkSettings.IPAddress}\t${web.Id.slice(0, 12)} web www`);
    expect(hosts).not.toContain("client");
  });

  test("network connect adds eth1 to a running container and its peers see it by name there; disconnect takes it away", () => {
    const other = `${NET}b`;
    expect(fx.berth(["network", "create", "--subnet", `10.87.${X}.0/24`, other]).code).toBe(0);
    const peer = fx.runDetached(["--name", "peer", "--network", other], ["httpd", "-f", "-p", "80", "-h", "/etc"]);
    expect(fx.berth(["network", "connect", "--alias", "w2", other, "web"])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", "web", "sh", "-c", "ip -4 -o addr show eth1"]).stdout).toContain(`inet 10.87.${X}.`);
    expect(fx.berth(["exec", "web", "wget", "-q", "-O", "-", "http://peer/hostname"]).stdout).toBe(`${peer.slice(0, 12)}\n`);
    expect(fx.berth(["exec", "peer", "grep", "-c", "w2", "/etc/hosts"]).stdout).toBe("1\n");
    expect(fx.inspect("web").NetworkSettings.Networks[other].Aliases).toEqual(["w2"]);
    expect(fx.berth(["network", "connect", other, "web"]).stderr).toBe(`berth: container web is already connected to network ${other}\n`);
    expect(fx.berth(["network", "disconnect", other, "web"])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", "web", "ls", "/sys/class/net"]).stdout).toBe("eth0\nlo\n");
    expect(fx.berth(["exec", "peer", "grep", "-c", "w2", "/etc/hosts"]).stdout).toBe("0\n");
    expect(fx.berth(["network", "disconnect", other, "web"]).stderr).toBe(`berth: container web is not connected to network ${other}\n`);
    expect(fx.berth(["rm", "-f", peer]).code).toBe(0);
    expect(fx.berth(["network", "rm", other]).code).toBe(0);
  });

  test("--network none has only lo; container:ID shares the namespace (same inode); ns:PATH joins a namespace by path", () => {
    expect(fx.run(["--rm", "--network", "none"], ["sh", "-c", "ls /sys/class/net"]).stdout).toBe("lo\n");
    const web = fx.inspect("web");
    const mine = statSync(web.NetworkSettings.SandboxKey).ino;
    expect(fx.run(["--rm", "--network", "container:web"], ["sh", "-c", "stat -L -c %i /proc/self/ns/net"]).stdout).toBe(`${mine}\n`);
    expect(fx.run(["--rm", "--network", `ns:${web.NetworkSettings.SandboxKey}`], ["sh", "-c", "stat -L -c %i /proc/self/ns/net"]).stdout).toBe(`${mine}\n`);
    const bad = fx.run(["--rm", "--network", "none", "-p", "80"], ["true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --publish: ports cannot be published with --network none/);
  });

  test("-p of a port in use fails naming it, and leaves no record, namespace, veth or rule", () => {
    const before = hostNetworkState();
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = fx.run(["--rm", "--network", NET, "-p", `127.0.0.1:${holder.port}:80`], ["true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`berth: --publish: host port 127.0.0.1:${holder.port}/tcp is already in use on this host; publish another port or stop what holds it\n`);
    } finally {
      holder.stop(true);
    }
    expect(fx.records()).toEqual([fx.inspect("web").Id]);
    expect(hostNetworkState()).toBe(before);
  });

  test("a start that fails after the network was set up (a command not found) leaves no namespace, veth, rule, lease or conntrack entry", () => {
    const before = hostNetworkState();
    const r = fx.run(["--rm", "--network", NET, "-p", "127.0.0.1::80/udp"], ["/no/such/command"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("/no/such/command");
    expect(hostNetworkState()).toBe(before);
    expect(readdirSync(join(fx.runroot, "cni", "results")).filter((f) => !f.includes(fx.inspect("web").Id))).toEqual([]);
  });

  test("a network that fails while the runtime creates the container (an --ip outside the subnet) leaves no record, monitor, cgroup, namespace, veth, rule or lease", async () => {
    const before = hostNetworkState();
    // containers' entries (the runtime's state dirs, the namespaces' bind mounts)
    const ls = (dir: string) => (existsSync(join(fx.runroot, dir)) ? readdirSync(join(fx.runroot, dir)).filter((f) => /^[0-9a-f]{64}$/.test(f)).sort() : []);
    const was = { records: fx.records().sort(), monitors: fx.monitors().sort(), cgroups: fx.leftoverCgroups().sort(), runtime: ls("runtime"), netns: ls("netns") };
    const r = fx.run(["--rm", "--network", NET, "--ip", "10.99.99.99", "-p", "127.0.0.1::80"], ["true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`berth: network ${NET}: CNI plugin bridge ADD: failed to allocate all requested IPs: 10.99.99.99\n`);
    expect(fx.records().sort()).toEqual(was.records);
    // the monitor of the container the runtime had made ends with it
    expect(await until(() => fx.monitors().sort().join() === was.monitors.join(), 10_000)).toBe(true);
    expect(fx.leftoverCgroups().sort()).toEqual(was.cgroups);
    expect(ls("runtime")).toEqual(was.runtime);
    expect(ls("netns")).toEqual(was.netns);
    expect(hostNetworkState()).toBe(before);
  });

  test("UDP published: a container's echo answers on 127.0.0.1 and the host's address; a client that kept sending meanwhile is answered after each (re)publish; rm leaves no conntrack entry of its address", async () => {
    const port = freeUdpPort();
    const hostIp = hostAddress();
    const client = await datagramClient();
    // a client sending before the port is published (and while it is not): its flow gets a conntrack entry with no DNAT
    const sending = setInterval(() => client.send(`127.0.0.1`, port), 200);
    try {
      await Bun.sleep(500);
      expect(conntrackLines(`dport=${port} `).length).toBeGreaterThan(0);
      const first = await startEcho(["--name", "udp", "-p", `${port}:5000/udp`]);
      // answered through the same flow: the stale entry was flushed when the port was published
      expect(await client.answered("127.0.0.1", port)).toBe(true);
      const other = await datagramClient();
      expect(await other.answered(hostIp, port)).toBe(true);
      other.close();
      expect(fx.berth(["port", "udp"]).stdout).toBe(`5000/udp -> 0.0.0.0:${port}\n`);
      const ip = first.ip;
      expect(conntrackLines(`=${ip} `).length).toBeGreaterThan(0);
      expect(fx.berth(["rm", "-f", "udp"]).code).toBe(0);
      first.echo.kill();
      expect(conntrackLines(`=${ip} `)).toEqual([]);
      // the client goes on sending into an unpublished port; a new container publishes it again
      await Bun.sleep(500);
      const second = await startEcho(["--name", "udp2", "-p", `${port}:5000/udp`]);
      expect(await client.answered("127.0.0.1", port)).toBe(true);
      expect(fx.berth(["rm", "-f", "udp2"]).code).toBe(0);
      second.echo.kill();
      expect(conntrackLines(`=${second.ip} `)).toEqual([]);
    } finally {
      clearInterval(sending);
      client.close();
    }
  });

  test("stop releases the address and rules; start gets them back; rm leaves the host as before the container", async () => {
    fx.berth(["rm", "-f", "web"]);
    const before = hostNetworkState();
    const port = freePort();
    fx.runDetached(["--name", "again", "--network", NET, "-p", `127.0.0.1:${port}:80/tcp`], ["httpd", "-f", "-p", "80", "-h", "/etc"]);
    expect(await fetchText(`http://127.0.0.1:${port}/hostname`)).toMatch(/^[0-9a-f]{12}\n$/);
    expect(fx.berth(["stop", "-t", "1", "again"]).code).toBe(0);
    expect(hostNetworkState()).toBe(before);
    expect(fx.inspect("again").NetworkSettings.IPAddress).toBe("");
    expect(fx.berth(["start", "again"]).code).toBe(0);
    expect(await fetchText(`http://127.0.0.1:${port}/hostname`)).toMatch(/^[0-9a-f]{12}\n$/);
    expect(fx.berth(["rm", "-f", "again"]).code).toBe(0);
    expect(hostNetworkState()).toBe(before);
    // the network's bridge stays for the next container, as docker0 does (network rm and prune delete it)
    const bridge = JSON.parse(fx.berth(["network", "inspect", NET]).stdout)[0].Options["com.docker.network.bridge.name"];
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true);
  });

  test(`${MANY} containers started (10 at a time) and removed leave links, routes, iptables rules, conntrack and IPAM state exactly as before`, async () => {
    const warm = fx.runDetached(["--network", NET], ["sleep", "60"]);
    fx.berth(["rm", "-f", warm]);
    const before = hostNetworkState();
    const ids: string[] = [];
    for (let batch = 0; batch < MANY / 10; batch++) {
      // sleep outlives the test (they are removed): an exited container gives its address back
      const started = await Promise.all(Array.from({ length: 10 }, (_, i) => fx.berthAsync(["run", "-d", "--cgroup-parent", fx.cgroupParent, "--network", NET, "-p", `127.0.0.1::${8000 + batch * 10 + i}`, "--rootfs", fx.rootfs, "sleep", "7200"])));
      for (const r of started) expect(r).toMatchObject({ code: 0, stderr: "" });
      ids.push(...started.map((r) => r.stdout.trim()));
    }
    const ips = new Set(ids.map((id) => fx.inspect(id).NetworkSettings.IPAddress));
    expect(ips.size).toBe(MANY);
    expect(hostNetworkState()).not.toBe(before);
    expect(fx.berth(["rm", "-f", ...ids])).toMatchObject({ code: 0, stdout: ids.map((id) => `${id}\n`).join("") });
    expect(hostNetworkState()).toBe(before);
    expect(readdirSync(join(fx.runroot, "cni", "results"))).toEqual([]);
    expect(readdirSync(join(fx.runroot, "netns"))).toEqual([]);
  }, 1_800_000); // minutes in the cgroup v2 VM (QEMU TCG)

  test("a killed monitor's leftovers: network prune sweeps them; then rm and prune remove the networks and their bridges", async () => {
    const bridge = JSON.parse(fx.berth(["network", "inspect", NET]).stdout)[0].Options["com.docker.network.bridge.name"];
    const before = hostNetworkState();
    const id = fx.runDetached(["--network", NET], ["sleep", "60"]);
    const state = fx.inspect(id).State;
    // the monitor first, so no exit command runs: the engine learns of the death only from the next command
    const monitor = fx.monitors().find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(id));
    expect(monitor).toBeDefined();
    process.kill(monitor!, "SIGKILL");
    process.kill(state.Pid, "SIGKILL");
    await until(() => fx.inspect(id).State.Status === "exited");
    expect(readdirSync(join(fx.runroot, "cni", "results")).length).toBe(2);
    expect(fx.berth(["network", "prune", "-f"]).code).toBe(0);
    expect(readdirSync(join(fx.runroot, "cni", "results"))).toEqual([]);
    // prune also deletes the bridge no container is on (a bridge stays between containers; the next start makes it again): its route goes with it
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    expect(hostNetworkState()).toBe(before.replace(/^10\.86\.\d+\.0\/24 dev \S+ proto kernel .*\n/m, ""));
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
    expect(fx.berth(["network", "create", "--subnet", `10.87.${X}.0/24`, "--internal", `${NET}i`]).code).toBe(0);
    // no route out: no default route, and the kernel finds none for an address outside the subnet
    const internal = fx.run(["--rm", "--network", `${NET}i`], ["sh", "-c", "ip route | grep -c default; ip route get 192.0.2.1 2>&1; ip -4 -o addr show eth0 | grep -c 10.87"]);
    expect(internal.stdout).toBe("0\nip: RTNETLINK answers: Network is unreachable\n1\n");
    expect(fx.berth(["network", "rm", NET]).stdout).toBe(`${NET}\n`);
    expect(fx.berth(["network", "prune", "-f"]).stdout).toBe(`Deleted Networks:\n${NET}i\n\n`);
    expect(fx.berth(["network", "rm", "bridge"]).stderr).toContain("pre-defined network");
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  });
});
