/**
 * The content store: blobs (layers, configs, manifests) by digest, at
 * `content/blobs/sha256/<hex>`, as containerd's and the OCI image layout's. A blob is
 * written under `content/ingest/` first, its digest computed as the bytes arrive, and
 * renamed into `blobs/` only when digest and size match what was expected — so a blob
 * in `blobs/` is always whole and verified, and an interrupted write leaves nothing
 * there. A download's ingest is named by the digest it expects, so the next attempt
 * finds the bytes already fetched and resumes after them (Range).
 */
import { BerthError } from "../../errors.ts";
import { close, flock, fsyncFd, listDir, LOCK_EX, mkdirParents, O, openPath, pathExists, preadFd, readBytes, renamePath, statPath, unlinkPath, writeAll } from "../../sys/libc.ts";
import { fileBlob, fileStream } from "../../sys/file-stream.ts";
import { isDigest } from "../../spec/image-spec.ts";

export interface ExpectedBlob {
  digest: string;
  /** the size the descriptor says, when known */
  size?: number;
}

/** A followed ingest started over (a server that ignored Range): what was read of it is void. */
export class IngestRestartedError extends BerthError {}

/** What a failed verification names: the blob's role ("layer 3 of docker.io/library/debian:12"). */
export class DigestMismatchError extends BerthError {}

/** sha256 of bytes, as `sha256:<hex>`. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

export class ContentStore {
  readonly blobs: string;
  readonly ingestDir: string;

  constructor(readonly dir: string) {
    this.blobs = `${dir}/blobs/sha256`;
    this.ingestDir = `${dir}/ingest`;
  }

  blobPath(digest: string): string {
    if (!isDigest(digest)) throw new BerthError(`digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
    return `${this.blobs}/${digest.slice(7)}`;
  }

  has(digest: string): boolean {
    return pathExists(this.blobPath(digest));
  }

  /** The blob's size, or undefined when it is not in the store. */
  size(digest: string): number | undefined {
    try {
      return statPath(this.blobPath(digest)).size;
    } catch {
      return undefined;
    }
  }

  readBytes(digest: string): Uint8Array {
    try {
      return readBytes(this.blobPath(digest));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") throw new BerthError(`blob ${digest} is not in the content store (${this.blobs}); pull or load the image again`);
      throw err;
    }
  }

  /** The first `n` bytes of a blob (fewer when it is shorter): its compression's magic. */
  head(digest: string, n: number): Uint8Array {
    const fd = openPath(this.blobPath(digest), O.RDONLY);
    try {
      const buf = new Uint8Array(n);
      return buf.subarray(0, preadFd(fd, buf, 0));
    } finally {
      close(fd);
    }
  }

  readText(digest: string): string {
    return new TextDecoder().decode(this.readBytes(digest));
  }

  stream(digest: string): ReadableStream<Uint8Array> {
    return fileStream(this.blobPath(digest));
  }

  /** The blob as a Blob (an upload's body). */
  blob(digest: string): Blob {
    return fileBlob(this.blobPath(digest));
  }

  /** Store `bytes` (a config or a manifest berth wrote): its digest. */
  putBytes(bytes: Uint8Array | string): string {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    const digest = sha256Digest(data);
    if (this.has(digest)) return digest;
    const ingest = this.ingest({ digest, size: data.length }, `blob ${digest}`);
    ingest.write(data);
    ingest.commit();
    return digest;
  }

  /**
   * Start writing a blob. With `expected`, the ingest is named by its digest and locked:
   * bytes a previous, interrupted attempt wrote are kept (`offset` says how many) and a
   * concurrent writer of the same blob waits, then finds it done (`done`). `what` names
   * the blob in errors.
   */
  ingest(expected: ExpectedBlob | undefined, what: string): Ingest {
    mkdirParents(this.ingestDir, 0o700);
    mkdirParents(this.blobs, 0o755);
    return new Ingest(this, expected, what);
  }

  delete(digest: string): void {
    try {
      unlinkPath(this.blobPath(digest));
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw err;
    }
  }

  /** Every digest in the store. */
  list(): string[] {
    if (!pathExists(this.blobs)) return [];
    return listDir(this.blobs).map((e) => `sha256:${e.name}`).filter(isDigest);
  }

  /** Remove ingests no process is writing (their lock is free): what interrupted pulls left, except resumable ones when `keepResumable`. */
  cleanIngests(keepResumable: boolean): void {
    if (!pathExists(this.ingestDir)) return;
    for (const e of listDir(this.ingestDir)) {
      if (keepResumable && e.name.endsWith(".partial")) continue;
      const path = `${this.ingestDir}/${e.name}`;
      let fd: number;
      try {
        fd = openPath(path, O.RDONLY);
      } catch {
        continue;
      }
      try {
        if (flock(fd, LOCK_EX | 4 /* LOCK_NB */) === 0) unlinkPath(path);
      } catch {
        // gone meanwhile
      } finally {
        close(fd);
      }
    }
  }
}

