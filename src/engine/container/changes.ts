/**
 * `berth diff`: what a container changed in its root filesystem, as docker's `diff`
 * lists it. Read from the upper directory of its overlay snapshot, as docker's overlay2
 * driver reads its diff: a whiteout (a character device 0:0) is a deletion; anything
 * else is a change when a lower layer has the path (a file copied up, a directory
 * holding a change) and an addition when none has.
 */
import { BerthError } from "../../errors.ts";
import { S_IFDIR, S_IFMT, BeneathDir, isOverlayOpaque, isOverlayWhiteout, OVERLAY_OPAQUE_XATTR, entriesBeneath } from "../../sys/layer-fs.ts";
import { ImageStore } from "../image/image-store.ts";
import { lowerDirsOf, writableDirOf } from "../snapshot/snapshotter.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecord } from "./records.ts";

/** docker's change kinds (container.ChangeType): 0 modified, 1 added, 2 deleted */
export const CHANGE_KIND = { C: 0, A: 1, D: 2 } as const;
const LETTER = ["C", "A", "D"] as const;

/** docker's ContainerChangeResponseItem */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** An entry of the upper directory: its path in the container (`/etc/x`), whether it is a whiteout, whether a directory. */
export interface UpperEntry {
  path: string;
  whiteout: boolean;
  dir: boolean;
}

const under = (path: string, dir: string) => path.startsWith(`${dir}/`);

/**
 * The changes an upper directory's entries make over the lower layers, in path order.
 * `placeholders` are the runtime's mount points (a bind of /etc/hosts onto a file the
 * image lacks is created in the upper directory by the runtime): they are not the
 * container's changes — docker keeps them in an init layer under the container's — nor
 * is a directory copied up only to hold them.
 *
 * @example changesOf([{ path: "/etc", whiteout: false, dir: true }, { path: "/etc/x", whiteout: false, dir: false }], (p) => p === "/etc", new Set()) // → [{ Path: "/etc", Kind: 0 }, { Path: "/etc/x", Kind: 1 }]
 */
export function changesOf(entries: UpperEntry[], inLower: (path: string) => boolean, placeholders: ReadonlySet<string>): Change[] {
  const all = entries.map((e) => ({ ...e, kind: e.whiteout ? CHANGE_KIND.D : inLower(e.path) ? CHANGE_KIND.C : CHANGE_KIND.A }));
  const dropped = all.filter((e) => e.kind === CHANGE_KIND.A && placeholders.has(e.path)).map((e) => e.path);
  const kept = all.filter((e) => !(e.kind === CHANGE_KIND.A && placeholders.has(e.path)));
  const holdsOnlyPlaceholders = (d: { path: string; dir: boolean; kind: number }) =>
    d.dir && d.kind === CHANGE_KIND.C && dropped.some((p) => under(p, d.path))
    && !kept.some((e) => under(e.path, d.path) && !(e.dir && e.kind === CHANGE_KIND.C));
  return kept.filter((e) => !holdsOnlyPlaceholders(e)).map((e) => ({ Path: e.path, Kind: e.kind }))
    .sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/** docker's `diff` lines: `C /etc`, `A /etc/x`, `D /old`. */
export function formatChanges(changes: Change[]): string {
  return changes.map((c) => `${LETTER[c.Kind]} ${c.Path}\n`).join("");
}


/**
 * Container `r`'s overlay, opened to compare: its upper directory, its lower layers (the
 * top one first), whether a path is in them (the first layer that has it decides: a
 * whiteout there deleted it; a whiteout, a non-directory or an opaque directory on its
 * way hides it in the layers below), and the runtime's mount points. `close()` when done.
 */
export function openContainerLayers(engine: Engine, r: ContainerRecord): { upper: string; inLower: (path: string) => boolean; placeholders: Set<string>; close(): void } {
  if (r.RootfsSource !== "snapshot") throw new BerthError(`container ${r.Name} runs on the directory ${r.Rootfs} (--rootfs), not on an image's layers: there is nothing to compare it with`, { field: "CONTAINER" });
  const mounts = new ImageStore(engine.paths).rootfsMounts(r.Id);
  const lowers = lowerDirsOf(mounts).map((d) => BeneathDir.open(d));
  const opaque = lowers.map(() => new Map<string, boolean>());
  const isOpaque = (i: number, rel: string) => {
    let known = opaque[i]!.get(rel);
    if (known === undefined) opaque[i]!.set(rel, (known = isOverlayOpaque(lowers[i]!.dirXattr(rel, OVERLAY_OPAQUE_XATTR))));
    return known;
  };
  // overlay's lookup: a layer that has an ancestor of the path as a whiteout or a non-directory hides the layers
  // below it; one that has it as an opaque directory hides them once its own entries are looked at
  const inLower = (path: string) => {
    const parts = path.slice(1).split("/");
    for (const [i, lower] of lowers.entries()) {
      let hidesBelow = false;
      for (let n = 1; n < parts.length; n++) {
        const rel = parts.slice(0, n).join("/");
        const st = lower.lstatBeneath(rel);
        if (!st) break;
        if ((st.mode & S_IFMT) !== S_IFDIR) return false;
        if (isOpaque(i, rel)) hidesBelow = true;
      }
      const st = lower.lstatBeneath(path.slice(1));
      if (st) return !isOverlayWhiteout(st);
      if (hidesBelow) return false;
    }
    return false;
  };
  const placeholders = new Set((engine.store.spec(r.Id)?.mounts ?? []).map((m) => m.destination.replace(/\/+$/, "")));
  return { upper: writableDirOf(mounts), inLower, placeholders, close: () => lowers.forEach((l) => l.close()) };
}

/** The changes container `r` made to its image's files (its snapshot's upper directory against the image's layers). */
export function containerChanges(engine: Engine, r: ContainerRecord): Change[] {
  const layers = openContainerLayers(engine, r);
  try {
    const entries: UpperEntry[] = [];
    for (const e of entriesBeneath(layers.upper)) entries.push({ path: `/${e.rel}`, whiteout: isOverlayWhiteout(e), dir: (e.mode & S_IFMT) === S_IFDIR });
    return changesOf(entries, layers.inLower, layers.placeholders);
  } finally {
    layers.close();
  }
}
