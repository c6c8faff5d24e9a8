/**
 * The image index: which images the store holds and by which names. One record per
 * image, keyed by its id — the digest of its config, as docker's image id — holding its
 * manifest's digest, its layers (compressed digest, diff ID, media type) and chain IDs,
 * its names (`docker.io/library/busybox:latest`) and repo digests
 * (`docker.io/library/busybox@sha256:<manifest>`). One file, `images/index.json`, read
 * and rewritten under a lock, replaced atomically: a name moves from one image to
 * another in one write, and readers never see half of it.
 */
import { BerthError } from "../../errors.ts";
import { mkdirParents, pathExists, readText } from "../../sys/libc.ts";
import { lockPath, updateLocked } from "../../sys/lock-file.ts";

export interface LayerRecord {
  /** the blob's digest in the content store (compressed as it was pulled or loaded) */
  digest: string;
  mediaType: string;
  /** the blob's size */
  size: number;
  /** sha256 of the uncompressed tar: rootfs.diff_ids[i] */
  diffId: string;
  /** bytes of the uncompressed tar */
  unpackedSize?: number;
}

export interface ImageRecord {
  /** the config's digest: docker's image id */
  id: string;
  /** the manifest's digest (a blob in the content store) */
  manifest: string;
  manifestMediaType: string;
  layers: LayerRecord[];
  /** snapshot keys of the layers, bottom first */
  chainIds: string[];
  /** full references with a tag: docker.io/library/busybox:latest */
  names: string[];
  /** full references with the manifest's digest, for images that came from a registry */
  repoDigests: string[];
  /** when the image entered this store (ISO 8601) */
  stored: string;
}

interface IndexFile {
  images: Record<string, ImageRecord>;
}

export class ImageIndex {
  private readonly file: string;
  private readonly lockFile: string;

  constructor(readonly dir: string) {
    this.file = `${dir}/index.json`;
    this.lockFile = `${dir}/index.lock`;
  }

  read(): Record<string, ImageRecord> {
    if (!pathExists(this.file)) return {};
    try {
      return (JSON.parse(readText(this.file)) as IndexFile).images;
    } catch (err) {
      throw new BerthError(`the image index ${this.file} cannot be read (${(err as Error).message}); restore it or remove the store under --root`, { cause: err });
    }
  }

  /** Run `fn` on the records under the index's lock; its changes are written back atomically. */
  update<T>(fn: (images: Record<string, ImageRecord>) => T): T {
    return updateLocked({ path: this.file, lock: this.lockFile, dir: this.dir, read: () => this.read(), serialize: (images) => JSON.stringify({ images }) }, fn);
  }

  /** Hold the index's lock while `fn` runs (rmi and prune decide and remove under it). */
  locked<T>(fn: () => T): T {
    mkdirParents(this.dir, 0o700);
    const lock = lockPath(`${this.dir}/gc.lock`, { create: true });
    try {
      return fn();
    } finally {
      lock.release();
    }
  }
}

/**
 * Add or refresh `image` and give it `names`, taking each name from any image that had
 * it (which may leave that one dangling: no names). Pure on the records.
 */
export function putImage(images: Record<string, ImageRecord>, image: ImageRecord, names: string[], repoDigests: string[] = []): ImageRecord {
  const existing = images[image.id];
  const rec: ImageRecord = existing ? { ...existing } : { ...image, names: [], repoDigests: [] };
  for (const name of names) {
    for (const other of Object.values(images)) if (other.id !== rec.id) other.names = other.names.filter((n) => n !== name);
    if (!rec.names.includes(name)) rec.names.push(name);
  }
  for (const d of repoDigests) if (!rec.repoDigests.includes(d)) rec.repoDigests.push(d);
  images[rec.id] = rec;
  return rec;
}
