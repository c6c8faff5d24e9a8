/**
 * The engine's networks: one CNI conflist per network, `$BERTH_ROOT/networks/<name>.conflist`
 * — bridge (with host-local IPAM), portmap, firewall, tuning — with berth's own facts
 * (id, creation time, subnet, labels) under the conflist's `berth` key, which plugins
 * never see (each plugin gets its own entry of `plugins`).
 *
 * `bridge` is the default network, made on first use. Its subnet is the first /24 from
 * 10.90.0.0 that overlaps no other engine's default (docker 172.17.0.0/16, podman
 * 10.88.0.0/16, nerdctl 10.4.0.0/24), no route on the host and none of this engine's
 * networks; a subnet given to `network create` is checked against the same.
 */
import { BerthError } from "../../errors.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { claimFile } from "../../sys/id-claim.ts";
import { listDir, mkdirParents, pathExists, readTextIfExists, unlinkPath } from "../../sys/libc.ts";
import { lockPath, type HeldLock } from "../../sys/lock-file.ts";
import { DEFAULT_ROOT, type EnginePaths } from "../paths.ts";
import type { NetworkConfList } from "./cni.ts";
import { chooseSubnet, contains, firstHost, formatIpv4, formatSubnet, OTHER_ENGINES_DEFAULTS, overlaps, parseIpv4, parseProcNetRoute, parseSubnet, type Subnet } from "./subnet.ts";

