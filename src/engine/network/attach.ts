/**
 * A container's network: what `--network`, `-p`, `-P` and their friends ask for (checked
 * at create), and at start its own network namespace, bind-mounted at
 * `$BERTH_RUNROOT/netns/<id>` and handed to the OCI runtime by path, joined to its
 * networks by CNI ADD; at stop, exit, rm or a failed start CNI DEL undoes each attachment
 * from the cached result and the namespace is unmounted. A network's bridge stays while
 * the network exists, as docker0 and podman's CNI bridge do (the bridge plugin never
 * removes one): deleting it with its last container and having the bridge plugin make it
 * again at the next start cost every `run --rm` on an idle network an `ip link del` —
 * 44–180 ms of the kernel's teardown here — and a bridge set-up. `network rm` and
 * `network prune` delete it.
 *
 * This module knows nothing of container records (engine/container calls it), so the
 * engine's two halves do not import each other.
 */
import { BerthError } from "../../errors.ts";
import { bridgePorts, createNetworkNamespace, deleteLink, removeNetworkNamespace } from "../../sys/network-namespace.ts";
import { pathExists } from "../../sys/libc.ts";
import { probePort } from "../../sys/port-probe.ts";
import type { EnginePaths } from "../paths.ts";
import { CniInvoker, type CachedAttachment, type CniResult, type NetworkConfList } from "./cni.ts";
import { flushConntrack } from "./conntrack.ts";
import { once } from "../../once.ts";
import { DEFAULT_NETWORK, NetworkStore, type NetworkFile } from "./networks.ts";
import { dockerPorts, parseExposed, portMappings, type PortMapping, type Protocol } from "./ports.ts";
import { parseIpv4 } from "./subnet.ts";

/** The --network modes that are not CNI networks. */
export type NetworkMode = "none" | "host" | "container" | "ns" | "cni";

/** What a container asked of the network (kept in its record) and what it got (while it runs). */
export interface ContainerNetwork {
  mode: NetworkMode;
  /** container:REF's REF, ns:PATH's PATH */
  target?: string;
  /** the networks' names, the first is eth0 */
  networks: string[];
  ports: PortMapping[];
  exposed: { port: number; protocol: Protocol }[];
  aliases: string[];
  mac?: string;
  ip?: string;
  /** filled at start, cleared at teardown */
  settings?: NetworkSettings;
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address: string } | null;
  Links: null;
  Aliases: string[];
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DNSNames: string[];
}

/** docker's NetworkSettings. */
export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
  /** the host ports actually given (random ones picked) */
  PortMappings: PortMapping[];
}

export interface NetworkFlags {
  network?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  networkAlias?: string[];
  macAddress?: string;
  ip?: string;
}

export const netnsPath = (paths: EnginePaths, id: string) => `${paths.netns}/${id}`;
const LOOPBACK: NetworkConfList = { cniVersion: "1.0.0", name: "berth-loopback", plugins: [{ type: "loopback" }] };

/**
 * Check the network flags at create (a bad one fails before anything is made) and say
 * what the container will get. `imageExposed` is the image config's ExposedPorts.
 */
export function planNetwork(store: NetworkStore, flags: NetworkFlags, imageExposed: Record<string, object> | undefined): ContainerNetwork {
  const asked = flags.network ?? DEFAULT_NETWORK;
  const exposed = [
    ...Object.keys(imageExposed ?? {}).flatMap((k) => parseExposed(k, "image config ExposedPorts")),
    ...(flags.expose ?? []).flatMap((e) => parseExposed(e, "--expose")),
  ];
  const ports = portMappings(flags.publish ?? [], flags.publishAll === true, exposed);
  if (flags.macAddress !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(flags.macAddress)) throw new BerthError(`invalid MAC address ${JSON.stringify(flags.macAddress)}; use six hex pairs such as 02:42:ac:11:00:02`, { field: "--mac-address" });
  if (flags.ip !== undefined) parseIpv4(flags.ip, "--ip");
  const base = { networks: [], ports, exposed, aliases: flags.networkAlias ?? [], ...(flags.macAddress && { mac: flags.macAddress }), ...(flags.ip && { ip: flags.ip }) };
  const own = (mode: NetworkMode, target?: string): ContainerNetwork => {
    if (ports.length) throw new BerthError(`ports cannot be published with --network ${asked}: the container has no network of its own; use a bridge network`, { field: "--publish" });
    if (base.aliases.length || base.mac || base.ip) throw new BerthError(`--network ${asked} takes no --network-alias, --mac-address or --ip; use a bridge network`, { field: "--network" });
    return { ...base, mode, ...(target !== undefined && { target }) };
  };
  if (asked === "none" || asked === "private") return own("none");
  if (asked === "host") return own("host");
  if (asked.startsWith("container:")) return own("container", asked.slice(10));
  if (asked.startsWith("ns:")) {
    const path = asked.slice(3);
    if (!path.startsWith("/") || !pathExists(path)) throw new BerthError(`network namespace ${JSON.stringify(path)} does not exist; give the absolute path of one (e.g. /run/netns/NAME)`, { field: "--network" });
    return own("ns", path);
  }
  const names = asked.split(",").map((n) => (n === "default" ? DEFAULT_NETWORK : n));
  const networks = names.map((n) => {
    try {
      return store.resolve(n).name;
    } catch (err) {
      throw new BerthError((err as Error).message, { field: "--network" });
    }
  });
  return { ...base, mode: "cni", networks };
}

