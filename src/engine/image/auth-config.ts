/**
 * Registry credentials in docker's `config.json`: `$DOCKER_CONFIG/config.json`, else
 * `$HOME/.docker/config.json`; `{"auths": {"HOST": {"auth": base64("user:password")}}}`,
 * Docker Hub under `https://index.docker.io/v1/`. Written atomically with mode 0600, and
 * every other key of the file (docker's credsStore, proxies, …) kept as it was. Credential
 * helpers (credsStore) are not run: only inline `auth` entries are read.
 */
import { BerthError } from "../../errors.ts";
import { mkdirParents, pathExists, readText } from "../../sys/libc.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { DOCKER_HUB } from "./reference.ts";

export interface Credentials {
  username: string;
  password: string;
}

const HUB_KEY = "https://index.docker.io/v1/";

/** Where config.json is for this environment. */
export function authConfigPath(env: Record<string, string | undefined> = process.env): string {
  if (env.DOCKER_CONFIG) return `${env.DOCKER_CONFIG}/config.json`;
  return `${env.HOME || "/root"}/.docker/config.json`;
}

/** The key a registry's credentials are stored under: docker's for Docker Hub, the host[:port] otherwise. */
export function authKey(domain: string): string {
  return domain === DOCKER_HUB ? HUB_KEY : domain;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  [key: string]: unknown;
}

function readConfig(path: string): ConfigFile {
  if (!pathExists(path)) return {};
  try {
    return JSON.parse(readText(path)) as ConfigFile;
  } catch (err) {
    throw new BerthError(`${path} is not valid JSON (${(err as Error).message}); fix or remove it`, { cause: err });
  }
}

/** The stored credentials for `domain`, if any (entries keyed by `https://HOST` or `HOST/v2/` count too). */
export function credentialsFor(domain: string, path = authConfigPath()): Credentials | undefined {
  const auths = readConfig(path).auths ?? {};
  const key = authKey(domain);
  const entry = auths[key] ?? Object.entries(auths).find(([k]) => k.replace(/^https?:\/\//, "").replace(/\/.*$/, "") === domain)?.[1];
  if (!entry) return undefined;
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, "base64").toString();
    const colon = plain.indexOf(":");
    if (colon < 0) throw new BerthError(`${path}: auths.${key}.auth is not base64 of USER:PASSWORD; run berth login ${domain} again`);
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return undefined;
}

/** Store credentials for `domain` (mode 0600). */
export function saveCredentials(domain: string, creds: Credentials, path = authConfigPath()): void {
  const config = readConfig(path);
  config.auths = { ...config.auths, [authKey(domain)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } };
  mkdirParents(path.slice(0, path.lastIndexOf("/")), 0o700);
  writeFileAtomic(path, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
}

/** Forget `domain`'s credentials: whether there were any. */
export function removeCredentials(domain: string, path = authConfigPath()): boolean {
  const config = readConfig(path);
  const key = authKey(domain);
  if (!config.auths?.[key]) return false;
  delete config.auths[key];
  writeFileAtomic(path, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
  return true;
}
