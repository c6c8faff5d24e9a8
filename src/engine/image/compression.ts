/**
 * Layer and archive compression: gzip, zstd or none, told from the first bytes (media
 * types lie — docker-archive layers are plain tar under any name, and some registries
 * serve gzip as "tar"), undone with Bun's built-in DecompressionStream (zlib and zstd in
 * native code; no npm package).
 */

export type Compression = "gzip" | "zstd" | "none";

/** What the first bytes of a blob say it is. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/**
 * `source` uncompressed, whatever it was compressed with, and the compression found. The
 * first chunk is read to tell; it is put back in front of the rest.
 */
export async function decompressed(source: ReadableStream<Uint8Array>): Promise<{ stream: ReadableStream<Uint8Array>; compression: Compression }> {
  const reader = source.getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array(0) : first.value;
  const compression = sniffCompression(head);
  const rejoined = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (compression === "none") return { stream: rejoined, compression };
  return { stream: rejoined.pipeThrough(new DecompressionStream(compression) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>), compression };
}
