/**
 * docker's `network connect` / `disconnect` on a container's record: a running container
 * is attached or detached now (engine/network), a stopped one at its next start; either
 * way the record's network list changes and the peers' /etc/hosts follow.
 */
import { BerthError } from "../../errors.ts";
import { connectNetwork, disconnectNetwork } from "../network/attach.ts";
import { NetworkStore } from "../network/networks.ts";
import type { Engine } from "./engine.ts";
import { liveStatus } from "./live-status.ts";
import { connectedHosts } from "./network-hosts.ts";
import type { ContainerRecord } from "./records.ts";

function bridgeMode(r: ContainerRecord): NonNullable<ContainerRecord["Network"]> {
  if (r.Network?.mode !== "cni") throw new BerthError(`container ${r.Name} uses network mode ${r.Flags.network ?? r.Network?.mode ?? "none"}: it cannot be connected to or disconnected from networks; run it on a bridge network`);
  return r.Network;
}

export function connectContainer(engine: Engine, ref: string, network: string, aliases: string[]): void {
  const name = new NetworkStore(engine.paths).resolve(network).name;
  const id = engine.store.resolve(ref).Id;
  engine.store.locked(id, (r) => {
    const net = bridgeMode(r);
    if (net.networks.includes(name)) throw new BerthError(`container ${r.Name} is already connected to network ${name}`);
    if (net.settings && liveStatus(engine, r).status === "running") {
      net.settings.Networks[name] = connectNetwork(engine.paths, r.Id, r.Hostname, name, aliases);
    }
    net.networks.push(name);
    engine.store.write(r);
    connectedHosts(engine, r);
  });
}

export function disconnectContainer(engine: Engine, ref: string, network: string): void {
  const name = new NetworkStore(engine.paths).resolve(network).name;
  const id = engine.store.resolve(ref).Id;
  engine.store.locked(id, (r) => {
    const net = bridgeMode(r);
    if (!net.networks.includes(name)) throw new BerthError(`container ${r.Name} is not connected to network ${name}`);
    if (net.settings) {
      disconnectNetwork(engine.paths, r.Id, name);
      delete net.settings.Networks[name];
      const first = Object.values(net.settings.Networks)[0];
      Object.assign(net.settings, { IPAddress: first?.IPAddress ?? "", IPPrefixLen: first?.IPPrefixLen ?? 0, Gateway: first?.Gateway ?? "", MacAddress: first?.MacAddress ?? "" });
    }
    net.networks = net.networks.filter((n) => n !== name);
    engine.store.write(r);
    connectedHosts(engine, r, name);
  });
}
