/**
 * /etc/hosts kept current on bridge networks: a container's file lists its own address
 * (hostname, name, --network-alias), --add-host's, and every other running container
 * that shares a network with it, by name and aliases. Rewritten in place (same inode:
 * the file is bind-mounted into running containers) for the container and its peers
 * whenever one of them gets or gives up its address.
 */
import { rewriteText } from "../../sys/libc.ts";
import type { Engine } from "./engine.ts";
import { hostsFile } from "./host.ts";
import type { ContainerRecord } from "./records.ts";
import { hostsText, parseAddHost, type HostsEntry } from "../network/etc-files.ts";

function entryOf(c: ContainerRecord, network: string): HostsEntry | undefined {
  const ep = c.Network?.settings?.Networks[network];
  return ep?.IPAddress ? { ip: ep.IPAddress, names: [c.Name, ...ep.Aliases, c.Id.slice(0, 12)] } : undefined;
}

function hostsOf(c: ContainerRecord, all: ContainerRecord[]): string {
  const s = c.Network!.settings!;
  const self = { ip: s.IPAddress, names: [c.Hostname, c.Name, ...(c.Network?.aliases ?? [])] };
  const extra = (c.Flags.addHost ?? []).map((h) => parseAddHost(h, s.Gateway || undefined));
  for (const net of Object.keys(s.Networks)) {
    for (const peer of all) {
      if (peer.Id === c.Id) continue;
      const e = entryOf(peer, net);
      if (e) extra.push(e);
    }
  }
  return hostsText(hostsFile(c.Hostname, "bridge"), self.ip ? self : undefined, extra);
}

/** Rewrite the hosts files of `r` (as it is now, in memory) and of the containers on its networks (and on `left`, one it just left). */
export function connectedHosts(engine: Engine, r: ContainerRecord, left?: string): void {
  const all = [...engine.store.list().filter((c) => c.Id !== r.Id), r].filter((c) => c.Network?.mode === "cni" && c.Network.settings);
  const networks = new Set([...(r.Network?.networks ?? []), ...(left ? [left] : [])]);
  for (const c of all) {
    if (c.Id !== r.Id && !c.Network!.networks.some((n) => networks.has(n))) continue;
    try {
      // never created: a peer being removed meanwhile must not get a file back in its directory
      rewriteText(`${engine.store.dir(c.Id)}/hosts`, hostsOf(c, all));
    } catch {} // its directory removed meanwhile
  }
}
