/**
 * Invoking a CNI network configuration list, as libcni (containernetworking/cni
 * libcni/api.go) does: each plugin of the list in turn with `CNI_COMMAND=ADD`, its
 * configuration on stdin carrying the list's name and cniVersion, the runtime config its
 * `capabilities` ask for (portMappings, mac, ips) and the previous plugin's result as
 * `prevResult`; DEL in reverse order with the result ADD returned; CHECK in order with it.
 *
 * The final result is cached (`<cacheDir>/results/<network>-<container>-<ifname>`, libcni's
 * cniCacheV1 with the configuration it was made with) before ADD returns, so DEL works
 * after a crash, after the engine was killed, and after the network's conflist is gone.
 */
import { BerthError } from "../../errors.ts";
import { once } from "../../once.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { startPlugin, type PluginRun } from "../../sys/cni-plugin.ts";
import { listDir, mkdirParents, pathExists, readTextIfExists, unlinkPath } from "../../sys/libc.ts";

export const CNI_PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [k: string]: unknown;
}

export interface NetworkConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
  [k: string]: unknown;
}

/** What the runtime knows about the attachment: libcni's RuntimeConf. */
export interface RuntimeConf {
  containerId: string;
  /** the network namespace's path; may be gone at DEL */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs */
  args?: [string, string][];
  /** runtimeConfig by capability name (portMappings, mac, ips, aliases) */
  capabilityArgs?: Record<string, unknown>;
}

/** A CNI result (spec 1.0.0): what ADD made. */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** libcni's cache entry. */
export interface CachedAttachment {
  kind: "cniCacheV1";
  containerId: string;
  /** the conflist the attachment was made with, base64 */
  config: string;
  ifName: string;
  networkName: string;
  netns: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result: CniResult;
}

/** The configuration one plugin of `list` gets on stdin (pure). */
export function pluginStdin(list: NetworkConfList, plugin: PluginConf, rt: RuntimeConf, prevResult: CniResult | undefined): string {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    if (on && rt.capabilityArgs?.[cap] !== undefined) runtimeConfig[cap] = rt.capabilityArgs[cap];
  }
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prevResult) conf.prevResult = prevResult;
  return JSON.stringify(conf);
}

/** The CNI_* environment of one invocation (pure). */
export function pluginEnv(command: "ADD" | "DEL" | "CHECK" | "VERSION", rt: RuntimeConf, pluginDirs: string[]): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifName,
    CNI_PATH: pluginDirs.join(":"),
    ...(rt.args?.length && { CNI_ARGS: rt.args.map(([k, v]) => `${k}=${v}`).join(";") }),
  };
}

/** A plugin's failure as one line: its error object's msg and details (spec "Error"), else its stderr (pure). */
export function pluginFailure(network: string, type: string, command: string, code: number, stdout: string, stderr: string): BerthError {
  let why = "";
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    why = [e.msg, e.details].filter(Boolean).join(": ");
  } catch {}
  why ||= stderr.trim().split("\n").at(-1) || `exited ${code}`;
  return new BerthError(`network ${network}: CNI plugin ${type} ${command}: ${why}`);
}

/** Plugins whose DEL touches only the host's firewall rules of the container (CniInvoker.del runs them beside the rest). */
const HOST_RULES_ONLY = new Set(["firewall", "portmap"]);

export class CniInvoker {
  constructor(readonly cacheDir: string, readonly pluginDirs: string[] = CNI_PLUGIN_DIRS) {}

  private pluginPath(network: string, type: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new BerthError(`network ${network}: invalid CNI plugin type ${JSON.stringify(type)}`);
    const found = this.pluginDirs.map((d) => `${d}/${type}`).find(pathExists);
    if (!found) throw new BerthError(`network ${network}: CNI plugin ${type} is not in ${this.pluginDirs.join(" or ")}; apt-get install containernetworking-plugins`);
    return found;
  }

