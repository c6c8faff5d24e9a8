/**
 * The prunes docker's `container`, `volume`, `network`, `image` and `system prune` run:
 * what each removes under a `--filter` (views.ts's PruneFilter) and what it reclaimed.
 * The commands print (formatPruneReport); `system prune` runs them in docker's order.
 */
import { BerthError } from "../errors.ts";
import { removeTree } from "../sys/remove-tree.ts";
import { treeSize } from "../sys/tree-size.ts";
import { ContainerSizes } from "./container/disk-usage.ts";
import type { Engine } from "./container/engine.ts";
import { removeContainer, removeDeadCreates } from "./container/lifecycle.ts";
import { liveStatus } from "./container/live-status.ts";
import { prunable, type PruneFilter } from "./container/views.ts";
import { recordEvent } from "./event-journal.ts";
import type { ImageStore } from "./image/image-store.ts";
import { removeBridgeOf, sweepNetworks } from "./network/attach.ts";
import { DEFAULT_NETWORK, NetworkStore, type NetworkFile } from "./network/networks.ts";

/**
 * Remove the stopped containers the filter selects (`container prune`, `system prune`),
 * and what creates killed before their records left; bytes reclaimed are docker's: what
 * they wrote.
 */
export function pruneContainers(engine: Engine, filter: PruneFilter): { removed: string[]; reclaimed: number } {
  // a create killed before its record is no container docker would list: it goes all the same, unreported
  removeDeadCreates(engine);
  const sizes = new ContainerSizes(engine);
  const removed: string[] = [];
  let reclaimed = 0;
  for (const r of engine.store.list()) {
    const live = liveStatus(engine, r);
    if (live.status !== "exited" && live.status !== "created" && live.status !== "dead") continue;
    if (!prunable(r.Labels, r.Created, filter)) continue;
    const size = sizes.rw(r);
    removeContainer(engine, r.Id, { volumes: false });
    removed.push(r.Id);
    reclaimed += size;
  }
  return { removed, reclaimed };
}

/** Remove the volumes no container uses — anonymous ones, or with `all` named ones too — that the filter selects (`volume prune`, `system prune --volumes`). */
export function pruneVolumes(engine: Engine, all: boolean, filter: PruneFilter): { removed: string[]; reclaimed: number } {
  // the volumes a create killed before its record made go with it (those another container uses stay)
  removeDeadCreates(engine);
  const used = new Set(engine.store.list().flatMap((r) => r.Volumes.map((x) => x.name)));
  const removed: string[] = [];
  let reclaimed = 0;
  for (const x of engine.volumes.list()) {
    if (used.has(x.Name) || (!all && !x.Anonymous) || !prunable(x.Labels, x.CreatedAt, filter)) continue;
    const size = treeSize(x.Mountpoint);
    engine.volumes.remove(x.Name, { force: true });
    removed.push(x.Name);
    reclaimed += size;
  }
  return { removed, reclaimed };
}

/** The containers attached to network `name` (by their records). */
export function networkUsers(engine: Engine, name: string) {
  return engine.store.list().filter((r) => r.Network?.mode === "cni" && r.Network.networks.includes(name));
}

/** Remove a network no container uses: its bridge, its conflist, its IPAM leases; docker's destroy event. */
export function removeNetwork(engine: Engine, store: NetworkStore, n: NetworkFile): void {
  const users = networkUsers(engine, n.name);
  if (users.length) throw new BerthError(`error while removing network: network ${n.name} id ${n.berth.id} has active endpoints (${users.map((r) => r.Name).join(", ")}); remove those containers first`);
  removeBridgeOf(n);
  store.remove(n.name);
  removeTree(`${store.ipamDir}/${n.name}`);
  recordEvent(engine.paths, "network", "destroy", n.berth.id, { name: n.name, type: "bridge" });
}

/**
 * Remove the networks no container uses that the filter selects, except the default
 * one (`network prune`, `system prune`), and sweep the network leftovers of containers
 * that are gone, and every empty bridge. Returns the names removed.
 */
export function pruneNetworks(engine: Engine, filter: PruneFilter): string[] {
  const store = new NetworkStore(engine.paths);
  // a container keeps its attachments only while it runs: any other's are leftovers of a crash
  sweepNetworks(engine.paths, (id) => {
    const r = engine.store.read(id);
    return r !== undefined && liveStatus(engine, r).status === "running";
  });
  const deleted: string[] = [];
  // the records read once for every network (removeNetwork looks again at the one it removes)
  const attached = new Set(engine.store.list().flatMap((r) => (r.Network?.mode === "cni" ? r.Network.networks : [])));
  for (const n of store.list()) {
    // an empty bridge is a leftover whoever left it (the bridge plugin never removes one); under the lock an ADD holds
    const lock = store.lock();
    try {
      removeBridgeOf(n);
    } finally {
      lock.release();
    }
    if (n.name === DEFAULT_NETWORK || attached.has(n.name) || !prunable(n.berth.labels, n.berth.created, filter)) continue;
    removeNetwork(engine, store, n);
    deleted.push(n.name);
  }
  return deleted;
}

/**
 * Remove the images no container uses — dangling ones, or with `all` every one — that
 * the filter selects by the image's own creation time and labels, as docker's do
 * (`image prune`, `system prune`); then what nothing uses. Lines are docker's
 * `untagged: REF` / `deleted: ID`.
 */
export function pruneImages(store: ImageStore, all: boolean, filter: PruneFilter): { lines: string[]; reclaimed: number } {
  const filtered = filter.untilMs !== undefined || filter.labels.length > 0 || filter.notLabels.length > 0;
  return store.pruneImages(all, (image) => {
    if (!filtered) return true;
    const config = store.config(image);
    // an image without a creation time is never "created before" a time
    return prunable(config.config?.Labels ?? {}, config.created ?? "", filter);
  });
}
