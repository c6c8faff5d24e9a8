/**
 * `berth network create|ls|inspect|rm|prune|connect|disconnect`: docker's bridge networks, each a CNI
 * conflist (engine/network/networks.ts). A network a container uses is not removed;
 * prune also sweeps the attachments of containers that are gone.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { alignColumns } from "../../observe/template.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { liveStatus } from "../../engine/container/lifecycle.ts";
import { connectContainer, disconnectContainer } from "../../engine/container/network-connect.ts";
import { DEFAULT_NETWORK, NetworkStore, type NetworkFile } from "../../engine/network/networks.ts";
import { removeBridgeOf, sweepNetworks } from "../../engine/network/attach.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import { engineFor } from "./run-options.ts";

type Opts = Record<string, unknown>;
const collect = (value: string, previous: string[] = []) => [...previous, value];

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new BerthError(`invalid ${JSON.stringify(kv)}; use KEY=VALUE`, { field: flag });
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function usersOf(engine: Engine, name: string) {
  return engine.store.list().filter((r) => r.Network?.mode === "cni" && r.Network.networks.includes(name));
}

/** docker's network inspect object. */
function inspectView(engine: Engine, n: NetworkFile): Record<string, unknown> {
  const m = n.berth;
  const containers: Record<string, unknown> = {};
  for (const r of usersOf(engine, n.name)) {
    const ep = r.Network?.settings?.Networks[n.name];
    if (!ep) continue;
    containers[r.Id] = { Name: r.Name, EndpointID: ep.EndpointID, MacAddress: ep.MacAddress, IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`, IPv6Address: "" };
  }
  return {
    Name: n.name, Id: m.id, Created: m.created, Scope: "local", Driver: "bridge", EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: m.subnet, Gateway: m.gateway, ...(m.ipRange && { IPRange: m.ipRange }) }] },
    Internal: m.internal, Attachable: false, Ingress: false, ConfigFrom: { Network: "" }, ConfigOnly: false, Containers: containers,
    Options: { "com.docker.network.bridge.name": m.bridge, ...(m.mtu && { "com.docker.network.driver.mtu": String(m.mtu) }) }, Labels: m.labels,
  };
}

function removeNetwork(engine: Engine, store: NetworkStore, n: NetworkFile): void {
  const users = usersOf(engine, n.name);
  if (users.length) throw new BerthError(`error while removing network: network ${n.name} id ${n.berth.id} has active endpoints (${users.map((r) => r.Name).join(", ")}); remove those containers first`);
  removeBridgeOf(n);
  store.remove(n.name);
  removeTree(`${store.ipamDir}/${n.name}`);
}

export function registerNetwork(program: Command): void {
  const net = program.command("network").description("manage networks");
  net.command("create").argument("<name>", "network name").description("create a bridge network")
    .option("-d, --driver <driver>", "bridge (the only driver)")
    .option("--subnet <cidr>", "the subnet, e.g. 10.91.0.0/24 (default: a free /24 from 10.90.0.0)")
    .option("--gateway <ip>", "the gateway (default: the subnet's first address)")
    .option("--ip-range <cidr>", "give containers addresses from this part of the subnet")
    .option("--internal", "no route out of the network and no masquerading")
    .option("-o, --opt <k=v>", "driver option: mtu=N (or com.docker.network.driver.mtu=N)", collect)
    .option("--label <k=v>", "a label", collect)
    .action((name: string, opts: Opts) => {
      if (opts.driver !== undefined && opts.driver !== "bridge") throw new BerthError(`driver ${JSON.stringify(opts.driver)} is not available; use bridge`, { field: "--driver" });
      const store = new NetworkStore(engineFor(opts).paths);
      const n = store.create(name, {
        ...(opts.subnet !== undefined && { subnet: opts.subnet as string }),
        ...(opts.gateway !== undefined && { gateway: opts.gateway as string }),
        ...(opts.ipRange !== undefined && { ipRange: opts.ipRange as string }),
        internal: opts.internal === true,
        options: keyValues(opts.opt as string[] | undefined, "--opt"),
        labels: keyValues(opts.label as string[] | undefined, "--label"),
      });
      writeOut(`${n.berth.id}\n`);
    });
  net.command("ls").description("list networks").option("-q, --quiet", "only ids").option("--format <format>", "json or table")
    .action((opts: Opts) => {
      const store = new NetworkStore(engineFor(opts).paths);
      store.ensureDefault();
      const rows = store.list().map((n) => ({ ID: n.berth.id.slice(0, 12), Name: n.name, Driver: "bridge", Scope: "local" }));
      if (opts.quiet) writeOut(rows.map((r) => `${r.ID}\n`).join(""));
      else if (opts.format === "json") writeOut(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      else writeOut(`${alignColumns(["NETWORK ID\tNAME\tDRIVER\tSCOPE", ...rows.map((r) => `${r.ID}\t${r.Name}\t${r.Driver}\t${r.Scope}`)])}\n`);
    });
  net.command("inspect").argument("<names...>", "network names or ids").description("docker's JSON of networks")
    .action((names: string[], opts: Opts) => {
      const engine = engineFor(opts);
      const store = new NetworkStore(engine.paths);
      writeOut(`${JSON.stringify(names.map((n) => inspectView(engine, store.resolve(n))), null, 4)}\n`);
    });
  net.command("rm").argument("<names...>", "network names or ids").description("remove networks no container uses")
    .action((names: string[], opts: Opts) => {
      const engine = engineFor(opts);
      const store = new NetworkStore(engine.paths);
      let failed = 0;
      for (const name of names) {
        try {
          if (name === DEFAULT_NETWORK) throw new BerthError(`${name} is a pre-defined network and cannot be removed`);
          removeNetwork(engine, store, store.resolve(name));
          writeOut(`${name}\n`);
        } catch (err) {
          if (names.length === 1) throw err;
          writeErr(`berth: ${(err as Error).message}\n`);
          failed++;
        }
      }
      if (failed) throw new ExitError(1);
    });
  net.command("connect").argument("<network>", "network name or id").argument("<container>", "container name or id")
    .description("attach a container to another network (now when it runs, else at its next start)")
    .option("--alias <name>", "another name for the container on this network", collect)
    .action((network: string, container: string, opts: Opts) => {
      connectContainer(engineFor(opts), container, network, (opts.alias as string[] | undefined) ?? []);
    });
  net.command("disconnect").argument("<network>", "network name or id").argument("<container>", "container name or id")
    .description("detach a container from a network").option("-f, --force", "accepted (docker's)")
    .action((network: string, container: string, opts: Opts) => {
      disconnectContainer(engineFor(opts), container, network);
    });
  net.command("prune").description("remove networks no container uses, and the network leftovers of containers that are gone")
    .option("-f, --force", "do not ask (berth never asks)")
    .action((opts: Opts) => {
      const engine = engineFor(opts);
      const store = new NetworkStore(engine.paths);
      // a container keeps its attachments only while it runs: any other's are leftovers of a crash
      sweepNetworks(engine.paths, (id) => {
        const r = engine.store.read(id);
        return r !== undefined && liveStatus(engine, r).status === "running";
      });
      const deleted: string[] = [];
      for (const n of store.list()) {
        // an empty bridge is a leftover whoever left it (the bridge plugin never removes one); under the lock an ADD holds
        const lock = store.lock();
        try {
          removeBridgeOf(n);
        } finally {
          lock.release();
        }
        if (n.name === DEFAULT_NETWORK || usersOf(engine, n.name).length) continue;
        removeNetwork(engine, store, n);
        deleted.push(n.name);
      }
      if (deleted.length) writeOut(`Deleted Networks:\n${deleted.map((d) => `${d}\n`).join("")}`);
    });
}