const prefixOf = (cidr: string) => Number(cidr.split("/")[1] ?? 0);
const addrOf = (cidr: string) => cidr.split("/")[0]!;

function ifName(i: number): string {
  return `eth${i}`;
}

/** The host ports to give portmap: random ones picked, fixed ones checked free (a port in use fails naming it). */
export function hostPorts(ports: PortMapping[]): PortMapping[] {
  return ports.map((m) => {
    const r = probePort(m.hostIP, m.hostPort, m.protocol);
    if ("errno" in r) {
      const what = r.errno === 98 ? "is already in use on this host" : r.errno === 99 ? "is not an address of this host" : `cannot be bound (errno ${r.errno})`;
      throw new BerthError(`host port ${m.hostIP}:${m.hostPort}/${m.protocol} ${what}; publish another port or stop what holds it`, { field: "--publish" });
    }
    return { ...m, hostPort: r.port };
  });
}

/** What start makes before the runtime's create: the namespace (the runtime joins it by path), with the networks and host ports checked. */
export interface PreparedAttachment {
  netns: string;
  lists: NetworkFile[];
  mappings: PortMapping[];
}

/**
 * Start-time set-up for a container of mode "cni", first half: resolve its networks, pick
 * and check its host ports, make its namespace. A failure leaves nothing made.
 */
export function prepareAttachment(paths: EnginePaths, id: string, net: ContainerNetwork): PreparedAttachment {
  const store = new NetworkStore(paths);
  const lists = net.networks.map((n) => store.resolve(n));
  const mappings = hostPorts(net.ports);
  const netns = netnsPath(paths, id);
  createNetworkNamespace(netns);
  return { netns, lists, mappings };
}

/**
 * Second half, which needs only the namespace (so it runs while the runtime creates the
 * container): bring up lo, ADD each network. Returns docker's NetworkSettings. A failure
 * undoes all it made, the namespace too, and throws.
 */
export function joinNetworks(paths: EnginePaths, id: string, hostname: string, net: ContainerNetwork, prepared: PreparedAttachment): NetworkSettings {
  const store = new NetworkStore(paths);
  const cni = new CniInvoker(paths.cniCache);
  const { netns, lists, mappings } = prepared;
  const lock = store.lock();
  let loopback: (() => unknown) | undefined;
  try {
    // lo comes up beside eth0's ADD: each plugin sets up its own interface of the namespace
    loopback = cni.startAdd(LOOPBACK, { containerId: id, netns, ifName: "lo" });
    const settings: NetworkSettings = { Bridge: "", SandboxID: id, SandboxKey: netns, Ports: dockerPorts(mappings, net.exposed), IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "", Networks: {}, PortMappings: mappings };
    lists.forEach((list, i) => {
      const capabilityArgs: Record<string, unknown> = {};
      if (i === 0 && mappings.length) capabilityArgs.portMappings = mappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol, hostIP: m.hostIP }));
      if (i === 0 && net.mac) capabilityArgs.mac = net.mac;
      if (i === 0 && net.ip) capabilityArgs.ips = [net.ip];
      settings.Networks[list.name] = addOne(cni, pluginsNeeded(list, capabilityArgs), id, netns, ifName(i), hostname, capabilityArgs, net.aliases);
    });
    const first = settings.Networks[lists[0]?.name ?? ""];
    if (first) Object.assign(settings, { IPAddress: first.IPAddress, IPPrefixLen: first.IPPrefixLen, Gateway: first.Gateway, MacAddress: first.MacAddress });
    loopback();
    return settings;
  } catch (err) {
    try {
      loopback?.();
    } catch {}
    startDetaching(paths, id, net.networks, cni, store, cni.attachmentsOf(id))();
    throw err;
  } finally {
    lock.release();
  }
}

