/**
 * `berth save`: images as a docker-archive (docker's classic layout — `<config>.json`,
 * `<diff id>/layer.tar` uncompressed, `manifest.json` — which docker, podman, skopeo and
 * containerd all load) or an oci-archive (an OCI image layout in a tar: oci-layout,
 * index.json with each image's name in `org.opencontainers.image.ref.name`, blobs as
 * stored). The archive is produced as a stream, written with tar-stream.
 */
import tarStream from "tar-stream";
import { BerthError } from "../../errors.ts";
import { MEDIA, parseManifest, type ImageManifest } from "../../spec/image-spec.ts";
import type { ImageRecord, ImageStore } from "./image-store.ts";
import { decompressed } from "./compression.ts";
import { familiarString } from "./reference.ts";
import { sha256Digest } from "../content/store.ts";

export type ArchiveFormat = "docker-archive" | "oci-archive";

export interface SavedImage {
  image: ImageRecord;
  /** the names to write (familiar in docker-archive, full in oci-archive); none: the image id only */
  names: string[];
}

const OCI_OF_DOCKER: Record<string, string> = {
  [MEDIA.dockerConfig]: MEDIA.ociConfig,
  [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip,
  [MEDIA.dockerLayer]: MEDIA.ociLayer,
  [MEDIA.dockerForeignLayerGzip]: MEDIA.ociLayerNondistGzip,
  [MEDIA.dockerManifest]: MEDIA.ociManifest,
};

/** An image's manifest with OCI media types (an OCI layout's own), and its bytes. */
function ociManifest(store: ImageStore, image: ImageRecord): { bytes: Uint8Array; manifest: ImageManifest } {
  const bytes = store.content.readBytes(image.manifest);
  const m = parseManifest(bytes, `manifest of image ${image.id}`);
  if ((m.mediaType ?? MEDIA.ociManifest) === MEDIA.ociManifest) return { bytes, manifest: m };
  const converted: ImageManifest = {
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { ...m.config, mediaType: OCI_OF_DOCKER[m.config.mediaType] ?? m.config.mediaType },
    layers: m.layers.map((l) => ({ ...l, mediaType: OCI_OF_DOCKER[l.mediaType] ?? l.mediaType })),
  };
  return { bytes: new TextEncoder().encode(JSON.stringify(converted)), manifest: converted };
}

/**
 * One entry into a tar-stream pack, resolved when tar-stream has taken it: its body bytes
 * whole, or streamed (written as the pack drains), or none — a file's entry then ends
 * empty (tar-stream waits for a file's end), the other types end by themselves.
 */
export function packEntry(pack: tarStream.Pack, header: Partial<tarStream.Header>, body?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const entry = pack.entry(header as tarStream.Header, (err) => (err ? reject(err) : resolve()));
    if (body === undefined) {
      if (header.type === undefined || header.type === "file") entry.end(undefined as unknown as Buffer);
      return;
    }
    if (body instanceof Uint8Array) {
      entry.end(Buffer.from(body));
      return;
    }
    (async () => {
      for await (const chunk of body) if (!entry.write(chunk)) await new Promise<void>((r) => entry.once("drain", () => r()));
      entry.end(undefined as unknown as Buffer);
    })().catch(reject);
  });
}

/** The archive's bytes as they are produced. */
export function saveArchive(store: ImageStore, images: SavedImage[], format: ArchiveFormat): AsyncIterable<Uint8Array> {
  const pack = tarStream.pack();
  const written = new Set<string>();
  const add = (name: string, size: number, body: Uint8Array | AsyncIterable<Uint8Array>) => packEntry(pack, { name, size, mode: 0o644, mtime: new Date(0) }, body);
  const blobEntry = async (name: string, digest: string) => {
    if (written.has(name)) return;
    written.add(name);
    await add(name, store.content.size(digest)!, store.content.stream(digest) as unknown as AsyncIterable<Uint8Array>);
  };
  const produce = async () => {
    if (format === "oci-archive") {
      const index: unknown[] = [];
      await add("oci-layout", 30, new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
      for (const { image, names } of images) {
        const { bytes, manifest } = ociManifest(store, image);
        const digest = sha256Digest(bytes);
        for (const l of [manifest.config, ...manifest.layers]) await blobEntry(`blobs/sha256/${l.digest.slice(7)}`, l.digest);
        if (!written.has(digest)) {
          written.add(digest);
          await add(`blobs/sha256/${digest.slice(7)}`, bytes.length, bytes);
        }
        const desc = { mediaType: MEDIA.ociManifest, digest, size: bytes.length };
        if (names.length === 0) index.push(desc);
        for (const n of names) index.push({ ...desc, annotations: { "org.opencontainers.image.ref.name": n, "io.containerd.image.name": n } });
      }
      const indexBytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index }));
      await add("index.json", indexBytes.length, indexBytes);
    } else {
      const manifest: unknown[] = [];
      for (const { image, names } of images) {
        const config = `${image.id.slice(7)}.json`;
        await blobEntry(config, image.id);
        const layers: string[] = [];
        for (const l of image.layers) {
          const name = `${l.diffId.slice(7)}/layer.tar`;
          layers.push(name);
          if (written.has(name)) continue;
          written.add(name);
          if (l.unpackedSize === undefined) throw new BerthError(`image ${image.id}: layer ${l.digest} has no recorded size; pull or load the image again`);
          // docker-archive layers are plain tars: undo the registry's compression
          const { stream } = await decompressed(store.content.stream(l.digest));
          await add(name, l.unpackedSize, stream as unknown as AsyncIterable<Uint8Array>);
        }
        manifest.push({ Config: config, RepoTags: names.length ? names.map(familiarString) : null, Layers: layers });
      }
      const bytes = new TextEncoder().encode(JSON.stringify(manifest));
      await add("manifest.json", bytes.length, bytes);
    }
    pack.finalize();
  };
  produce().catch((err) => pack.destroy(err));
  return pack as unknown as AsyncIterable<Uint8Array>;
}
