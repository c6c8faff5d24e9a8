/**
 * `berth push`: an image's blobs and manifest to a registry — each layer and the config
 * uploaded unless the registry has it already (HEAD), then the manifest put under the
 * tag. The bytes are the stored ones, so the pushed manifest's digest is the one the
 * image was pulled or loaded with.
 */
import { BerthError } from "../../errors.ts";
import { parseManifest } from "../../spec/image-spec.ts";
import type { ImageStore } from "./image-store.ts";
import { formatReference, parseReference, repositoryName } from "./reference.ts";
import { RegistryClient, type RegistryOptions } from "./registry.ts";
import { recordEvent } from "../event-journal.ts";

export type PushEvent =
  | { kind: "start"; repository: string }
  | { kind: "layer"; id: string; status: "Preparing" | "Pushing" | "Pushed" | "Layer already exists" }
  | { kind: "done"; tag: string; digest: string; size: number };

export async function pushImage(store: ImageStore, refText: string, options: RegistryOptions & { onEvent?: (e: PushEvent) => void } = {}): Promise<string> {
  const ref = parseReference(refText);
  if (ref.digest) throw new BerthError(`${refText}: push a name with a tag, not a digest`, { field: "NAME[:TAG]" });
  const image = store.resolve(refText);
  const name = formatReference(ref);
  const emit = options.onEvent ?? (() => {});
  const client = new RegistryClient(ref.domain, options);
  emit({ kind: "start", repository: repositoryName(ref) });
  const bytes = store.content.readBytes(image.manifest);
  const manifest = parseManifest(bytes, `manifest of ${name}`);
  for (const l of manifest.layers) emit({ kind: "layer", id: l.digest.slice(7, 19), status: "Preparing" });
  for (const d of [...manifest.layers, manifest.config]) {
    const id = d.digest.slice(7, 19);
    const what = `${d === manifest.config ? "config" : "layer"} ${d.digest} of ${name}`;
    if (await client.hasBlob(ref.path, d.digest, what)) {
      if (d !== manifest.config) emit({ kind: "layer", id, status: "Layer already exists" });
      continue;
    }
    if (d !== manifest.config) emit({ kind: "layer", id, status: "Pushing" });
    await client.pushBlob(ref.path, d.digest, d.size, () => store.content.blob(d.digest), what);
    if (d !== manifest.config) emit({ kind: "layer", id, status: "Pushed" });
  }
  const mediaType = manifest.mediaType ?? image.manifestMediaType;
  await client.putManifest(ref.path, ref.tag ?? "latest", bytes, mediaType, `manifest of ${name}`);
  emit({ kind: "done", tag: ref.tag ?? "latest", digest: image.manifest, size: bytes.length });
  store.index.update((images) => {
    const rec = images[image.id];
    const repoDigest = `${repositoryName(ref)}@${image.manifest}`;
    if (rec && !rec.repoDigests.includes(repoDigest)) rec.repoDigests.push(repoDigest);
  });
  // docker's push event: the name as given
  recordEvent(store.paths, "image", "push", refText, { name: refText });
  return image.manifest;
}
