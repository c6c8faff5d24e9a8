/**
 * `berth load`: images from a docker-archive (`docker save`: manifest.json, a config
 * JSON and a tar per layer) or an oci-archive (an OCI image layout in a tar: oci-layout,
 * index.json, blobs/sha256/…), gzip, zstd or plain. The archive is read once, as a
 * stream: every blob goes into the content store as it passes (verified against its name
 * where the name is a digest), the JSON documents are kept in memory; then the images
 * the archive's manifest or index names are unpacked and recorded. What a failed load
 * wrote — blobs no image uses, layers it committed — is removed again.
 */
import { BerthError } from "../../errors.ts";
import { MEDIA, documentKind, parseImageConfig, parseIndex, parseManifest, type Descriptor, type ImageManifest } from "../../spec/image-spec.ts";
import { sha256Digest } from "../content/store.ts";
import { decompressed, sniffCompression } from "./compression.ts";
import type { ImageRecord, ImageStore, LayerToUnpack } from "./image-store.ts";
import { familiarString, formatReference, parseReference } from "./reference.ts";
import { recordEvent } from "../event-journal.ts";
import { hostPlatform, selectManifest } from "./platform.ts";
import { readTar } from "./tar-reader.ts";
import { chainIds } from "./layer-chain.ts";

/** A file of the archive: its blob digest (large files) or its bytes (JSON documents). */
interface ArchiveFile {
  digest?: string;
  bytes?: Uint8Array;
}

const IN_MEMORY = /(^|\/)(manifest\.json|index\.json|oci-layout|repositories|VERSION|json|[a-f0-9]{64}\.json)$/;

export interface LoadedImage {
  image: ImageRecord;
  /** the full names given (docker.io/library/busybox:latest) */
  names: string[];
}

/**
 * Load every image of the archive `source` (`what` names it in errors: the file, or
 * "stdin"). Returns what was loaded.
 */
export async function loadArchive(store: ImageStore, source: ReadableStream<Uint8Array>, what: string): Promise<LoadedImage[]> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const created = new Set<string>();
  const committed: string[] = [];
  try {
    const { stream } = await decompressed(source);
    try {
      for await (const { header, body } of readTar(stream)) {
        const name = normalize(header.name);
        if (header.type === "symlink" || header.type === "link") {
          links.set(name, header.type === "symlink" ? normalize(joinRelative(name, header.linkname ?? "")) : normalize(header.linkname ?? ""));
          continue;
        }
        if (header.type !== "file" && header.type !== "contiguous-file") continue;
        if (IN_MEMORY.test(name) && (header.size ?? 0) <= 16 << 20) {
          const chunks: Uint8Array[] = [];
          for await (const c of body) chunks.push(c);
          files.set(name, { bytes: Buffer.concat(chunks) });
          continue;
        }
        const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
        const expected = m ? { digest: `sha256:${m[1]}`, size: header.size } : undefined;
        const ingest = store.content.ingest(expected, `${what}: ${name}`);
        if (ingest.done) {
          for await (const _ of body);
          ingest.commit();
          files.set(name, { digest: expected!.digest });
          continue;
        }
        if (ingest.offset > 0) ingest.truncate();
        try {
          for await (const c of body) ingest.write(c);
        } catch (err) {
          ingest.abort();
          throw err;
        }
        const digest = ingest.commit();
        if (ingest.fresh) created.add(digest);
        files.set(name, { digest });
      }
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError(`${what}: not a readable image archive (${(err as Error).message}); the file is truncated or corrupt — save it again`, { cause: err });
    }
    const resolve = (name: string): ArchiveFile | undefined => {
      let n = normalize(name);
      for (let hops = 0; hops < 16 && !files.has(n) && links.has(n); hops++) n = links.get(n)!;
      return files.get(n);
    };
    const images = files.has("manifest.json") ? dockerArchiveImages(resolve, what) : ociArchiveImages(store, resolve, what);
    const out: LoadedImage[] = [];
    for (const img of images) out.push(await storeImage(store, img, what, committed, created));
    // docker's load event: each image by its first name, else its id
    for (const l of out) {
      const name = l.names[0] ? familiarString(l.names[0]) : l.image.id;
      recordEvent(store.paths, "image", "load", name, { name });
    }
    return out;
  } catch (err) {
    // what this load made and no image uses
    for (const key of committed.reverse()) {
      try {
        store.snapshots.remove(key);
      } catch {
        // in use by an image loaded meanwhile
      }
    }
    const used = new Set(store.list().flatMap((i) => [i.id, i.manifest, ...i.layers.map((l) => l.digest)]));
    for (const d of created) if (!used.has(d)) store.content.delete(d);
    throw err;
  }
}

/** An image found in an archive, its blobs in the content store. */
interface ArchiveImage {
  manifest: ImageManifest;
  manifestDigest: string;
  manifestMediaType: string;
  names: string[];
}

function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

function joinRelative(from: string, target: string): string {
  const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/")) : "";
  const parts = (target.startsWith("/") ? target.slice(1) : dir ? `${dir}/${target}` : target).split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "..") out.pop();
    else if (p !== "." && p !== "") out.push(p);
  }
  return out.join("/");
}

function bytesOf(file: ArchiveFile | undefined, name: string, what: string, store?: ImageStore): Uint8Array {
  if (file?.bytes) return file.bytes;
  if (file?.digest && store) return store.content.readBytes(file.digest);
  throw new BerthError(`${what}: ${name} is missing from the archive; it is truncated or not an image archive`);
}

