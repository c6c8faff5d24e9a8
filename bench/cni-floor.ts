/**
 * The floor under `berth run --rm IMAGE true` on the default bridge: the CNI plugins'
 * own time for one ADD and one DEL of berth's default network, each invocation timed on
 * its own — the same conflist berth writes (networks.ts's buildConfList: bridge with
 * host-local, portmap, firewall, tuning) and the loopback, given the same stdin and
 * environment berth gives (cni.ts's pluginStdin, pluginEnv), in a namespace made as
 * berth makes it (`unshare --net=FILE`) — and then the same, as berth schedules them
 * (cni.ts, attach.ts): "ADD path" is lo's ADD beside bridge's then firewall's, "DEL path"
 * firewall's DEL beside bridge's. Run by bench/network.sh; prints JSON:
 * { "<plugin> ADD": [ms…], …, "ADD path": [ms…], "DEL path": [ms…] }.
 *
 *   bun bench/cni-floor.ts RUNS DIR [--all | --fresh-bridge]    (as root; DIR: a scratch directory it may fill)
 *
 * portmap and tuning run only when asked (`--all`): berth skips them for a container
 * with no port and no MAC (attach.ts's pluginsNeeded), as here.
 */
import { mkdirSync, rmSync } from "node:fs";
import { CNI_PLUGIN_DIRS, CniInvoker, pluginEnv, pluginStdin, type CniResult, type NetworkConfList } from "../src/engine/network/cni.ts";
import { buildConfList, networkMeta } from "../src/engine/network/networks.ts";
import { parseSubnet } from "../src/engine/network/subnet.ts";
import { execPlugin } from "../src/sys/cni-plugin.ts";
import { createNetworkNamespace, deleteLink, removeNetworkNamespace } from "../src/sys/network-namespace.ts";

const [runsArg = "10", dir = "", flag] = process.argv.slice(2);
const runs = Number(runsArg);
if (!dir || !Number.isInteger(runs) || runs < 1) {
  console.error("usage: bun bench/cni-floor.ts RUNS DIR [--all | --fresh-bridge]");
  process.exit(2);
}
const all = flag === "--all";
/** as berth does for the last container on a network: the bridge deleted after DEL, so the next ADD makes it again */
const fresh = flag === "--fresh-bridge";
mkdirSync(dir, { recursive: true });
const third = process.pid % 250;
const bridge = `bfloor${process.pid % 100000}`;
// 10.76.X.0/24: no engine's default, unique per run
const meta = networkMeta(`floor${process.pid}`, { subnet: `10.76.${third}.0/24` }, [parseSubnet("10.88.0.0/16", "s")], "f".repeat(64), new Date().toISOString(), bridge, 0);
const full = buildConfList(meta.id.slice(0, 8), meta, `${dir}/ipam`);
const list: NetworkConfList = { ...full, plugins: full.plugins.filter((p) => all || (p.type !== "portmap" && p.type !== "tuning")) };
const loopback: NetworkConfList = { cniVersion: "1.0.0", name: "berth-loopback", plugins: [{ type: "loopback" }] };
const times: Record<string, number[]> = {};
const cni = new CniInvoker(`${dir}/cache`);
const note = (what: string, ms: number) => (times[what] ??= []).push(+ms.toFixed(1));

function run(l: NetworkConfList, plugin: NetworkConfList["plugins"][number], command: "ADD" | "DEL", rt: { containerId: string; netns: string; ifName: string; capabilityArgs?: Record<string, unknown> }, prev?: CniResult): CniResult | undefined {
  const path = CNI_PLUGIN_DIRS.map((d) => `${d}/${plugin.type}`).find((p) => Bun.file(p).size > 0)!;
  const t = performance.now();
  const r = execPlugin(path, pluginEnv(command, rt, CNI_PLUGIN_DIRS), pluginStdin(l, plugin, rt, prev));
  note(`${plugin.type} ${command}`, performance.now() - t);
  if (r.code !== 0) throw new Error(`${plugin.type} ${command}: ${r.stdout}${r.stderr}`);
  return command === "ADD" ? (JSON.parse(r.stdout) as CniResult) : undefined;
}

const capabilityArgs = all ? { portMappings: [{ hostPort: 40000 + (process.pid % 20000), containerPort: 80, protocol: "tcp", hostIP: "127.0.0.1" }], mac: "02:42:0a:4c:00:99" } : {};
try {
  for (let i = 0; i < runs + 1; i++) {
    const netns = `${dir}/netns-${i}`;
    const rt = { containerId: `floor${process.pid}x${i}`, netns, ifName: "eth0", capabilityArgs };
    let t = performance.now();
    createNetworkNamespace(netns);
    note("unshare --net", performance.now() - t);
    run(loopback, loopback.plugins[0]!, "ADD", { ...rt, ifName: "lo" });
    let prev: CniResult | undefined;
    for (const p of list.plugins) prev = run(list, p, "ADD", rt, prev);
    for (const p of [...list.plugins].reverse()) run(list, p, "DEL", rt, prev);
    t = performance.now();
    removeNetworkNamespace(netns);
    note("unmount netns", performance.now() - t);
    // as berth schedules them (its own CniInvoker): lo beside bridge → firewall; then the DELs
    const scheduled = `${netns}-scheduled`;
    const srt = { ...rt, containerId: `${rt.containerId}s`, netns: scheduled };
    createNetworkNamespace(scheduled);
    t = performance.now();
    const lo = cni.startAdd(loopback, { ...srt, ifName: "lo" });
    cni.add(list, srt);
    lo();
    note("ADD path", performance.now() - t);
    t = performance.now();
    cni.del(list, srt);
    note("DEL path", performance.now() - t);
    cni.forget(loopback.name, srt.containerId, "lo");
    removeNetworkNamespace(scheduled);
    if (fresh) {
      t = performance.now();
      deleteLink(bridge);
      note("ip link del bridge", performance.now() - t);
    }
    // the first round warms the page cache and makes the bridge: not counted
    if (i === 0) for (const k of Object.keys(times)) times[k] = [];
  }
} finally {
  deleteLink(bridge);
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(times));
