/**
 * Image references, normalised as docker's (distribution/reference): `busybox` is
 * `docker.io/library/busybox:latest`, `user/app` is `docker.io/user/app:latest`, the first
 * component is a registry only when it has a `.` or a `:` or is `localhost`, and a digest
 * (`@sha256:…`) pins the manifest. Pure.
 */
import { BerthError } from "../../errors.ts";

export const DOCKER_HUB = "docker.io";
/** where docker.io's registry API answers */
export const DOCKER_HUB_API = "registry-1.docker.io";

export interface ImageReference {
  /** registry host[:port], normalised (`docker.io` for Docker Hub) */
  domain: string;
  /** repository path inside the registry (`library/busybox`) */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const DOMAIN_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/** The image argument (docker's IMAGE, or import's and tag's REPOSITORY[:TAG]) names what was refused. */
function bad(ref: string, why: string): never {
  throw new BerthError(`invalid reference format: ${JSON.stringify(ref)} ${why}`, { field: "IMAGE" });
}

/**
 * Parse and normalise a reference. The tag defaults to `latest` unless a digest is
 * given (docker's TagNameOnly); `defaultTag: false` keeps it undefined.
 *
 * @example parseReference("busybox") // → { domain: "docker.io", path: "library/busybox", tag: "latest" }
 * @example parseReference("127.0.0.1:5000/app@sha256:…") // → { domain: "127.0.0.1:5000", path: "app", digest: "sha256:…" }
 */
export function parseReference(ref: string, options: { defaultTag?: boolean } = {}): ImageReference {
  if (ref === "") bad(ref, "is empty");
  if (ref.length > 255 + 72) bad(ref, "is too long");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) bad(ref, "has a digest that is not sha256:<64 lowercase hex>");
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) bad(ref, "has a tag that is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(domain)) bad(ref, `has a registry ${JSON.stringify(domain)} that is not host[:port]`);
    }
  }
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (path !== path.toLowerCase()) bad(ref, "has upper-case letters in its repository name (use lower case)");
  if (!PATH_RE.test(path)) bad(ref, "has a repository name that is not lowercase letters, digits and separators (. _ __ -) between /");
  if (domain === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = "latest";
  return { domain, path, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** `domain/path` */
export function repositoryName(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}

/** The full normalised string: `docker.io/library/busybox:latest`, `…@sha256:…`. */
export function formatReference(r: ImageReference): string {
  return `${repositoryName(r)}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** docker's familiar repository name: `busybox` for docker.io/library/busybox, `user/app` for docker.io/user/app. */
export function familiarRepository(name: string): string {
  if (name.startsWith(`${DOCKER_HUB}/library/`) && name.indexOf("/", DOCKER_HUB.length + 9) < 0) return name.slice(DOCKER_HUB.length + 9);
  if (name.startsWith(`${DOCKER_HUB}/`)) return name.slice(DOCKER_HUB.length + 1);
  return name;
}

/** A stored full reference (`docker.io/library/busybox:latest`) as docker prints it (`busybox:latest`). */
export function familiarString(full: string): string {
  const r = parseReference(full, { defaultTag: false });
  return `${familiarRepository(repositoryName(r))}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

/** Is `s` an image id or a prefix of one (hex, 3+ chars, optionally `sha256:`) rather than a name? */
export function looksLikeId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{3,64}$/.test(s);
}