/**
 * The plugins an attachment needs: portmap only with ports to map, tuning only with a MAC
 * or sysctls to set — each is a Go executable started for ADD and again for DEL, and
 * with nothing to do they do nothing. The cache keeps the list used, so DEL runs the same.
 */
export function pluginsNeeded<T extends NetworkConfList>(list: T, capabilityArgs: Record<string, unknown>): T {
  const plugins = list.plugins.filter((p) => {
    if (p.type === "portmap") return capabilityArgs.portMappings !== undefined;
    if (p.type === "tuning") return capabilityArgs.mac !== undefined || p.sysctl !== undefined || p.mtu !== undefined || p.mac !== undefined;
    return true;
  });
  return { ...list, plugins };
}

/** ADD one network; a failure DELs what the plugins before the failing one made. */
function addOne(cni: CniInvoker, list: NetworkFile, id: string, netns: string, ifname: string, hostname: string, capabilityArgs: Record<string, unknown>, aliases: string[]): EndpointSettings {
  const rt = { containerId: id, netns, ifName: ifname, args: [["IgnoreUnknown", "1"], ["K8S_POD_NAME", hostname]] as [string, string][], capabilityArgs };
  try {
    return endpoint(list, id, cni.add(list, rt), ifname, aliases, hostname);
  } catch (err) {
    try {
      cni.del(list, rt);
    } catch {}
    throw err;
  }
}

/**
 * `network connect` of a running container: ADD `network` as the next free ethN in its
 * namespace; the endpoint is returned for its settings.
 */
export function connectNetwork(paths: EnginePaths, id: string, hostname: string, network: string, aliases: string[]): EndpointSettings {
  const store = new NetworkStore(paths);
  const cni = new CniInvoker(paths.cniCache);
  const list = store.resolve(network);
  const used = new Set(cni.attachmentsOf(id).map((a) => a.ifName));
  let i = 0;
  while (used.has(ifName(i))) i++;
  const lock = store.lock();
  try {
    return addOne(cni, list, id, netnsPath(paths, id), ifName(i), hostname, {}, aliases);
  } finally {
    lock.release();
  }
}

/** `network disconnect` of a running container: DEL its attachment to `network`. */
export function disconnectNetwork(paths: EnginePaths, id: string, network: string): void {
  const store = new NetworkStore(paths);
  const cni = new CniInvoker(paths.cniCache);
  const lock = store.lock();
  try {
    for (const a of cni.attachmentsOf(id).filter((x) => x.networkName === network)) {
      const list = CniInvoker.configOf(a);
      cni.del(list, { containerId: id, netns: netnsPath(paths, id), ifName: a.ifName });
      flushConntrack((a.result.ips ?? []).map((x) => addrOf(x.address)));
    }
  } finally {
    lock.release();
  }
}

function endpoint(list: NetworkFile, id: string, result: CniResult, ifname: string, aliases: string[], hostname: string): EndpointSettings {
  const idx = result.interfaces?.findIndex((i) => i.name === ifname && i.sandbox) ?? -1;
  const ip = result.ips?.find((x) => x.interface === idx || idx < 0) ?? result.ips?.[0];
  const mac = idx >= 0 ? (result.interfaces![idx]!.mac ?? "") : "";
  return {
    IPAMConfig: null, Links: null, Aliases: aliases, NetworkID: list.berth.id, EndpointID: `${id.slice(0, 32)}${list.berth.id.slice(0, 32)}`,
    Gateway: ip?.gateway ?? "", IPAddress: ip ? addrOf(ip.address) : "", IPPrefixLen: ip ? prefixOf(ip.address) : 0,
    IPv6Gateway: "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0, MacAddress: mac, DNSNames: [hostname, ...aliases, id.slice(0, 12)],
  };
}