function dockerArchiveImages(resolve: (n: string) => ArchiveFile | undefined, what: string): ArchiveImage[] {
  const doc = JSON.parse(new TextDecoder().decode(bytesOf(resolve("manifest.json"), "manifest.json", what))) as { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
  if (!Array.isArray(doc)) throw new BerthError(`${what}: manifest.json is not a list of images`);
  return doc.map((entry, n) => {
    const cfgFile = resolve(entry.Config);
    if (!cfgFile) throw new BerthError(`${what}: manifest.json[${n}] names config ${entry.Config}, which is not in the archive`);
    const configBytes = cfgFile.bytes;
    const configDigest = cfgFile.digest ?? sha256Digest(configBytes!);
    const layers: Descriptor[] = entry.Layers.map((name, i) => {
      const f = resolve(name);
      if (!f?.digest) throw new BerthError(`${what}: manifest.json[${n}] names layer ${i + 1} ${name}, which is not in the archive`);
      return { mediaType: MEDIA.dockerLayer, digest: f.digest, size: 0 };
    });
    return {
      manifest: { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: { mediaType: MEDIA.dockerConfig, digest: configDigest, size: configBytes?.length ?? 0 }, layers },
      manifestDigest: "", manifestMediaType: MEDIA.dockerManifest,
      names: (entry.RepoTags ?? []).map((t) => formatReference(parseReference(t))),
      configBytes,
    } as ArchiveImage & { configBytes?: Uint8Array };
  });
}

function ociArchiveImages(store: ImageStore, resolve: (n: string) => ArchiveFile | undefined, what: string): ArchiveImage[] {
  if (!resolve("oci-layout")) throw new BerthError(`${what}: neither manifest.json (docker-archive) nor oci-layout (oci-archive) is in it; is it an image archive?`);
  const index = parseIndex(bytesOf(resolve("index.json"), "index.json", what), `${what}: index.json`);
  const blob = (d: string) => bytesOf(resolve(`blobs/sha256/${d.slice(7)}`), `blob ${d}`, what, store);
  const out: ArchiveImage[] = [];
  const visit = (desc: Descriptor, name: string | undefined): void => {
    const bytes = blob(desc.digest);
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    if (documentKind(doc, desc.mediaType) === "index") {
      const inner = parseIndex(bytes, `${what}: index ${desc.digest}`);
      const chosen = selectManifest(inner.manifests, hostPlatform());
      if (!chosen) throw new BerthError(`${what}: no image for ${hostPlatform().os}/${hostPlatform().architecture} in index ${desc.digest}`);
      return visit(chosen, name);
    }
    out.push({ manifest: parseManifest(bytes, `${what}: manifest ${desc.digest}`), manifestDigest: desc.digest, manifestMediaType: doc.mediaType ?? desc.mediaType, names: name ? [name] : [] });
  };
  for (const desc of index.manifests) visit(desc, ociRefName(desc));
  return out;
}

/** The image name an OCI index entry carries: containerd's full name, or a ref.name that is a full reference (not a bare tag). */
function ociRefName(desc: Descriptor): string | undefined {
  const a = desc.annotations ?? {};
  const name = a["io.containerd.image.name"] ?? a["org.opencontainers.image.ref.name"];
  if (!name || !/[/:]/.test(name)) return undefined;
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

async function storeImage(store: ImageStore, img: ArchiveImage & { configBytes?: Uint8Array }, what: string, committed: string[], created: Set<string>): Promise<LoadedImage> {
  const put = (bytes: Uint8Array | string) => {
    const digest = sha256Digest(bytes);
    if (!store.content.has(digest)) created.add(digest);
    return store.content.putBytes(bytes);
  };
  const configDigest = img.configBytes ? put(img.configBytes) : img.manifest.config.digest;
  const config = parseImageConfig(store.content.readBytes(configDigest), `${what}: config ${configDigest}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== img.manifest.layers.length) {
    throw new BerthError(`${what}: image ${configDigest} has ${img.manifest.layers.length} layers but its config lists ${diffIds.length} diff_ids; the archive is corrupt`);
  }
  const layers: LayerToUnpack[] = img.manifest.layers.map((l, i) => ({ ...l, size: store.content.size(l.digest) ?? l.size, diffId: diffIds[i]! }));
  // docker-archive layers are plain tars by name only: say what they are
  const manifest: ImageManifest = { ...img.manifest, config: { ...img.manifest.config, size: store.content.size(configDigest) ?? 0 }, layers: layers.map((l) => ({ mediaType: img.manifestDigest ? l.mediaType : mediaTypeOf(store, l.digest), digest: l.digest, size: l.size })) };
  const manifestDigest = img.manifestDigest || put(JSON.stringify(manifest));
  const name = img.names[0] ?? configDigest;
  const keys = chainIds(diffIds);
  const chain = await store.unpackLayers(layers, `image ${name} from ${what}`, (i, skipped) => {
    if (!skipped) committed.push(keys[i]!);
  });
  const image = store.addImage({
    id: configDigest, manifest: manifestDigest, manifestMediaType: img.manifestMediaType,
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]!, unpackedSize: store.unpackedLayerSize(chain[i]!) })),
    chainIds: chain,
  }, img.names);
  return { image, names: img.names };
}

function mediaTypeOf(store: ImageStore, digest: string): string {
  const c = sniffCompression(store.content.head(digest, 4));
  return c === "gzip" ? MEDIA.dockerLayerGzip : c === "zstd" ? MEDIA.ociLayerZstd : MEDIA.dockerLayer;
}