  /** Start one plugin; the function returned waits for it: its result for ADD, a failure thrown as one line. */
  private start(list: NetworkConfList, plugin: PluginConf, command: "ADD" | "DEL" | "CHECK", rt: RuntimeConf, prev: CniResult | undefined): () => CniResult | undefined {
    const running = startPlugin(this.pluginPath(list.name, plugin.type), pluginEnv(command, rt, this.pluginDirs), pluginStdin(list, plugin, rt, prev));
    return () => this.outcome(list, plugin, command, running.wait());
  }

  private outcome(list: NetworkConfList, plugin: PluginConf, command: "ADD" | "DEL" | "CHECK", run: PluginRun): CniResult | undefined {
    if (run.code !== 0) throw pluginFailure(list.name, plugin.type, command, run.code, run.stdout, run.stderr);
    if (command !== "ADD") return undefined;
    try {
      return JSON.parse(run.stdout) as CniResult;
    } catch {
      throw new BerthError(`network ${list.name}: CNI plugin ${plugin.type} ADD printed no result: ${JSON.stringify(run.stdout.slice(0, 200))}`);
    }
  }

  private invoke(list: NetworkConfList, plugin: PluginConf, command: "ADD" | "DEL" | "CHECK", rt: RuntimeConf, prev: CniResult | undefined): CniResult | undefined {
    return this.start(list, plugin, command, rt, prev)();
  }

  cachePath(network: string, containerId: string, ifName: string): string {
    return `${this.cacheDir}/results/${network}-${containerId}-${ifName}`;
  }

  /**
   * ADD: every plugin in order, each given the one before's result; the last result is
   * cached and returned. A failure throws and leaves the cache as it was: the caller
   * undoes what the plugins before made with del(), which works without a cached result.
   */
  add(list: NetworkConfList, rt: RuntimeConf): CniResult {
    return this.startAdd(list, rt)();
  }

  /**
   * ADD begun: the first plugin is started and runs while the caller does other work (lo's
   * ADD beside eth0's). The function returned finishes it as add() does — once: called
   * again it answers the same — and must be called, even when the caller gives up.
   */
  startAdd(list: NetworkConfList, rt: RuntimeConf): () => CniResult {
    const [first, ...rest] = list.plugins;
    const started = first && this.start(list, first, "ADD", rt, undefined);
    return once((): CniResult => {
      let prev = started?.();
      for (const plugin of rest) prev = this.invoke(list, plugin, "ADD", rt, prev);
      const result = prev ?? { cniVersion: list.cniVersion };
      const entry: CachedAttachment = {
        kind: "cniCacheV1", containerId: rt.containerId, config: Buffer.from(JSON.stringify(list)).toString("base64"), ifName: rt.ifName,
        networkName: list.name, netns: rt.netns, ...(rt.args && { cniArgs: rt.args }), ...(rt.capabilityArgs && { capabilityArgs: rt.capabilityArgs }), result,
      };
      mkdirParents(`${this.cacheDir}/results`, 0o700);
      writeFileAtomic(this.cachePath(list.name, rt.containerId, rt.ifName), JSON.stringify(entry), { mode: 0o600, fsync: false });
      return result;
    });
  }

  /** CHECK: every plugin in order with the cached result (libcni: an error when nothing is cached). */
  check(list: NetworkConfList, rt: RuntimeConf): void {
    const cached = this.cached(list.name, rt.containerId, rt.ifName);
    if (!cached) throw new BerthError(`network ${list.name}: container ${rt.containerId} is not attached (no cached result)`);
    if (list.disableCheck) return;
    for (const plugin of list.plugins) this.invoke(list, plugin, "CHECK", rt, cached.result);
  }