/**
 * Undo a container's attachments: CNI DEL of each cached one (from its cached result and
 * configuration, so a network removed or changed since is still undone), the namespace's
 * mount, the bridge when no container is left on it. Idempotent: safe after a crash, twice.
 */
export function detachNetworks(paths: EnginePaths, id: string): void {
  startDetach(paths, id)();
}

/**
 * detachNetworks begun: the DELs run while the caller does other work; the function
 * returned finishes them — once — and must be called.
 *
 * Not under the networks' lock (ADD's): a DEL removes only what is the container's own —
 * its veth, lease, firewall rules and masquerade chain, none of which another command
 * makes — and a DEL of what is gone already succeeds, so a sweep meeting it does no harm.
 * What the lock orders, a bridge and the firewall's shared chains made by the first ADD
 * and an empty bridge's removal, a DEL does not touch. So teardowns of parallel
 * containers do not queue, and a DEL in flight holds no lock while its caller takes the
 * container's.
 */
export function startDetach(paths: EnginePaths, id: string): () => void {
  const cni = new CniInvoker(paths.cniCache);
  // its attachments read once (every teardown comes here): startDetaching DELs them
  const cached = cni.attachmentsOf(id);
  if (cached.length === 0 && !pathExists(netnsPath(paths, id))) return () => {};
  return startDetaching(paths, id, [], cni, new NetworkStore(paths), cached);
}

/** Start the DELs of every attachment of the container (each network's beside the others': they are different interfaces); the function returned finishes them. */
function startDetaching(paths: EnginePaths, id: string, names: string[], cni: CniInvoker, store: NetworkStore, cached: CachedAttachment[]): () => void {
  const netns = netnsPath(paths, id);
  let first: unknown;
  const addresses = cached.flatMap((a) => (a.networkName === LOOPBACK.name ? [] : (a.result.ips ?? []).map((x) => addrOf(x.address))));
  const lists = new Map<string, { list: NetworkConfList; ifName: string; capabilityArgs?: Record<string, unknown> }>();
  for (const a of cached) {
    // lo goes with the namespace: its DEL (one more process) would only set it down
    if (a.networkName === LOOPBACK.name) {
      cni.forget(a.networkName, id, a.ifName);
      continue;
    }
    lists.set(`${a.networkName}/${a.ifName}`, { list: CniInvoker.configOf(a), ifName: a.ifName, ...(a.capabilityArgs && { capabilityArgs: a.capabilityArgs }) });
  }
  // a failed ADD left no cache entry: DEL from the network's conflist
  names.forEach((n, i) => {
    const list = store.read(n);
    if (list && !lists.has(`${n}/${ifName(i)}`)) lists.set(`${n}/${ifName(i)}`, { list, ifName: ifName(i) });
  });
  const running: (() => void)[] = [];
  for (const { list, ifName: ifn, capabilityArgs } of lists.values()) {
    try {
      running.push(cni.startDel(list, { containerId: id, netns: pathExists(netns) ? netns : "", ifName: ifn, ...(capabilityArgs && { capabilityArgs }) }));
    } catch (err) {
      first ??= err;
    }
  }
  return once(() => {
    for (const wait of running) {
      try {
        wait();
      } catch (err) {
        first ??= err;
      }
    }
    // after DEL: with the DNAT rules gone no new entry can name the addresses
    flushConntrack(addresses);
    // a veth a failed DEL left goes with the namespace (when nothing runs in it)
    removeNetworkNamespace(netns);
    if (first) throw first;
  });
}

/**
 * The cleanup pass: attachments and namespaces of containers that no longer exist (or
 * no longer run) — left by a killed engine or monitor. Returns the container ids swept.
 */
export function sweepNetworks(paths: EnginePaths, stillAttached: (id: string) => boolean): string[] {
  const cni = new CniInvoker(paths.cniCache);
  const ids = new Set(cni.attachments().map((a) => a.containerId));
  const swept: string[] = [];
  for (const id of ids) {
    if (stillAttached(id)) continue;
    try {
      detachNetworks(paths, id);
      swept.push(id);
    } catch {}
  }
  return swept;
}

/** Remove a network's bridge when no container is on it (network rm and prune). */
export function removeBridgeOf(list: NetworkConfList): void {
  const bridge = (list.plugins.find((p) => p.type === "bridge")?.bridge as string | undefined) ?? "";
  if (bridge && bridgePorts(bridge)?.length === 0) deleteLink(bridge);
}
