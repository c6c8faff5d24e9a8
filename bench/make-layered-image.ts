/**
 * bench/images.sh's 20-layer image: an OCI layout of N gzip layers, each holding 120
 * files of 32 KiB of text (compressible about 3:1, as source trees and docs are), made
 * with the tests' layout writer. Deterministic: the same bytes on every run.
 *
 *   bun bench/make-layered-image.ts DIR TAG LAYERS
 */
import { writeOciLayout, type TarEntrySpec } from "../test/oci-layout.ts";

const [dir, tag, count] = process.argv.slice(2);
if (!dir || !tag || !count) throw new Error("usage: make-layered-image.ts DIR TAG LAYERS");
let seed = 42;
const word = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split(" ")[seed % 12]!;
};
const text = (bytes: number) => {
  let s = "";
  while (s.length < bytes) s += `${word()} `;
  return s.slice(0, bytes);
};
const layers = Array.from({ length: Number(count) }, (_, i) => ({
  entries: Array.from({ length: 120 }, (_, f): TarEntrySpec => ({ name: `layer${i}/file${f}.txt`, body: text(32 * 1024) })),
}));
await writeOciLayout(dir, tag, { layers });
