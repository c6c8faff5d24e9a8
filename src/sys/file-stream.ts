/**
 * Whole files as streams — what the content store needs beyond sys/libc.ts's small reads
 * and writes: layer blobs are hundreds of MiB and are read while they are unpacked.
 */

/** The bytes of `path` from `offset` to the end, as a stream (read as it is consumed). */
export function fileStream(path: string, offset = 0): ReadableStream<Uint8Array> {
  const file = Bun.file(path);
  return (offset > 0 ? file.slice(offset) : file).stream();
}

/** This process's standard input as a stream. */
export function stdinStream(): ReadableStream<Uint8Array> {
  return Bun.stdin.stream();
}

/** A file as a Blob (read when sent: an upload's body with its length known). */
export function fileBlob(path: string): Blob {
  return Bun.file(path);
}
