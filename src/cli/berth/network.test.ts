/**
 * Container networking for real (CNI's bridge, host-local, portmap, firewall, tuning):
 * a published httpd answers on 127.0.0.1 and on the host's own address, containers on one
 * network reach each other by name, --network none has only lo, container:ID shares the
 * namespace, a port in use fails with nothing left, and 8 containers leave the host's
 * links, routes, iptables rules and IPAM state exactly as before. Subnets 10.86.X.0/24 and
 * 10.87.X.0/24 (and an empty bridge's 10.84.X.0/24) with X from this process's pid (podman's tests use 10.79, docker's 10.80, cri's 10.81).
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, canRunConmon, EngineFixture, until } from "../../../test/engine-harness.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon && existsSync("/usr/lib/cni/bridge") && Bun.which("iptables") !== null;
const fx = ok ? new EngineFixture("net") : (undefined as unknown as EngineFixture);
const X = process.pid % 250;
const NET = `n${process.pid}`;
const SUBNET = `10.86.${X}.0/24`;
const ROUTED = `bnd${process.pid}`;
afterAll(() => {
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
    const hostIp = sh("ip -4 -o route get 192.0.2.1 2>/dev/null || ip -4 -o route get 1.1.1.1").match(/src (\S+)/)?.[1];
    if (hostIp) expect(await fetchText(`http://${hostIp}:${port}/hostname`)).toBe(`${id.slice(0, 12)}\n`);
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
  });

  test("8 containers started in parallel and removed leave links, routes, iptables rules and IPAM state exactly as before", async () => {
    const warm = fx.runDetached(["--network", NET], ["sleep", "60"]);
    fx.berth(["rm", "-f", warm]);
    const before = hostNetworkState();
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => fx.berthAsync(["run", "-d", "--cgroup-parent", fx.cgroupParent, "--network", NET, "-p", `127.0.0.1::${8000 + i}`, "--rootfs", fx.rootfs, "sleep", "60"])));
    for (const r of ids) expect(r).toMatchObject({ code: 0, stderr: "" });
    const ips = new Set(ids.map((r) => fx.inspect(r.stdout.trim()).NetworkSettings.IPAddress));
    expect(ips.size).toBe(8);
    expect(hostNetworkState()).not.toBe(before);
    for (const r of ids) expect(fx.berth(["rm", "-f", r.stdout.trim()]).code).toBe(0);
    expect(hostNetworkState()).toBe(before);
    expect(readdirSync(join(fx.runroot, "cni", "results"))).toEqual([]);
    expect(readdirSync(join(fx.runroot, "netns"))).toEqual([]);
  }, 1_200_000); // 8 parallel starts and 8 removals: minutes in the cgroup v2 VM (QEMU TCG)

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
    expect(fx.berth(["network", "prune"]).code).toBe(0);
    expect(readdirSync(join(fx.runroot, "cni", "results"))).toEqual([]);
    expect(hostNetworkState()).toBe(before);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
    expect(fx.berth(["network", "create", "--subnet", `10.87.${X}.0/24`, "--internal", `${NET}i`]).code).toBe(0);
    expect(fx.run(["--rm", "--network", `${NET}i`], ["sh", "-c", "ip route | grep -c default; true"]).stdout).toBe("0\n");
    expect(fx.berth(["network", "rm", NET]).stdout).toBe(`${NET}\n`);
    expect(fx.berth(["network", "prune"]).stdout).toBe(`Deleted Networks:\n${NET}i\n`);
    expect(fx.berth(["network", "rm", "bridge"]).stderr).toContain("pre-defined network");
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  });
});
