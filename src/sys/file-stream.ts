/**
 * Whole files as streams, and trees removed — what the content store and the snapshots
 * need beyond sys/libc.ts's small reads and writes: layer blobs are hundreds of MiB and
 * are read while they are unpacked, and a snapshot is a directory tree.
 */

/** The bytes of `path` from `offset` to the end, as a stream (read as it is consumed). */
export function fileStream(path: string, offset = 0): ReadableStream<Uint8Array> {
  const file = Bun.file(path);
  return (offset > 0 ? file.slice(offset) : file).stream();
}

/** rm -rf: `path` and everything below it; nothing there is fine. Throws SysError-like node errors. */
export function removeTree(path: string): void {
  // node:fs loaded only here: it costs Bun ~4 ms per process (sys/libc.ts)
  (require("node:fs") as typeof import("node:fs")).rmSync(path, { recursive: true, force: true, maxRetries: 2 });
}

/** This process's standard input as a stream. */
export function stdinStream(): ReadableStream<Uint8Array> {
  return Bun.stdin.stream();
}

/** A file as a Blob (read when sent: an upload's body with its length known). */
export function fileBlob(path: string): Blob {
  return Bun.file(path);
}
