/**
 * A client of the OCI distribution API (`/v2/…`) on Bun's fetch — what pull, push and
 * login say to a registry. Modelled on containers/image's docker/docker_client.go:
 *
 * - Authentication follows the 401's challenge: `Bearer` → a token from the realm for the
 *   scope (`repository:NAME:pull[,push]`), cached per scope for the client's life and sent
 *   first on later requests; `Basic` → the stored credentials. Credentials come from
 *   `berth login` (auth-config.ts) and go to the token realm or the registry only.
 * - HTTPS by default. Plain HTTP for 127.0.0.0/8, ::1 and `localhost` (docker's rule), and
 *   for `--tls-verify=false`, which tries HTTPS without verifying first.
 * - Redirects are followed by hand: `Authorization` is never sent to a host a redirect
 *   moved to (blob storage behind a registry gets a signed URL, not the user's token).
 * - Registry errors (`{"errors":[{"code":"MANIFEST_UNKNOWN",…}]}`) become one line naming
 *   the image and what to do.
 */
import { BerthError } from "../../errors.ts";
import { DOCKER_HUB, DOCKER_HUB_API } from "./reference.ts";
import { credentialsFor, type Credentials } from "./auth-config.ts";
import { parseChallenges } from "./www-authenticate.ts";
import { MEDIA } from "../../spec/image-spec.ts";
import { sha256Digest } from "../content/store.ts";

export interface RegistryOptions {
  /** false: --tls-verify=false (HTTPS without verification, then plain HTTP) */
  tlsVerify?: boolean;
  /** credentials to use instead of the stored ones (login checks these) */
  credentials?: Credentials;
  /** where config.json is (tests) */
  authFile?: string;
}

/** A registry said no, or could not be reached: exit 125 with its one line. */
export class RegistryError extends BerthError {
  constructor(message: string, readonly status?: number, readonly code?: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/** What a request may send: bytes, or a stream (a layer being pushed). */
type RequestBody = Uint8Array | ReadableStream<Uint8Array> | Blob | string;

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerManifestList, MEDIA.dockerManifest].join(", ");
const MAX_REDIRECTS = 10;

/** Is `host[:port]` a loopback address, where docker (and berth) speak plain HTTP? */
export function isLoopbackRegistry(domain: string): boolean {
  const host = domain.startsWith("[") ? domain.slice(1, domain.indexOf("]")) : domain.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  /** sha256 of the bytes */
  digest: string;
}

export class RegistryClient {
  private readonly host: string;
  private scheme: "https" | "http" | undefined;
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;
  private readonly creds: Credentials | undefined;

  constructor(readonly domain: string, private readonly options: RegistryOptions = {}) {
    this.host = domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
    if (isLoopbackRegistry(domain)) this.scheme = "http";
    this.creds = options.credentials ?? credentialsFor(domain, options.authFile);
  }

  private baseCandidates(): ("https" | "http")[] {
    if (this.scheme) return [this.scheme];
    return this.options.tlsVerify === false ? ["https", "http"] : ["https"];
  }