/** One blob being written: write() the bytes, then commit() (verify and make visible) or abort(). */
export class Ingest {
  readonly path: string;
  private hasher = new Bun.CryptoHasher("sha256");
  private fd: number;
  /** bytes already there from an earlier attempt (resume the download after them) */
  offset: number;
  private written: number;
  /** the blob was already in the store when this ingest got its lock: nothing to write */
  readonly done: boolean;
  /** after commit(): the blob was not in the store before (a failed load removes what it added) */
  fresh = false;
  /** open: being written; else how it ended (followers stop there) */
  private state: "open" | "committed" | "failed" = "open";
  /** bumped when the bytes start over: a follower's reading is void */
  private generation = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly store: ContentStore, private readonly expected: ExpectedBlob | undefined, private readonly what: string) {
    this.path = expected ? `${store.ingestDir}/${expected.digest.slice(7)}.partial` : `${store.ingestDir}/${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
    this.fd = openPath(this.path, O.RDWR | O.CREAT | O.APPEND, 0o600);
    // a second pull of the same blob waits for the first, then finds it in blobs/
    flock(this.fd, LOCK_EX);
    this.done = expected !== undefined && store.has(expected.digest);
    this.offset = 0;
    if (!this.done && expected) {
      const existing = statPath(this.path).size;
      if (expected.size !== undefined && existing > expected.size) this.truncate();
      else if (existing > 0) {
        // rehash what an interrupted attempt wrote: the digest covers every byte
        this.hasher.update(readBytes(this.path));
        this.offset = existing;
      }
    }
    this.written = this.offset;
  }

  /** Bytes written so far (resumed ones included). */
  get size(): number {
    return this.written;
  }

  write(chunk: Uint8Array): void {
    if (this.expected?.size !== undefined && this.written + chunk.length > this.expected.size) {
      this.abort();
      throw new DigestMismatchError(`${this.what}: more bytes than the ${this.expected.size} its descriptor says; the registry or archive is corrupt`);
    }
    this.hasher.update(chunk);
    writeAll(this.fd, chunk);
    this.written += chunk.length;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
  }

  /** Still being written (follow() may be called)? */
  get open(): boolean {
    return this.state === "open";
  }

  /**
   * The blob's bytes from the first, as they are written — to unpack a layer while it
   * downloads. Ends when the ingest is committed; errors when it fails or starts over
   * (IngestRestartedError). Only while `open`. The bytes are not verified yet: whoever
   * reads them must wait for commit() before trusting what they made.
   */
  follow(): ReadableStream<Uint8Array> {
    const fd = openPath(this.path, O.RDONLY);
    const generation = this.generation;
    let at = 0;
    let closed = false;
    const done = () => {
      if (!closed) close(fd);
      closed = true;
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (this.generation !== generation) {
            done();
            return controller.error(new IngestRestartedError(`${this.what}: the download started over`));
          }
          if (at < this.written) {
            const buf = new Uint8Array(Math.min(1 << 20, this.written - at));
            const n = preadFd(fd, buf, at);
            at += n;
            return controller.enqueue(buf.subarray(0, n));
          }
          if (this.state === "committed") {
            done();
            return controller.close();
          }
          if (this.state === "failed") {
            done();
            return controller.error(new BerthError(`${this.what}: the download failed`));
          }
          await new Promise<void>((resolve) => this.waiting.push(resolve));
        }
      },
      cancel: done,
    });
  }

  /** Start over: the bytes kept from an earlier attempt are dropped (a server that ignored Range). */
  truncate(): void {
    close(this.fd);
    unlinkPath(this.path);
    this.fd = openPath(this.path, O.RDWR | O.CREAT | O.APPEND, 0o600);
    flock(this.fd, LOCK_EX);
    this.offset = 0;
    this.written = 0;
    this.hasher = new Bun.CryptoHasher("sha256");
    this.generation++;
    this.wake();
  }

  /** Verify and move into blobs/: the digest. A mismatch removes the bytes and throws DigestMismatchError naming the blob. */
  commit(): string {
    if (this.done) {
      this.abort();
      return this.expected!.digest;
    }
    const digest = `sha256:${this.hasher.digest("hex")}`;
    const exp = this.expected;
    if (exp && (digest !== exp.digest || (exp.size !== undefined && this.written !== exp.size))) {
      this.abort();
      const why = digest !== exp.digest ? `its bytes hash to ${digest}` : `${this.written} bytes arrived of ${exp.size}`;
      throw new DigestMismatchError(`${this.what}: digest mismatch, expected ${exp.digest} but ${why}; the blob was discarded — retry, or check the registry or archive`);
    }
    this.fresh = !this.store.has(digest);
    // on disk before it is visible: a power cut must not leave a short blob under its digest
    fsyncFd(this.fd);
    renamePath(this.path, this.store.blobPath(digest));
    close(this.fd);
    this.fd = -1;
    this.state = "committed";
    this.wake();
    return digest;
  }

  /** Remove what was written. */
  abort(): void {
    this.state = "failed";
    this.wake();
    if (this.fd < 0) return;
    try {
      unlinkPath(this.path);
    } catch {
      // already gone
    }
    close(this.fd);
    this.fd = -1;
  }

  /** Close, keeping the bytes for a later resume (an interrupted download). */
  keep(): void {
    this.state = "failed";
    this.wake();
    if (this.fd < 0) return;
    if (!this.expected) return this.abort();
    close(this.fd);
    this.fd = -1;
  }
}