export const DEFAULT_NETWORK = "bridge";
/** modes of --network that are not network names */
export const RESERVED_NETWORK_NAMES = ["none", "host", "default", "private"];
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** berth's facts of a network, kept in its conflist. */
export interface NetworkMeta {
  id: string;
  created: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  mtu?: number;
  bridge: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

export type NetworkFile = NetworkConfList & { berth: NetworkMeta };

export interface CreateNetworkOptions {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

/** The conflist of a network (pure): what the plugins are given. */
export function buildConfList(name: string, meta: NetworkMeta, ipamDir: string): NetworkFile {
  const range: Record<string, string> = { subnet: meta.subnet, gateway: meta.gateway };
  if (meta.ipRange) {
    const r = parseSubnet(meta.ipRange, "--ip-range");
    range.rangeStart = formatIpv4(r.base === parseSubnet(meta.subnet, "--subnet").base ? r.base + 2 : r.base + 1);
    range.rangeEnd = formatIpv4(r.base + 2 ** (32 - r.prefix) - 2);
  }
  return {
    cniVersion: "1.0.0",
    name,
    plugins: [
      {
        type: "bridge", bridge: meta.bridge, isGateway: !meta.internal, ipMasq: !meta.internal, hairpinMode: true, ...(meta.mtu && { mtu: meta.mtu }),
        capabilities: { ips: true },
        ipam: { type: "host-local", ranges: [[range]], routes: meta.internal ? [] : [{ dst: "0.0.0.0/0" }], dataDir: ipamDir },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
      { type: "firewall", backend: "iptables" },
      { type: "tuning", capabilities: { mac: true } },
    ],
    berth: meta,
  };
}

/** Checks and fills the options of `network create` (pure): subnet, gateway, range, mtu. */
export function networkMeta(name: string, opts: CreateNetworkOptions, taken: Subnet[], id: string, created: string, bridge: string, spread: number): NetworkMeta {
  if (!NAME.test(name)) throw new BerthError(`invalid network name ${JSON.stringify(name)}; use [a-zA-Z0-9][a-zA-Z0-9_.-], at most 63`);
  let subnet: Subnet;
  if (opts.subnet !== undefined) {
    subnet = parseSubnet(opts.subnet, "--subnet");
    const clash = taken.find((t) => overlaps(t, subnet));
    if (clash) throw new BerthError(`subnet ${opts.subnet} overlaps ${formatSubnet(clash)} (a route on this host or another network); choose another`, { field: "--subnet" });
  } else {
    if (opts.gateway !== undefined || opts.ipRange !== undefined) throw new BerthError("needs --subnet (the range the gateway and addresses belong to)", { field: opts.gateway !== undefined ? "--gateway" : "--ip-range" });
    subnet = chooseSubnet(taken, spread);
  }
  const gw = opts.gateway !== undefined ? parseIpv4(opts.gateway, "--gateway") : firstHost(subnet);
  if (!contains(subnet, gw) || gw === subnet.base) throw new BerthError(`gateway ${formatIpv4(gw)} is not a host address of ${formatSubnet(subnet)}`, { field: "--gateway" });
  if (opts.ipRange !== undefined) {
    const r = parseSubnet(opts.ipRange, "--ip-range");
    if (r.prefix < subnet.prefix || !contains(subnet, r.base)) throw new BerthError(`ip range ${opts.ipRange} is not inside subnet ${formatSubnet(subnet)}`, { field: "--ip-range" });
  }
  const options = { ...(opts.options ?? {}) };
  let mtu: number | undefined;
  for (const [k, v] of Object.entries(options)) {
    if (k === "mtu" || k === "com.docker.network.driver.mtu") {
      mtu = Number(v);
      if (!/^\d+$/.test(v) || mtu < 68 || mtu > 65535) throw new BerthError(`invalid mtu ${JSON.stringify(v)}; use 68 … 65535`, { field: "-o mtu" });
    } else throw new BerthError(`unknown network option ${JSON.stringify(k)}; use mtu=N`, { field: "--opt" });
  }
  return {
    id, created, subnet: formatSubnet(subnet), gateway: formatIpv4(gw), ...(opts.ipRange !== undefined && { ipRange: opts.ipRange }),
    internal: opts.internal === true, ...(mtu !== undefined && { mtu }), bridge, labels: opts.labels ?? {}, options,
  };
}

const randomHex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

export class NoSuchNetwork extends BerthError {}

export class NetworkStore {
  constructor(readonly paths: EnginePaths) {}

  private file(name: string): string {
    return `${this.paths.networks}/${name}.conflist`;
  }

  /** host-local's leases of this engine's networks */
  get ipamDir(): string {
    return `${this.paths.cniCache}/ipam`;
  }

  /** Serializes creation (subnet choice) and the first/last attachment to a bridge across berth processes. */
  lock(): HeldLock {
    mkdirParents(this.paths.networks, 0o755);
    return lockPath(`${this.paths.networks}/.lock`, { create: true });
  }

  list(): NetworkFile[] {
    if (!pathExists(this.paths.networks)) return [];
    const out: NetworkFile[] = [];
    for (const e of listDir(this.paths.networks)) {
      if (!e.name.endsWith(".conflist")) continue;
      const n = this.read(e.name.slice(0, -".conflist".length));
      if (n) out.push(n);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  read(name: string): NetworkFile | undefined {
    const text = readTextIfExists(this.file(name));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as NetworkFile;
    } catch {
      return undefined;
    }
  }

  /** A network by name, full id or unique id prefix. */
  resolve(ref: string): NetworkFile {
    if (ref === DEFAULT_NETWORK) return this.ensureDefault();
    const byName = NAME.test(ref) ? this.read(ref) : undefined;
    if (byName) return byName;
    const byId = ref.length >= 3 ? this.list().filter((n) => n.berth.id.startsWith(ref)) : [];
    if (byId.length === 1) return byId[0]!;
    throw new NoSuchNetwork(`network ${ref} not found; see berth network ls, or make it with berth network create ${ref}`);
  }

  /** Subnets a new network must not overlap: other engines' defaults, host routes, this engine's networks. */
  takenSubnets(): Subnet[] {
    const routes = parseProcNetRoute(readTextIfExists("/proc/net/route") ?? "").map((r) => r.subnet);
    return [...OTHER_ENGINES_DEFAULTS.map((s) => parseSubnet(s, "subnet")), ...routes, ...this.list().map((n) => parseSubnet(n.berth.subnet, "subnet"))];
  }

  create(name: string, opts: CreateNetworkOptions = {}): NetworkFile {
    if (RESERVED_NETWORK_NAMES.includes(name) || name === DEFAULT_NETWORK) throw new BerthError(`${name} is a predefined network mode; choose another name`);
    const lock = this.lock();
    try {
      return this.createLocked(name, opts);
    } finally {
      lock.release();
    }
  }

  private createLocked(name: string, opts: CreateNetworkOptions): NetworkFile {
    if (this.read(name)) throw new BerthError(`network with name ${name} already exists; remove it first, or choose another name`);
    const id = randomHex(32);
    // the default root's default network has docker's kind of name; any other's is unique per network
    const bridge = name === DEFAULT_NETWORK && this.paths.root === DEFAULT_ROOT ? "berth0" : `br-${id.slice(0, 12)}`;
    // separate engine roots (tests, users) start their search at different /24s
    const spread = this.paths.root === DEFAULT_ROOT ? 0 : Number.parseInt(id.slice(0, 4), 16);
    const meta = networkMeta(name, opts, this.takenSubnets(), id, new Date().toISOString(), bridge, spread);
    const file = buildConfList(name, meta, `${this.ipamDir}`);
    mkdirParents(this.paths.networks, 0o755);
    if (!claimFile(this.file(name), JSON.stringify(file, null, 2), {})) throw new BerthError(`network with name ${name} already exists; remove it first, or choose another name`);
    return file;
  }

  /** The default network, made on first use. */
  ensureDefault(): NetworkFile {
    const existing = this.read(DEFAULT_NETWORK);
    if (existing) return existing;
    const lock = this.lock();
    try {
      return this.read(DEFAULT_NETWORK) ?? this.createLocked(DEFAULT_NETWORK, {});
    } finally {
      lock.release();
    }
  }

  /** Forget a network's conflist (the caller deletes its bridge: network rm, prune). */
  remove(name: string): void {
    try {
      unlinkPath(this.file(name));
    } catch {}
  }

  /** Rewrite a network's file (connect keeps aliases nowhere else). */
  write(n: NetworkFile): void {
    writeFileAtomic(this.file(n.name), JSON.stringify(n, null, 2), { mode: 0o644, fsync: false });
  }
}
