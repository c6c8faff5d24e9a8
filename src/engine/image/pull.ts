/**
 * `berth pull`: an image from a registry into the store.
 *
 * The manifest (or the index, then the host's or `--platform`'s manifest) and the config
 * are fetched first; then the layers download three at a time, as docker's, each into
 * the content store with its digest checked as it streams, and each is unpacked as its
 * bytes arrive (following the download), in order — a layer is committed only once its
 * blob's digest and its own diff ID have been checked. A connection
 * that drops mid-blob is retried from the bytes already written (Range), and a pull that
 * fails for good keeps those bytes for the next one. Nothing is visible before it is
 * verified: a blob only after its digest matched, a layer only after its diff ID matched,
 * the image only after every layer is committed.
 */
import { BerthError } from "../../errors.ts";
import { lockPath } from "../../sys/lock-file.ts";
import { mkdirParents } from "../../sys/libc.ts";
import { documentKind, parseImageConfig, parseIndex, parseManifest, type Descriptor, type ImageManifest, type Platform } from "../../spec/image-spec.ts";
import { DigestMismatchError, IngestRestartedError, sha256Digest, type Ingest } from "../content/store.ts";
import type { ImageRecord, ImageStore, LayerToUnpack } from "./image-store.ts";
import { chainIds } from "./layer-chain.ts";
import { formatPlatform, hostPlatform, offeredPlatforms, selectManifest } from "./platform.ts";
import { familiarString, formatReference, parseReference, repositoryName, type ImageReference } from "./reference.ts";
import { recordEvent } from "../event-journal.ts";
import { RegistryClient, RegistryError, type RegistryOptions } from "./registry.ts";

/** What a pull reports as it goes (docker's statuses), for the progress display. */
export type PullEvent =
  | { kind: "start"; reference: string }
  | { kind: "layer"; id: string; status: "Already exists" | "Pulling fs layer" | "Waiting" | "Downloading" | "Verifying Checksum" | "Download complete" | "Extracting" | "Pull complete" | "Retrying"; current?: number; total?: number }
  | { kind: "done"; digest: string; upToDate: boolean; reference: string };

export interface PullOptions extends RegistryOptions {
  platform?: Platform;
  onEvent?: (e: PullEvent) => void;
  /** attempts per blob before giving up (default 5) */
  attempts?: number;
}

const PARALLEL_DOWNLOADS = 3;

/** A layer's short id in progress lines: 12 hex digits of its digest, as docker's. */
export const shortId = (digest: string) => digest.slice(7, 19);

export async function pullImage(store: ImageStore, refText: string, options: PullOptions = {}): Promise<ImageRecord> {
  const ref = parseReference(refText);
  const name = formatReference(ref);
  const emit = options.onEvent ?? (() => {});
  // parallel pulls of one repository wait for each other; of different ones run side by side
  mkdirParents(`${store.paths.images}/pull-locks`, 0o700);
  const lock = lockPath(`${store.paths.images}/pull-locks/${sha256Digest(repositoryName(ref)).slice(7, 23)}.lock`, { create: true });
  try {
    store.cleanStale();
    emit({ kind: "start", reference: name });
    const client = new RegistryClient(ref.domain, options);
    const want = options.platform ?? hostPlatform();
    const { manifest, manifestDigest, manifestBytes, manifestMediaType, topDigest } = await resolveManifest(client, ref, name, want);
    const hadConfig = store.content.has(manifest.config.digest);
    const config = await fetchConfig(store, client, ref, manifest, name, options.attempts ?? 5);
    if (config.os !== want.os || config.architecture !== want.architecture) {
      if (!hadConfig) store.content.delete(manifest.config.digest);
      throw new BerthError(`${name}: the image is for ${config.os}/${config.architecture}${config.variant ? `/${config.variant}` : ""}, not ${formatPlatform(want)}; pull with --platform ${config.os}/${config.architecture} to get it anyway`);
    }
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new BerthError(`${name}: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids; the image is corrupt`);
    }
    store.content.putBytes(manifestBytes);
    const chain = chainIds(diffIds);
    const existing = store.list().find((i) => i.id === manifest.config.digest);
    const upToDate = existing !== undefined && chain.every((c) => store.snapshots.stat(c)?.kind === "committed") && existing.names.includes(name);
    const layers: LayerToUnpack[] = manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]! }));
    await fetchAndUnpack(store, client, ref, layers, chain, name, emit, options.attempts ?? 5);
    const image = store.addImage({
      id: manifest.config.digest, manifest: manifestDigest, manifestMediaType,
      layers: layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: l.diffId, unpackedSize: store.unpackedLayerSize(chain[i]!) })),
      chainIds: chain,
    }, ref.tag !== undefined ? [formatReference({ domain: ref.domain, path: ref.path, tag: ref.tag })] : [], [`${repositoryName(ref)}@${topDigest}`]);
    emit({ kind: "done", digest: topDigest, upToDate, reference: name });
    // docker's pull event: the reference pulled, by name (also for run's pull)
    recordEvent(store.paths, "image", "pull", familiarString(name), { name: familiarString(repositoryName(ref)) });
    return image;
  } finally {
    lock.release();
  }
}

