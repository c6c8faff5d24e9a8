/**
 * The engine's images: the content store, the image index and the layer snapshots
 * behind one object — what pull, load and import write, what the image commands read,
 * and what the container engine calls (docs/images.md "For the container engine"):
 *
 * ```ts
 * const images = new ImageStore(enginePaths(flags));
 * const image = images.resolve("busybox");           // name, name@digest, or id (prefix)
 * const config = images.config(image);                // the OCI image config (Env, Cmd, …)
 * const mounts = images.prepareRootfs(id, image);     // the container's writable snapshot
 * mountSnapshot(mounts, `${bundle}/rootfs`);          // engine/snapshot/mount.ts
 * …
 * images.removeRootfs(id);                            // after unmountSnapshot
 * ```
 *
 * A container's snapshot is a child of its image's top layer, so neither `rmi` nor
 * `prune` can remove a layer a container stands on (the snapshotter refuses to remove a
 * snapshot with children), and `rmi` of an image a container uses is refused unless -f,
 * which then only drops its names, as docker does.
 */
import { BerthError } from "../../errors.ts";
import type { EnginePaths } from "../paths.ts";
import { ContentStore } from "../content/store.ts";
import { OverlaySnapshotter, SnapshotNotFoundError } from "../snapshot/overlay.ts";
import { EPHEMERAL_LABEL, TEMPORARY_PREFIX, writableDirOf, type Mount } from "../snapshot/snapshotter.ts";
import { parseImageConfig, type ImageConfig } from "../../spec/image-spec.ts";
import { ImageIndex, putImage, type ImageRecord } from "./index-store.ts";
import { familiarString, formatReference, looksLikeId, parseReference } from "./reference.ts";
import { recordEvent } from "../event-journal.ts";
import { applyLayer, LayerError } from "./unpack.ts";
import { chainIds } from "./layer-chain.ts";
import { startTimeOf } from "../../runtime/state.ts";

export type { ImageRecord, LayerRecord } from "./index-store.ts";

const CONTAINER_PREFIX = "container/";

/** No image by that name or id: the message says how to get one. */
export class NoSuchImageError extends BerthError {}

/** A layer to unpack: its blob, and the diff ID the config says it has. */
export interface LayerToUnpack {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

export class ImageStore {
  readonly content: ContentStore;
  readonly snapshots: OverlaySnapshotter;
  readonly index: ImageIndex;

  constructor(readonly paths: EnginePaths) {
    this.content = new ContentStore(paths.content);
    this.snapshots = new OverlaySnapshotter(paths.snapshots);
    this.index = new ImageIndex(paths.images);
  }

  list(): ImageRecord[] {
    return Object.values(this.index.read());
  }

  /** The image `ref` names: a reference (`busybox`, `host/app:1`, `app@sha256:…`), or an image id or a unique prefix of one. */
  resolve(ref: string): ImageRecord {
    const found = this.find(ref);
    if (!found) throw new NoSuchImageError(`no such image: ${ref}; pull it with \`berth pull ${ref}\` (berth images lists what is here)`);
    return found;
  }

  /** The image `ref` names, or undefined. */
  find(ref: string): ImageRecord | undefined {
    const images = Object.values(this.index.read());
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch (err) {
      if (!looksLikeId(ref)) throw err;
    }
    if (parsed) {
      if (parsed.digest) {
        const repo = `${parsed.domain}/${parsed.path}@${parsed.digest}`;
        const byDigest = images.find((i) => i.repoDigests.includes(repo) || (i.manifest === parsed.digest && i.names.some((n) => n.startsWith(`${parsed.domain}/${parsed.path}:`))));
        if (byDigest) return byDigest;
      } else {
        const full = formatReference(parsed);
        const byName = images.find((i) => i.names.includes(full));
        if (byName) return byName;
      }
    }
    if (looksLikeId(ref)) {
      const hex = ref.startsWith("sha256:") ? ref.slice(7) : ref;
      const matches = images.filter((i) => i.id.slice(7).startsWith(hex));
      if (matches.length > 1) throw new BerthError(`image id prefix ${ref} is ambiguous (${matches.length} images); give more of the id`);
      return matches[0];
    }
    return undefined;
  }