  /** One request to the registry, with authentication and redirects; the final response (any status). */
  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: RequestBody; scope?: string; what: string }): Promise<Response> {
    let lastErr: unknown;
    for (const scheme of this.baseCandidates()) {
      try {
        const res = await this.requestAt(`${scheme}://${this.host}${path}`, method, init);
        this.scheme = scheme;
        return res;
      } catch (err) {
        if (err instanceof BerthError) throw err;
        lastErr = err;
      }
    }
    throw this.unreachable(lastErr, init.what);
  }

  private unreachable(err: unknown, what: string): RegistryError {
    const e = err as { code?: string; message?: string };
    const why = e.code ?? e.message ?? String(err);
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(why)) {
      return new RegistryError(`${what}: the TLS certificate of ${this.domain} is not trusted (${why}); use --tls-verify=false only for a registry you trust`, undefined, undefined, { cause: err });
    }
    return new RegistryError(`${what}: cannot reach registry ${this.domain} (${why}); check the registry's name and that it is up`, undefined, undefined, { cause: err });
  }

  private async requestAt(url: string, method: string, init: { headers?: Record<string, string>; body?: RequestBody; scope?: string; what: string }): Promise<Response> {
    const auth = () => {
      if (init.scope && this.tokens.has(init.scope)) return `Bearer ${this.tokens.get(init.scope)}`;
      return this.basic;
    };
    let res = await this.follow(url, method, init, auth());
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate") ?? "";
    for (const c of parseChallenges(challenge)) {
      if (c.scheme === "bearer" && c.params.realm) {
        await res.body?.cancel();
        const scope = init.scope ?? c.params.scope ?? "";
        this.tokens.set(scope, await this.fetchToken(c.params.realm, c.params.service, scope, init.what));
        res = await this.follow(url, method, { ...init, scope }, `Bearer ${this.tokens.get(scope)}`);
        return res;
      }
      if (c.scheme === "basic" && this.creds) {
        await res.body?.cancel();
        this.basic = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
        return this.follow(url, method, init, this.basic);
      }
    }
    // no way to answer the challenge: the caller reads the registry's error from the body
    return res;
  }

  /** fetch, following redirects; Authorization only while the host stays the registry's. */
  private async follow(url: string, method: string, init: { headers?: Record<string, string>; body?: RequestBody; scope?: string; what?: string }, authorization: string | undefined): Promise<Response> {
    const origin = new URL(url).host;
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameHost = new URL(current).host === origin;
      const headers: Record<string, string> = { "User-Agent": "berth", ...init.headers };
      if (authorization && sameHost) headers.Authorization = authorization;
      const res = await fetch(current, {
        method, headers, redirect: "manual",
        ...(init.body !== undefined && hop === 0 && { body: init.body }),
        ...(this.options.tlsVerify === false && { tls: { rejectUnauthorized: false } }),
      } as RequestInit);
      if (res.status < 300 || res.status >= 400 || !res.headers.get("location")) return res;
      await res.body?.cancel();
      current = new URL(res.headers.get("location")!, current).toString();
      if (method === "POST" || method === "PUT" || method === "PATCH") throw new RegistryError(`${this.domain} redirected a ${method} to ${current}; berth does not replay uploads across redirects`);
    }
    throw new RegistryError(`${this.domain}: more than ${MAX_REDIRECTS} redirects for ${url}`);
  }

  private async fetchToken(realm: string, service: string | undefined, scope: string, what: string): Promise<string> {
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    if (scope) url.searchParams.set("scope", scope);
    const headers: Record<string, string> = { "User-Agent": "berth" };
    if (this.creds) headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, ...(this.options.tlsVerify === false && { tls: { rejectUnauthorized: false } }) } as RequestInit);
    } catch (err) {
      throw new RegistryError(`${what}: cannot reach ${this.domain}'s token service ${url.origin} (${(err as { code?: string }).code ?? (err as Error).message})`, undefined, undefined, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(`${what}: ${this.domain} refused the ${this.creds ? "stored credentials" : "anonymous request"} (${res.status} from its token service)${this.creds ? "; log in again with berth login" : `; log in with berth login ${this.domain}`}`, res.status);
    }
    if (!res.ok) throw new RegistryError(`${what}: ${this.domain}'s token service answered ${res.status}`, res.status);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${what}: ${this.domain}'s token service answered without a token`);
    return token;
  }

  /** The error line for a failed response (its body read for the registry's error code). */
  async failure(res: Response, what: string): Promise<RegistryError> {
    let code: string | undefined;
    let message = "";
    try {
      const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
      code = body.errors?.[0]?.code;
      message = body.errors?.[0]?.message ?? "";
    } catch {
      // not the registry's JSON
    }
    const detail = code ? ` (${code}${message ? `: ${message}` : ""})` : "";
    if (res.status === 401) return new RegistryError(`${what}: unauthorized by ${this.domain}${detail}; log in with berth login ${this.domain}`, 401, code);
    if (res.status === 403) return new RegistryError(`${what}: denied by ${this.domain}${detail}; check the name and that your account may access it`, 403, code);
    if (res.status === 404 && (code === "NAME_UNKNOWN" || code === "MANIFEST_UNKNOWN" || code === "BLOB_UNKNOWN")) {
      return new RegistryError(`${what}: not found in ${this.domain}${detail}; check the name and tag (or log in if it is private)`, 404, code);
    }
    if (res.status === 404 && !res.headers.get("docker-distribution-api-version")) {
      return new RegistryError(`${what}: ${this.domain} is not a container registry (HTTP 404 without the distribution API's header); check the registry's name`, 404, code);
    }
    return new RegistryError(`${what}: ${this.domain} answered ${res.status} ${res.statusText}${detail}`, res.status, code);
  }

  /** GET /v2/: is it a registry, and do the credentials work (login). */
  async ping(what: string): Promise<void> {
    const res = await this.request("GET", "/v2/", { what });
    if (res.ok && res.headers.get("docker-distribution-api-version")?.startsWith("registry/2")) {
      await res.body?.cancel();
      return;
    }
    if (res.ok) {
      await res.body?.cancel();
      throw new RegistryError(`${what}: ${this.domain} is not a container registry (GET /v2/ has no Docker-Distribution-API-Version header)`);
    }
    throw await this.failure(res, what);
  }

  /** The manifest or index `reference` (tag or digest) of `repo`. */
  async manifest(repo: string, reference: string, what: string, scope = `repository:${repo}:pull`): Promise<FetchedManifest> {
    const res = await this.request("GET", `/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, scope, what });
    if (!res.ok) throw await this.failure(res, what);
    if (!res.headers.get("docker-distribution-api-version") && !res.headers.get("docker-content-digest")) {
      await res.body?.cancel();
      throw new RegistryError(`${what}: ${this.domain} is not a container registry (its answer to /v2/${repo}/manifests/${reference} has no distribution headers)`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw new RegistryError(`${what}: ${this.domain} sent a manifest whose digest is ${digest}, not the ${reference} asked for; the registry is corrupt or lying`);
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /**
   * GET a blob from byte `offset`: the response body (the rest of the blob) and whether
   * the registry honoured the Range (false: the body is the whole blob again).
   */
  async blob(repo: string, digest: string, offset: number, what: string): Promise<{ body: ReadableStream<Uint8Array>; resumed: boolean; length?: number }> {
    const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const res = await this.request("GET", `/v2/${repo}/blobs/${digest}`, { headers, scope: `repository:${repo}:pull`, what });
    if (res.status === 416 && offset > 0) {
      await res.body?.cancel();
      return this.blob(repo, digest, 0, what);
    }
    if (!res.ok || !res.body) throw await this.failure(res, what);
    const length = Number(res.headers.get("content-length") ?? NaN);
    return { body: res.body, resumed: res.status === 206, ...(Number.isFinite(length) && { length }) };
  }

  /** Does the registry have blob `digest` in `repo` (HEAD)? */
  async hasBlob(repo: string, digest: string, what: string): Promise<boolean> {
    const res = await this.request("HEAD", `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull,push`, what });
    await res.body?.cancel();
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw await this.failure(res, what);
  }

  /** Upload a blob (POST then one PUT with the bytes, the monolithic upload). */
  async pushBlob(repo: string, digest: string, size: number, body: () => RequestBody, what: string): Promise<void> {
    const scope = `repository:${repo}:pull,push`;
    const start = await this.request("POST", `/v2/${repo}/blobs/uploads/`, { scope, what });
    if (start.status !== 202) throw await this.failure(start, what);
    await start.body?.cancel();
    const location = start.headers.get("location");
    if (!location) throw new RegistryError(`${what}: ${this.domain} started an upload without a Location`);
    const url = new URL(location, `${this.scheme}://${this.host}`);
    url.searchParams.set("digest", digest);
    const put = await this.request("PUT", `${url.pathname}${url.search}`, {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) }, body: body(), scope, what,
    });
    if (put.status !== 201) throw await this.failure(put, what);
    await put.body?.cancel();
  }

  /** PUT a manifest under `reference` (a tag or its digest). */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string, what: string): Promise<void> {
    const res = await this.request("PUT", `/v2/${repo}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType }, body: bytes, scope: `repository:${repo}:pull,push`, what,
    });
    if (res.status !== 201) throw await this.failure(res, what);
    await res.body?.cancel();
  }
}