async function resolveManifest(client: RegistryClient, ref: ImageReference, name: string, want: Platform) {
  const top = await client.manifest(ref.path, ref.digest ?? ref.tag ?? "latest", name);
  const doc = JSON.parse(new TextDecoder().decode(top.bytes));
  const kind = documentKind(doc, top.mediaType);
  if (kind === "unknown") throw new BerthError(`${name}: the registry sent a ${top.mediaType || "document"} that is neither an image manifest nor an index (schema 1 manifests are not supported)`);
  if (kind === "manifest") {
    return { manifest: parseManifest(top.bytes, `manifest of ${name}`), manifestDigest: top.digest, manifestBytes: top.bytes, manifestMediaType: doc.mediaType ?? top.mediaType, topDigest: top.digest };
  }
  const index = parseIndex(top.bytes, `index of ${name}`);
  const chosen = selectManifest(index.manifests, want);
  if (!chosen) {
    const offered = offeredPlatforms(index.manifests);
    throw new BerthError(`${name}: no image for ${formatPlatform(want)} (it has ${offered.length ? offered.join(", ") : "no platforms"}); choose one with --platform`);
  }
  const m = await client.manifest(ref.path, chosen.digest, name);
  return { manifest: parseManifest(m.bytes, `manifest ${chosen.digest} of ${name}`), manifestDigest: m.digest, manifestBytes: m.bytes, manifestMediaType: JSON.parse(new TextDecoder().decode(m.bytes)).mediaType ?? m.mediaType ?? chosen.mediaType, topDigest: top.digest };
}

async function fetchConfig(store: ImageStore, client: RegistryClient, ref: ImageReference, manifest: ImageManifest, name: string, attempts: number) {
  const d = manifest.config;
  if (!store.content.has(d.digest)) await downloadBlob(store, client, ref, d, `config ${d.digest} of ${name}`, attempts, () => {});
  return parseImageConfig(store.content.readBytes(d.digest), `config ${d.digest} of ${name}`);
}

/**
 * Download a blob into the content store, resuming after a dropped connection: up to
 * `attempts` tries, each from the bytes already written. `progress(bytesSoFar)`.
 */
async function downloadBlob(store: ImageStore, client: RegistryClient, ref: ImageReference, desc: Descriptor, what: string, attempts: number,
  progress: (n: number, retrying?: boolean) => void, onIngest?: (ingest: Ingest) => void): Promise<void> {
  const ingest = store.content.ingest({ digest: desc.digest, size: desc.size }, what);
  if (ingest.done) {
    ingest.commit();
    return;
  }
  onIngest?.(ingest);
  let lastErr: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const { body, resumed } = await client.blob(ref.path, desc.digest, ingest.size, what);
      if (!resumed && ingest.size > 0) ingest.truncate();
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        ingest.write(chunk);
        progress(ingest.size);
      }
      if (ingest.size < desc.size) throw new Error(`the connection ended after ${ingest.size} of ${desc.size} bytes`);
      ingest.commit();
      return;
    } catch (err) {
      if (err instanceof DigestMismatchError) throw err;
      const code = (err as { code?: string }).code;
      if (code === "ENOSPC" || code === "EDQUOT") {
        ingest.abort();
        throw new BerthError(`${what}: no space left on the device while downloading it; free space under the store (--root) and pull again`, { cause: err });
      }
      if (err instanceof RegistryError && err.status !== undefined && err.status < 500) {
        ingest.keep();
        throw err;
      }
      lastErr = err;
      progress(ingest.size, true);
      await Bun.sleep(Math.min(200 * 2 ** attempt, 2000));
    }
  }
  ingest.keep();
  const why = (lastErr as { code?: string; message?: string })?.code ?? (lastErr as Error)?.message ?? String(lastErr);
  throw new RegistryError(`${what}: download failed ${attempts} times (${why}); the ${ingest.size} bytes fetched are kept — pull again to resume`, undefined, undefined, { cause: lastErr });
}