  config(image: ImageRecord): ImageConfig {
    return parseImageConfig(this.content.readBytes(image.id), `config of image ${image.id}`);
  }

  /**
   * Unpack `layers` (bottom first) into committed snapshots keyed by chain ID; layers
   * already unpacked (shared with another image) are skipped. Each layer is unpacked into
   * an active snapshot under a temporary key and committed only when its diff ID matches,
   * so an interrupted or failed unpack leaves no committed layer behind — and the
   * temporary snapshot is removed (or, after a kill, by the next pull: `cleanStale`).
   * `onLayer(i)` is called as each is done. Returns the chain IDs.
   */
  async unpackLayers(layers: LayerToUnpack[], what: string, onLayer?: (i: number, skipped: boolean) => void): Promise<string[]> {
    const chain = chainIds(layers.map((l) => l.diffId));
    for (let i = 0; i < layers.length; i++) {
      await this.unpackLayer(layers[i]!, chain, i, `layer ${i + 1}/${layers.length} (${layers[i]!.digest.slice(0, 19)}) of ${what}`, onLayer);
    }
    return chain;
  }

  /**
   * Unpack layer `i` of a chain whose layers below are committed already — from its blob,
   * or from `from.source` (the bytes as they download), in which case nothing is committed
   * before `from.verified` (the blob's digest checked) resolves.
   */
  async unpackLayer(layer: LayerToUnpack, chain: string[], i: number, what: string, onLayer?: (i: number, skipped: boolean) => void,
    from?: { source: ReadableStream<Uint8Array>; verified: Promise<void> }): Promise<void> {
    const key = chain[i]!;
    if (this.snapshots.stat(key)?.kind === "committed") {
      onLayer?.(i, true);
      return;
    }
    const temp = extractKey(key);
    const mounts = this.snapshots.prepare(temp, i === 0 ? undefined : chain[i - 1], { "berth/pid": String(process.pid) });
    try {
      const applied = await applyLayer(from?.source ?? this.content.stream(layer.digest), writableDirOf(mounts), what);
      if (from) await from.verified;
      if (applied.diffId !== layer.diffId) {
        throw new LayerError(`${what}: its uncompressed digest is ${applied.diffId} but the image config's rootfs.diff_ids says ${layer.diffId}; the image is corrupt`);
      }
      try {
        this.snapshots.commit(key, temp, { "berth/unpacked-size": String(applied.size) });
      } catch (err) {
        // unpacked meanwhile by a parallel pull of an image sharing the layer
        if (this.snapshots.stat(key)?.kind !== "committed") throw err;
        this.snapshots.remove(temp);
      }
    } catch (err) {
      try {
        this.snapshots.remove(temp);
      } catch {
        // not there
      }
      throw err;
    }
    onLayer?.(i, false);
  }

  /**
   * Record an image whose config, manifest and layer blobs are in the content store and
   * whose layers are unpacked; give it `names` (full references). Returns the record.
   */
  addImage(image: Omit<ImageRecord, "names" | "repoDigests" | "stored">, names: string[], repoDigests: string[] = []): ImageRecord {
    // the layers' commits reach the disk before the record that relies on them
    this.snapshots.sync();
    return this.index.update((images) => putImage(images, { ...image, names: [], repoDigests: [], stored: new Date().toISOString() }, names, repoDigests));
  }

  /** `tag SRC DST`: give the image `source` names the name `target` too. */
  tag(source: string, target: string): void {
    const image = this.resolve(source);
    const ref = parseReference(target);
    if (ref.digest) throw new BerthError(`target ${target} has a digest; a tag names an image by tag only`, { field: "TARGET_IMAGE" });
    this.index.update((images) => putImage(images, images[image.id] ?? image, [formatReference(ref)]));
    recordEvent(this.paths, "image", "tag", image.id, { name: familiarString(formatReference(ref)) });
  }

  /** The containers' snapshots standing on each image's top layer: image id → container ids. */
  containersByImage(): Map<string, string[]> {
    const tops = new Map<string, string>();
    for (const img of this.list()) if (img.chainIds.length > 0) tops.set(img.chainIds.at(-1)!, img.id);
    const out = new Map<string, string[]>();
    for (const s of this.snapshots.list()) {
      if (!s.key.startsWith(CONTAINER_PREFIX)) continue;
      const image = s.labels["berth/image"] ?? (s.parent ? tops.get(s.parent) : undefined);
      if (!image) continue;
      out.set(image, [...(out.get(image) ?? []), s.key.slice(CONTAINER_PREFIX.length)]);
    }
    return out;
  }

