/**
 * Test images made to order: an OCI image layout (blobs, index.json) with layers written
 * by tar-stream from entry lists — gzip, zstd or plain — single-platform or an index of
 * several platforms with an attestation entry, pushed to a test registry with skopeo.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tarStream from "tar-stream";
import { runCommand } from "./clients/client-env.ts";

export interface TarEntrySpec {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device";
  linkname?: string;
  body?: string;
  mode?: number;
}

export interface LayerSpec {
  entries: TarEntrySpec[];
  compression?: "gzip" | "zstd" | "none";
}

export interface ImageSpec {
  layers: LayerSpec[];
  architecture?: string;
  variant?: string;
  cmd?: string[];
}

const sha = (b: Uint8Array | string) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

export async function tarOf(entries: TarEntrySpec[]): Promise<Uint8Array> {
  const pack = tarStream.pack();
  for (const { body, ...h } of entries) pack.entry({ type: "file", mode: h.type === "directory" ? 0o755 : 0o644, mtime: new Date(1_700_000_000_000), ...h } as tarStream.Header, body ?? "");
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of pack) chunks.push(c as Uint8Array);
  return Buffer.concat(chunks);
}

const LAYER_TYPE = { gzip: "application/vnd.oci.image.layer.v1.tar+gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd", none: "application/vnd.oci.image.layer.v1.tar" };

/** Write `dir` as an OCI layout whose index.json names, under `tag`, one image or an index of several. */
export async function writeOciLayout(dir: string, tag: string, images: ImageSpec | ImageSpec[], options: { attestation?: boolean } = {}): Promise<{ digest: string }> {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Uint8Array | string) => {
    const d = sha(bytes);
    writeFileSync(join(blobs, d.slice(7)), bytes);
    return { digest: d, size: typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length };
  };
  const manifestOf = async (img: ImageSpec) => {
    const layers = [];
    const diffIds = [];
    for (const l of img.layers) {
      const tar = await tarOf(l.entries);
      diffIds.push(sha(tar));
      const c = l.compression ?? "gzip";
      const bytes = c === "gzip" ? Bun.gzipSync(tar as Uint8Array<ArrayBuffer>) : c === "zstd" ? Bun.zstdCompressSync(tar) : tar;
      layers.push({ mediaType: LAYER_TYPE[c], ...put(bytes) });
    }
    const config = JSON.stringify({
      architecture: img.architecture ?? "amd64", os: "linux", ...(img.variant && { variant: img.variant }),
      config: { Cmd: img.cmd ?? ["/bin/sh"], Env: ["PATH=/bin"] }, rootfs: { type: "layers", diff_ids: diffIds },
      history: img.layers.map((_, i) => ({ created_by: `layer ${i}` })),
    });
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...put(config) }, layers });
    return { mediaType: "application/vnd.oci.image.manifest.v1+json", ...put(manifest), platform: { os: "linux", architecture: img.architecture ?? "amd64", ...(img.variant && { variant: img.variant }) } };
  };
  let top: { mediaType: string; digest: string; size: number };
  if (Array.isArray(images)) {
    const manifests: object[] = [];
    for (const img of images) manifests.push(await manifestOf(img));
    if (options.attestation) {
      const first = manifests[0] as { digest: string };
      const att = await manifestOf({ layers: [{ entries: [{ name: "provenance.json", body: "{}" }] }], architecture: "unknown" });
      manifests.push({ ...att, platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": first.digest } });
    }
    top = { mediaType: "application/vnd.oci.image.index.v1+json", ...put(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests })) };
  } else {
    const { platform: _, ...m } = await manifestOf(images);
    top = m;
  }
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }] }));
  return { digest: top.digest };
}

/** Push layout `dir`'s `tag` (every platform) to `address/repo:tag` with skopeo, keeping its digests. */
export function pushLayout(dir: string, tag: string, address: string, repo: string, creds?: string): void {
  const r = runCommand(["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests", "--quiet", "--dest-tls-verify=false",
    ...(creds ? ["--dest-creds", creds] : []), `oci:${dir}:${tag}`, `docker://${address}/${repo}:${tag}`]);
  if (r.code !== 0) throw new Error(`skopeo copy to ${address}/${repo}:${tag} failed: ${r.stderr.trim()}`);
}