async function fetchAndUnpack(store: ImageStore, client: RegistryClient, ref: ImageReference, layers: LayerToUnpack[], chain: string[], name: string, emit: (e: PullEvent) => void, attempts: number): Promise<void> {
  const needed = layers.map((_, i) => store.snapshots.stat(chain[i]!)?.kind !== "committed");
  for (let i = 0; i < layers.length; i++) {
    const id = shortId(layers[i]!.digest);
    emit({ kind: "layer", id, status: needed[i] ? "Pulling fs layer" : "Already exists" });
  }
  let running = 0;
  const queue: (() => void)[] = [];
  let failed = false;
  const slot = async () => {
    if (running < PARALLEL_DOWNLOADS) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => queue.push(resolve));
  };
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else running--;
  };
  // each layer's ingest once its download has started: unpacking follows it as it grows
  const started = layers.map(() => Promise.withResolvers<Ingest | undefined>());
  const downloads = layers.map(async (layer, i) => {
    try {
      if (!needed[i]) return;
      const id = shortId(layer.digest);
      if (store.content.has(layer.digest)) {
        emit({ kind: "layer", id, status: "Download complete" });
        return;
      }
      await slot();
      try {
        if (failed) throw new Error("another layer failed");
        emit({ kind: "layer", id, status: "Downloading", current: 0, total: layer.size });
        await downloadBlob(store, client, ref, layer, `layer ${i + 1}/${layers.length} (${layer.digest}) of ${name}`, attempts, (n, retrying) =>
          emit({ kind: "layer", id, status: retrying ? "Retrying" : "Downloading", current: n, total: layer.size }), (ingest) => started[i]!.resolve(ingest));
        emit({ kind: "layer", id, status: "Download complete" });
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        release();
      }
    } finally {
      started[i]!.resolve(undefined); // no ingest to follow (or the download is over)
    }
  });
  for (const d of downloads) d.catch(() => {}); // awaited below, in order
  try {
    for (let i = 0; i < layers.length; i++) {
      if (!needed[i]) {
        await downloads[i];
        continue;
      }
      const id = shortId(layers[i]!.digest);
      const what = `layer ${i + 1}/${layers.length} (${layers[i]!.digest.slice(0, 19)}) of ${name}`;
      const ingest = await started[i]!.promise;
      if (ingest?.open) {
        // unpack while it downloads; committed only once its digest is checked. The
        // statuses stay docker's order: Extracting once the download is complete
        downloads[i]!.then(() => emit({ kind: "layer", id, status: "Extracting" }), () => {});
        try {
          await store.unpackLayer(layers[i]!, chain, i, what, undefined, { source: ingest.follow(), verified: downloads[i]! });
        } catch (err) {
          // the download's own failure says more than "the bytes stopped"
          const downloadErr = await downloads[i]!.then(() => undefined, (e: unknown) => e);
          if (downloadErr !== undefined) throw downloadErr;
          if (!(err instanceof IngestRestartedError)) throw err;
          await store.unpackLayer(layers[i]!, chain, i, what);
        }
      } else {
        await downloads[i];
        emit({ kind: "layer", id, status: "Extracting" });
        await store.unpackLayer(layers[i]!, chain, i, what);
      }
      emit({ kind: "layer", id, status: "Pull complete" });
    }
  } catch (err) {
    failed = true;
    await Promise.allSettled(downloads);
    throw err;
  }
}