  /**
   * `rmi REF`: untag `ref`; when the image then has no names (or `ref` was its id) remove
   * it and whatever of it nothing else uses. Returns docker's lines ("Untagged: …",
   * "Deleted: …"). An image a container uses is refused without `force`; with it, only
   * its names go.
   */
  removeImage(ref: string, force = false): string[] {
    return this.index.locked(() => {
      const image = this.resolve(ref);
      const untagged: string[] = [];
      const byId = !image.names.some((n) => n === safeFormat(ref)) && looksLikeId(ref);
      const users = this.containersByImage().get(image.id) ?? [];
      const removeWhole = byId || image.names.length <= 1;
      if (removeWhole && users.length > 0 && !force) {
        throw new BerthError(`image ${ref} is used by container ${users[0]!.slice(0, 12)}${users.length > 1 ? ` and ${users.length - 1} more` : ""}; remove the container first, or use -f to untag it`);
      }
      if (byId && image.names.length > 1 && !force) {
        throw new BerthError(`image ${image.id.slice(7, 19)} has ${image.names.length} names (${image.names.map(familiarString).join(", ")}); remove them by name, or use -f`);
      }
      const untag = byId ? image.names : image.names.filter((n) => n === safeFormat(ref));
      let deleted = false;
      this.index.update((images) => {
        const rec = images[image.id];
        if (!rec) return;
        rec.names = rec.names.filter((n) => !untag.includes(n));
        for (const n of untag) untagged.push(familiarString(n));
        if (rec.names.length === 0 && users.length === 0) {
          for (const d of rec.repoDigests) untagged.push(familiarString(d));
          delete images[image.id];
          deleted = true;
        }
      });
      if (deleted) this.collectGarbage();
      this.recordRemoval(image.id, untagged, deleted);
      return [...untagged.map((name) => `Untagged: ${name}`), ...(deleted ? [`Deleted: ${image.id}`] : [])];
    });
  }

  /**
   * `image prune`: remove dangling images (no names), or with `all` every image no
   * container uses, then whatever of them nothing else uses. docker's lines
   * ("untagged: …", "deleted: sha256:…") and the bytes reclaimed.
   */
  pruneImages(all: boolean, selected: (image: ImageRecord) => boolean = () => true): { lines: string[]; reclaimed: number } {
    return this.index.locked(() => {
      const used = this.containersByImage();
      const removed: { id: string; untagged: string[] }[] = [];
      this.index.update((images) => {
        for (const image of Object.values(images)) {
          if (used.has(image.id) || (!all && image.names.length > 0) || !selected(image)) continue;
          removed.push({ id: image.id, untagged: [...image.names, ...image.repoDigests].map(familiarString) });
          delete images[image.id];
        }
      });
      const reclaimed = removed.length ? this.collectGarbage() : 0;
      for (const r of removed) this.recordRemoval(r.id, r.untagged, true);
      return { lines: removed.flatMap((r) => [...r.untagged.map((name) => `untagged: ${name}`), `deleted: ${r.id}`]), reclaimed };
    });
  }

  /** docker's events of an image's removal (rmi's, prune's): untag for each name it lost, then delete when it went. */
  private recordRemoval(id: string, untagged: string[], deleted: boolean): void {
    for (const name of untagged) recordEvent(this.paths, "image", "untag", id, { name });
    if (deleted) recordEvent(this.paths, "image", "delete", id, { name: id });
  }

