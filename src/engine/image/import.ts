/**
 * `berth import`: an image of one layer from a root filesystem tarball (plain, gzip or
 * zstd), as docker import: the tarball is stored as the layer blob as it came, its
 * uncompressed digest becomes the one diff ID, and the config carries the host's
 * platform and the `--change` instructions.
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

export interface ImportOptions {
  /** the name to give it (REF), if any */
  reference?: string;
  changes?: string[];
  /** docker's history comment: "Imported from FILE" */
  source: string;
  message?: string;
}

export async function importRootfs(store: ImageStore, input: ReadableStream<Uint8Array>, options: ImportOptions): Promise<ImageRecord> {
  // check what can be checked before reading anything
  const name = options.reference === undefined ? undefined : formatReference(parseReference(options.reference));
  const processConfig = applyChanges({}, options.changes ?? []);
  const ingest = store.content.ingest(undefined, `import from ${options.source}`);
  try {
    for await (const chunk of input as unknown as AsyncIterable<Uint8Array>) ingest.write(chunk);
  } catch (err) {
    ingest.abort();
    throw new BerthError(`import from ${options.source}: reading failed (${(err as Error).message})`, { cause: err });
  }
  const blob = ingest.commit();
  const fresh = ingest.fresh;
  const key = extractKey("import");
  const mounts = store.snapshots.prepare(key, undefined, { "berth/pid": String(process.pid) });
  try {
    const applied = await applyLayer(store.content.stream(blob), writableDirOf(mounts), `import from ${options.source}`);
    const platform = hostPlatform();
    const now = new Date().toISOString();
    const config: ImageConfig = {
      created: now, architecture: platform.architecture, os: platform.os, ...(platform.variant && { variant: platform.variant }),
      config: processConfig,
      rootfs: { type: "layers", diff_ids: [applied.diffId] },
      history: [{ created: now, created_by: "", comment: options.message ?? `Imported from ${options.source}` }],
    };
    const configDigest = store.content.putBytes(JSON.stringify(config));
    const c = sniffCompression(store.content.head(blob, 4));
    const mediaType = c === "gzip" ? MEDIA.ociLayerGzip : c === "zstd" ? MEDIA.ociLayerZstd : MEDIA.ociLayer;
    const size = store.content.size(blob)!;
    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: store.content.size(configDigest)! },
      layers: [{ mediaType, digest: blob, size }],
    };
    const manifestDigest = store.content.putBytes(JSON.stringify(manifest));
    const chainId = applied.diffId;
    if (store.snapshots.stat(chainId)?.kind === "committed") store.snapshots.remove(key);
    else store.snapshots.commit(chainId, key, { "berth/unpacked-size": String(applied.size) });
    return store.addImage({
      id: configDigest, manifest: manifestDigest, manifestMediaType: MEDIA.ociManifest,
      layers: [{ digest: blob, mediaType, size, diffId: applied.diffId, unpackedSize: applied.size }], chainIds: [chainId],
    }, name ? [name] : []);
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
