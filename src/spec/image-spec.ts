/**
 * OCI image-spec (v1.1) and Docker image manifest v2 schema 2 types, media types, and the
 * shape checks a manifest, an index or a config must pass before berth uses it. Pure.
 */
import { BerthError } from "../errors.ts";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The process defaults an image carries (image-spec config.md `config`). */
export interface ImageProcessConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** docker's extensions that `docker inspect` shows */
  Healthcheck?: unknown;
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  config?: ImageProcessConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  /** docker's own fields, kept when present */
  comment?: string;
  docker_version?: string;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === "string" && DIGEST_RE.test(s);
}

function bad(what: string, message: string): never {
  throw new BerthError(`${what}: ${message}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (typeof o !== "object" || o === null) bad(what, "is not a descriptor object");
  if (typeof o.mediaType !== "string") bad(what, "has no mediaType");
  if (!isDigest(o.digest)) bad(what, `digest ${JSON.stringify(o.digest)} is not sha256:<64 hex>`);
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) bad(what, `size ${JSON.stringify(o.size)} is not a byte count`);
  return o as Descriptor;
}

/** What a manifest-or-index document is, by its mediaType field or its shape. */
export function documentKind(doc: { mediaType?: string; manifests?: unknown; layers?: unknown }, contentType = ""): "manifest" | "index" | "unknown" {
  const t = doc.mediaType ?? contentType.split(";")[0]!.trim();
  if (t === MEDIA.ociIndex || t === MEDIA.dockerManifestList) return "index";
  if (t === MEDIA.ociManifest || t === MEDIA.dockerManifest) return "manifest";
  if (Array.isArray(doc.manifests)) return "index";
  if (Array.isArray(doc.layers)) return "manifest";
  return "unknown";
}

/** Parse and check an image manifest; `what` names it in errors. */
export function parseManifest(bytes: Uint8Array | string, what: string): ImageManifest {
  const doc = parseJson(bytes, what) as Partial<ImageManifest>;
  if (doc.schemaVersion !== 2) bad(what, `schemaVersion ${JSON.stringify(doc.schemaVersion)} is not 2 (schema 1 manifests are not supported)`);
  checkDescriptor(doc.config, `${what} config`);
  if (!Array.isArray(doc.layers)) bad(what, "has no layers list");
  doc.layers.forEach((l, i) => checkDescriptor(l, `${what} layers[${i}]`));
  return doc as ImageManifest;
}

/** Parse and check an image index (manifest list). */
export function parseIndex(bytes: Uint8Array | string, what: string): ImageIndex {
  const doc = parseJson(bytes, what) as Partial<ImageIndex>;
  if (doc.schemaVersion !== 2) bad(what, `schemaVersion ${JSON.stringify(doc.schemaVersion)} is not 2`);
  if (!Array.isArray(doc.manifests)) bad(what, "has no manifests list");
  doc.manifests.forEach((m, i) => checkDescriptor(m, `${what} manifests[${i}]`));
  return doc as ImageIndex;
}

/** Parse and check an image config: os, architecture and rootfs.diff_ids are what berth relies on. */
export function parseImageConfig(bytes: Uint8Array | string, what: string): ImageConfig {
  const doc = parseJson(bytes, what) as Partial<ImageConfig>;
  if (typeof doc.architecture !== "string" || typeof doc.os !== "string") bad(what, "has no os/architecture");
  const rootfs = doc.rootfs as ImageConfig["rootfs"] | undefined;
  if (!rootfs || !Array.isArray(rootfs.diff_ids)) bad(what, "has no rootfs.diff_ids");
  rootfs.diff_ids.forEach((d, i) => {
    if (!isDigest(d)) bad(what, `rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not sha256:<64 hex>`);
  });
  return doc as ImageConfig;
}

function parseJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    const doc = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) bad(what, "is not a JSON object");
    return doc;
  } catch (err) {
    if (err instanceof BerthError) throw err;
    bad(what, `is not valid JSON (${(err as Error).message})`);
  }
}