  /**
   * DEL: every plugin in reverse order with the cached result (plugins take DEL of what
   * does not exist as success, so a half-made ADD is undone too); every plugin runs even
   * when one fails — the first failure is thrown at the end and the cache kept for a retry.
   *
   * The plugins whose DEL only removes host firewall rules keyed by the container's
   * address or id (firewall, portmap) start together at once and run beside the rest,
   * which keep their order: nothing of theirs depends on the interface the others remove
   * (tuning, whose DEL needs the interface, still runs before bridge removes it). Each
   * rule or chain deleted costs the kernel an RCU grace period (iptables-nft waits for it
   * when it closes its netlink socket: 10–20 ms here), and the veth's deletion another;
   * run side by side, those waits overlap.
   */
  del(list: NetworkConfList, rt: RuntimeConf): void {
    this.startDel(list, rt)();
  }

  /**
   * DEL begun: its plugins are started (those beside the rest, and the first of the rest)
   * and run while the caller does other work. The function returned finishes it as del()
   * does — once: called again it answers the same — and must be called.
   */
  startDel(list: NetworkConfList, rt: RuntimeConf): () => void {
    const path = this.cachePath(list.name, rt.containerId, rt.ifName);
    const cached = this.cached(list.name, rt.containerId, rt.ifName);
    const capabilityArgs = rt.capabilityArgs ?? cached?.capabilityArgs;
    const withCaps: RuntimeConf = { ...rt, ...(capabilityArgs && { capabilityArgs }) };
    let first: unknown;
    const attempt = (step: () => unknown) => {
      try {
        step();
      } catch (err) {
        first ??= err;
      }
    };
    const reversed = [...list.plugins].reverse();
    const [next, ...ordered] = reversed.filter((p) => !HOST_RULES_ONLY.has(p.type));
    const started: (() => unknown)[] = [];
    for (const plugin of reversed.filter((p) => HOST_RULES_ONLY.has(p.type))) attempt(() => started.push(this.start(list, plugin, "DEL", withCaps, cached?.result)));
    let waitNext: (() => unknown) | undefined;
    if (next) attempt(() => (waitNext = this.start(list, next, "DEL", withCaps, cached?.result)));
    return once(() => {
      if (waitNext) attempt(waitNext);
      for (const plugin of ordered) attempt(() => this.invoke(list, plugin, "DEL", withCaps, cached?.result));
      for (const wait of started) attempt(wait);
      if (first) throw first;
      try {
        unlinkPath(path);
      } catch {}
    });
  }

  /** Drop a cached attachment without DEL (one whose undoing is the namespace's removal). */
  forget(network: string, containerId: string, ifName: string): void {
    try {
      unlinkPath(this.cachePath(network, containerId, ifName));
    } catch {}
  }

  /** The cached attachment, undefined when there is none. */
  cached(network: string, containerId: string, ifName: string): CachedAttachment | undefined {
    const text = readTextIfExists(this.cachePath(network, containerId, ifName));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as CachedAttachment;
    } catch {
      return undefined;
    }
  }

  /** Every cached attachment (the cleanup pass looks for those of containers that are gone). */
  attachments(): CachedAttachment[] {
    return this.read(() => true);
  }

  private read(wanted: (name: string) => boolean): CachedAttachment[] {
    const dir = `${this.cacheDir}/results`;
    if (!pathExists(dir)) return [];
    const out: CachedAttachment[] = [];
    for (const e of listDir(dir)) {
      if (!wanted(e.name)) continue;
      const text = readTextIfExists(`${dir}/${e.name}`);
      try {
        if (text) out.push(JSON.parse(text) as CachedAttachment);
      } catch {}
    }
    return out;
  }

  /** The container's cached attachments: only its own files are read (their names hold its id). */
  attachmentsOf(containerId: string): CachedAttachment[] {
    return this.read((name) => name.includes(`-${containerId}-`)).filter((a) => a.containerId === containerId);
  }

  /** The conflist a cached attachment was made with. */
  static configOf(entry: CachedAttachment): NetworkConfList {
    return JSON.parse(Buffer.from(entry.config, "base64").toString()) as NetworkConfList;
  }
}