  /**
   * Remove what no image and no container uses: committed layer snapshots outside every
   * image's chain (and without children), unpack snapshots of dead processes, blobs no
   * image refers to, and abandoned ingests. Returns the bytes freed (blobs, and layers' unpacked sizes).
   */
  collectGarbage(): number {
    this.cleanStale();
    const images = this.list();
    const chains = new Set(images.flatMap((i) => i.chainIds));
    let freed = 0;
    // top down: removing a layer may free the one below it
    for (let again = true; again;) {
      again = false;
      const all = this.snapshots.list();
      const parents = new Set(all.map((s) => s.parent).filter((p) => p !== undefined));
      for (const s of all) {
        if (s.kind !== "committed" || chains.has(s.key) || parents.has(s.key)) continue;
        this.snapshots.remove(s.key);
        freed += Number(s.labels["berth/unpacked-size"] ?? 0);
        again = true;
      }
    }
    const blobs = new Set(images.flatMap((i) => [i.id, i.manifest, ...i.layers.map((l) => l.digest)]));
    for (const d of this.content.list()) {
      if (blobs.has(d)) continue;
      freed += this.content.size(d) ?? 0;
      this.content.delete(d);
    }
    this.content.cleanIngests(true);
    return freed;
  }

  /** Remove unpack snapshots whose process is gone (a killed pull) and unrecorded snapshot directories. */
  cleanStale(): void {
    for (const s of this.snapshots.list()) {
      if (!s.key.startsWith(TEMPORARY_PREFIX)) continue;
      const [pid, start] = s.key.slice(TEMPORARY_PREFIX.length).split("-").map(Number);
      if (pid !== undefined && startTimeOf(pid) === start && start !== 0) continue;
      try {
        this.snapshots.remove(s.key);
      } catch {
        // removed meanwhile
      }
    }
    this.snapshots.cleanOrphans();
  }

  // ---- the container engine's rootfs ---------------------------------------------------

  /**
   * A writable snapshot for container `id` over `image`'s layers: how to mount it (an
   * overlay with the container's upper and work dirs; a bind mount for an image without
   * layers). Marks the layers in use until removeRootfs. `ephemeral`: a --rm container's,
   * made and removed without flushing (EPHEMERAL_LABEL).
   */
  prepareRootfs(id: string, image: ImageRecord, ephemeral = false): Mount[] {
    return this.snapshots.prepare(`${CONTAINER_PREFIX}${id}`, image.chainIds.at(-1), { "berth/image": image.id, ...(ephemeral && { [EPHEMERAL_LABEL]: "true" }) });
  }

  /** The mounts of container `id`'s rootfs (prepared earlier). */
  rootfsMounts(id: string): Mount[] {
    return this.snapshots.mounts(`${CONTAINER_PREFIX}${id}`);
  }

  /** Remove container `id`'s snapshot (unmount it first); its layers are no longer in use by it. Nothing there is fine. */
  removeRootfs(id: string): void {
    try {
      this.snapshots.remove(`${CONTAINER_PREFIX}${id}`);
    } catch (err) {
      if (!(err instanceof SnapshotNotFoundError)) throw err;
    }
  }

  /**
   * Remove the snapshots of containers that are gone (`exists(id)` false): what a crash
   * left of an ephemeral snapshot whose removal was not flushed, which would hold its
   * image's layers forever. For the reboot check: nothing is mounted then.
   */
  removeRootfsOfGone(exists: (id: string) => boolean): void {
    for (const s of this.snapshots.list()) {
      if (s.key.startsWith(CONTAINER_PREFIX) && !exists(s.key.slice(CONTAINER_PREFIX.length))) this.removeRootfs(s.key.slice(CONTAINER_PREFIX.length));
    }
  }

  /** The uncompressed size of a committed layer snapshot (recorded when it was unpacked). */
  unpackedLayerSize(chainId: string): number | undefined {
    const v = this.snapshots.stat(chainId)?.labels["berth/unpacked-size"];
    return v === undefined ? undefined : Number(v);
  }

  /** Unpacked size of an image: the sum of its layers' uncompressed tars. */
  unpackedSize(image: ImageRecord): number {
    return image.layers.reduce((sum, l) => sum + (l.unpackedSize ?? l.size), 0);
  }
}

/** The key of a snapshot being unpacked by this process: `cleanStale` removes it once the process is gone. */
export function extractKey(what: string): string {
  return `${TEMPORARY_PREFIX}${process.pid}-${startTimeOf(process.pid)}-${Math.random().toString(36).slice(2, 8)} ${what}`;
}

function safeFormat(ref: string): string | undefined {
  try {
    return formatReference(parseReference(ref));
  } catch {
    return undefined;
  }
}
