/**
 * Registry authentication for real: docker-registry with htpasswd (basic) and with token
 * auth (a token service in this process signing RS256 JWTs with a throw-away certificate
 * the registry trusts), `berth login`/`logout` writing docker's config.json, and a
 * redirect to another host that must not receive the credentials.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxImageLayout, startRegistry, type RunningRegistry } from "../../../test/clients/registry.ts";
import { runCommand } from "../../../test/clients/client-env.ts";
import { engineRoot } from "../../../test/image-fixture.ts";

setDefaultTimeout(120_000);

const work = mkdtempSync(join(tmpdir(), `berth-auth-${process.pid}-`));
const store = engineRoot("auth");
const dockerConfig = join(work, "docker-config");
const env = { DOCKER_CONFIG: dockerConfig };
let basicReg: RunningRegistry;
let tokenReg: RunningRegistry;
let tokenServer: ReturnType<typeof Bun.serve>;
const tokenRequests: { authorization: string | null; scope: string | null }[] = [];

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

beforeAll(async () => {
  // basic: htpasswd with user "alice", password "wonderland"
  const htpasswd = join(work, "htpasswd");
  const h = runCommand(["htpasswd", "-Bbn", "alice", "wonderland"]);
  if (h.code !== 0) throw new Error(`htpasswd (apache2-utils) failed: ${h.stderr}`);
  writeFileSync(htpasswd, h.stdout);
  basicReg = await startRegistry(work, { name: "basic", auth: ["  htpasswd:", "    realm: berth-test", `    path: ${htpasswd}`] });

  // token: a certificate the registry trusts, and a token service that signs with its key
  const key = join(work, "key.pem");
  const cert = join(work, "cert.pem");
  const o = runCommand(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=berth-test-token"]);
  if (o.code !== 0) throw new Error(`openssl failed: ${o.stderr}`);
  const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  const signingKey = await crypto.subtle.importKey("pkcs8", der(readFileSync(key, "utf8")), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
  const x5c = der(readFileSync(cert, "utf8")).toString("base64");
  tokenServer = Bun.serve({
    hostname: "127.0.0.1", port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const authorization = req.headers.get("authorization");
      const scope = url.searchParams.get("scope");
      tokenRequests.push({ authorization, scope });
      const granted = authorization === `Basic ${Buffer.from("tok:secret").toString("base64")}`;
      if (authorization && !granted) return new Response("bad credentials", { status: 401 });
      const [, name, actions] = /^repository:([^:]+):(.*)$/.exec(scope ?? "") ?? [];
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [x5c] }));
      const claims = b64url(JSON.stringify({
        iss: "berth-test-issuer", sub: granted ? "tok" : "", aud: "berth-test-registry", exp: now + 600, nbf: now - 10, iat: now, jti: String(Math.random()),
        access: granted && name ? [{ type: "repository", name, actions: actions!.split(",") }] : [],
      }));
      const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", signingKey, new TextEncoder().encode(`${header}.${claims}`)));
      return Response.json({ token: `${header}.${claims}.${b64url(signature)}` });
    },
  });
  tokenReg = await startRegistry(work, {
    name: "token",
    auth: ["  token:", `    realm: http://127.0.0.1:${tokenServer.port}/token`, "    service: berth-test-registry", "    issuer: berth-test-issuer", `    rootcertbundle: ${cert}`],
  });
  // busybox in both, pushed with credentials
  const layout = busyboxImageLayout();
  for (const [reg, creds] of [[basicReg, "alice:wonderland"], [tokenReg, "tok:secret"]] as const) {
    // not spawnSync: the token service answers from this process
    const p = Bun.spawn(["skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds, `oci:${layout}:latest`, `docker://${reg.address}/private/busybox:latest`], { stderr: "pipe", stdout: "ignore" });
    const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`skopeo copy to ${reg.address}: ${stderr}`);
  }
});

afterAll(async () => {
  tokenServer?.stop(true);
  await basicReg?.stop();
  await tokenReg?.stop();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

describe("basic auth (htpasswd)", () => {
  test("without login: 401 named, with the fix; a wrong password is refused and nothing stored", async () => {
    const r = await store.berthAsync(["pull", "-q", `${basicReg.address}/private/busybox`], env);
    expect(r.stderr).toBe(`berth: ${basicReg.address}/private/busybox:latest: unauthorized by ${basicReg.address} (UNAUTHORIZED: authentication required); log in with berth login ${basicReg.address}\n`);
    expect(r.code).toBe(125);
    const bad = await store.berthAsync(["login", "-u", "alice", "--password-stdin", basicReg.address], env, "wrong\n");
    expect(bad.stderr).toBe(`berth: login to ${basicReg.address}: unauthorized by ${basicReg.address} (UNAUTHORIZED: authentication required); log in with berth login ${basicReg.address}\n`);
    expect(bad.code).toBe(125);
    expect(existsSync(join(dockerConfig, "config.json"))).toBe(false);
  });

  test("login stores docker's config.json (0600, other keys kept); pull works; logout forgets", async () => {
    mkdirSync(dockerConfig, { recursive: true });
    writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({ auths: { "other.example": { auth: "eDp5" } }, detachKeys: "ctrl-x" }));
    const r = await store.berthAsync(["login", "-u", "alice", "--password-stdin", basicReg.address], env, "wonderland\n");
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "Login Succeeded\n", ""]);
    const file = join(dockerConfig, "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(file, "utf8"));
    expect(config.auths[basicReg.address]).toEqual({ auth: Buffer.from("alice:wonderland").toString("base64") });
    expect(config.auths["other.example"]).toEqual({ auth: "eDp5" });
    expect(config.detachKeys).toBe("ctrl-x");
    const p = await store.berthAsync(["pull", "-q", `${basicReg.address}/private/busybox`], env);
    expect([p.code, p.stderr, p.stdout]).toEqual([0, "", `${basicReg.address}/private/busybox:latest\n`]);
    const out = await store.berthAsync(["logout", basicReg.address], env);
    expect(out.stdout).toBe(`Removing login credentials for ${basicReg.address}\n`);
    expect(JSON.parse(readFileSync(file, "utf8")).auths[basicReg.address]).toBeUndefined();
  });

  test("a redirect to another host gets no Authorization", async () => {
    expect((await store.berthAsync(["login", "-u", "alice", "--password-stdin", basicReg.address], env, "wonderland\n")).code).toBe(0);
    const storage: { path: string; authorization: string | null }[] = [];
    const blobHost = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        storage.push({ path: url.pathname, authorization: req.headers.get("authorization") });
        return fetch(`http://${basicReg.address}${url.pathname}`, { headers: { Authorization: `Basic ${Buffer.from("alice:wonderland").toString("base64")}` } });
      },
    });
    // the front: the registry's API, but blobs redirected (307) to the blob host, as registries with object storage do
    const front = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (req.method === "GET" && url.pathname.includes("/blobs/")) return Response.redirect(`http://127.0.0.1:${blobHost.port}${url.pathname}`, 307);
        return fetch(`http://${basicReg.address}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, redirect: "manual" });
      },
    });
    try {
      const cfg = JSON.parse(readFileSync(join(dockerConfig, "config.json"), "utf8"));
      cfg.auths[`127.0.0.1:${front.port}`] = cfg.auths[basicReg.address];
      writeFileSync(join(dockerConfig, "config.json"), JSON.stringify(cfg));
      const root = engineRoot("auth-redirect");
      try {
        const r = await root.berthAsync(["pull", "-q", `127.0.0.1:${front.port}/private/busybox`], env);
        expect([r.code, r.stderr]).toEqual([0, ""]);
      } finally {
        root.remove();
      }
      expect(storage.length).toBeGreaterThanOrEqual(2); // config and layer
      for (const s of storage) expect(s.authorization).toBeNull();
    } finally {
      front.stop(true);
      blobHost.stop(true);
    }
  });
});

describe("token auth", () => {
  test("anonymous: the token service grants nothing, the registry's 401 is named with the fix", async () => {
    const r = await store.berthAsync(["pull", "-q", `${tokenReg.address}/private/busybox`], { DOCKER_CONFIG: join(work, "empty-config") });
    expect(r.stderr).toMatch(new RegExp(`^berth: ${tokenReg.address}/private/busybox:latest: unauthorized by ${tokenReg.address} \\(UNAUTHORIZED: .*\\); log in with berth login ${tokenReg.address}\\n$`));
    expect(r.code).toBe(125);
  });

  test("login through the token service, then pull: one token per scope, asked with the stored credentials", async () => {
    tokenRequests.length = 0;
    const bad = await store.berthAsync(["login", "-u", "tok", "-p", "nope", tokenReg.address], env);
    expect(bad.stderr).toBe(`berth: login to ${tokenReg.address}: ${tokenReg.address} refused the stored credentials (401 from its token service); log in again with berth login\n`);
    expect(bad.code).toBe(125);
    const ok = await store.berthAsync(["login", "-u", "tok", "--password-stdin", tokenReg.address], env, "secret");
    expect([ok.code, ok.stdout]).toEqual([0, "Login Succeeded\n"]);
    tokenRequests.length = 0;
    const fresh = engineRoot("auth-token");
    let r;
    try {
      r = await fresh.berthAsync(["pull", `${tokenReg.address}/private/busybox`], env);
    } finally {
      fresh.remove();
    }
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toContain("Pull complete");
    // manifest, config, layer: one token for the pull scope, fetched once
    expect(tokenRequests).toEqual([{ authorization: `Basic ${Buffer.from("tok:secret").toString("base64")}`, scope: "repository:private/busybox:pull" }]);
  });
});
