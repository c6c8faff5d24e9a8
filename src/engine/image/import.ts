/**
 * `berth import`: an image of one layer from a root filesystem tarball (plain, gzip or
 * zstd), as docker import: the tarball is stored as the layer blob as it came, its
 * uncompressed digest becomes the one diff ID, and the config carries the host's
 * platform and the `--change` instructions. `berth commit` adds a layer the same way, on
 * top of the container's image.
 */
import { BerthError } from "../../errors.ts";
import { MEDIA, type ImageConfig, type ImageManifest } from "../../spec/image-spec.ts";
import { applyChanges } from "./change.ts";
import { extractKey, type ImageRecord, type ImageStore } from "./image-store.ts";
import { hostPlatform } from "./platform.ts";
import { formatReference, parseReference } from "./reference.ts";
import { applyLayer } from "./unpack.ts";
import { sniffCompression } from "./compression.ts";
import { writableDirOf } from "../snapshot/snapshotter.ts";
import { chainIds } from "./layer-chain.ts";
import { recordEvent } from "../event-journal.ts";

export interface ImportOptions {
  /** the name to give it (REF), if any */
  reference?: string;
  changes?: string[];
  /** docker's history comment: "Imported from FILE" */
  source: string;
  message?: string;
}

export async function importRootfs(store: ImageStore, input: ReadableStream<Uint8Array>, options: ImportOptions): Promise<ImageRecord> {
  const processConfig = applyChanges({}, options.changes ?? []);
  const image = await addLayerImage(store, input as unknown as AsyncIterable<Uint8Array>, {
    reference: options.reference, processConfig, source: `import from ${options.source}`,
    history: { created_by: "", comment: options.message ?? `Imported from ${options.source}` },
  });
  recordEvent(store.paths, "image", "import", image.id, { name: image.id });
  return image;
}

export interface LayerImageOptions {
  /** the name to give it (REF), if any */
  reference?: string;
  /** the image the layer goes on top of (commit); none: the layer is the whole image (import) */
  base?: ImageRecord;
  /** the new image's process config (Cmd, Env, …) */
  processConfig: ImageConfig["config"];
  /** what reads the layer, for errors: "import from FILE", "commit of CONTAINER" */
  source: string;
  /** the new history entry (created is now) */
  history: { created_by: string; comment?: string; author?: string };
  author?: string;
  comment?: string;
}

/**
 * An image of `base`'s layers (none for import) plus one layer read from `input` (a tar,
 * plain, gzip or zstd, stored as it came): the layer is unpacked into a snapshot on
 * `base`'s top one and committed under its chain ID; the config is `base`'s with the new
 * diff ID, history entry and process config. Nothing is left when it fails.
 */
export async function addLayerImage(store: ImageStore, input: AsyncIterable<Uint8Array>, options: LayerImageOptions): Promise<ImageRecord> {
  // check what can be checked before reading anything
  const name = options.reference === undefined ? undefined : formatReference(parseReference(options.reference));
  const baseConfig = options.base ? store.config(options.base) : undefined;
  const ingest = store.content.ingest(undefined, options.source);
  try {
    for await (const chunk of input) ingest.write(chunk);
  } catch (err) {
    ingest.abort();
    throw new BerthError(`${options.source}: reading failed (${(err as Error).message})`, { cause: err });
  }
  const blob = ingest.commit();
  const fresh = ingest.fresh;
  const key = extractKey(options.base ? "commit" : "import");
  const parentChain = options.base?.chainIds.at(-1);
  const mounts = store.snapshots.prepare(key, parentChain, { "berth/pid": String(process.pid) });
  try {
    const applied = await applyLayer(store.content.stream(blob), writableDirOf(mounts), options.source);
    const platform = hostPlatform();
    const now = new Date().toISOString();
    const diffIds = [...(baseConfig?.rootfs.diff_ids ?? []), applied.diffId];
    // the new image's author and comment are its own, not its base's
    const { author: _author, comment: _comment, ...inherited }: Partial<ImageConfig> = baseConfig ?? { architecture: platform.architecture, os: platform.os, ...(platform.variant && { variant: platform.variant }) };
    const config: ImageConfig = {
      architecture: platform.architecture, os: platform.os,
      ...inherited,
      created: now,
      ...(options.author !== undefined && { author: options.author }),
      ...(options.comment !== undefined && { comment: options.comment }),
      config: options.processConfig,
      rootfs: { type: "layers", diff_ids: diffIds },
      history: [...(baseConfig?.history ?? []), { created: now, ...options.history }],
    };
    const configDigest = store.content.putBytes(JSON.stringify(config));
    const c = sniffCompression(store.content.head(blob, 4));
    const mediaType = c === "gzip" ? MEDIA.ociLayerGzip : c === "zstd" ? MEDIA.ociLayerZstd : MEDIA.ociLayer;
    const size = store.content.size(blob)!;
    const layers = [...(options.base?.layers ?? []), { digest: blob, mediaType, size, diffId: applied.diffId, unpackedSize: applied.size }];
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: store.content.size(configDigest)! },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifestDigest = store.content.putBytes(JSON.stringify(manifest));
    const chain = chainIds(diffIds);
    const chainId = chain.at(-1)!;
    if (store.snapshots.stat(chainId)?.kind === "committed") store.snapshots.remove(key);
    else store.snapshots.commit(chainId, key, { "berth/unpacked-size": String(applied.size) });
    return store.addImage({ id: configDigest, manifest: manifestDigest, manifestMediaType: MEDIA.ociManifest, layers, chainIds: chain }, name ? [name] : []);
  } catch (err) {
    try {
      store.snapshots.remove(key);
    } catch {
      // committed or gone
    }
    if (fresh) store.content.delete(blob);
    throw err;
  }
}
