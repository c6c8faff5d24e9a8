/**
 * pull, push, tag, rmi, prune, inspect, history, save against a real docker-registry on
 * 127.0.0.1 (test/clients/registry.ts), with images made here (test/oci-layout.ts):
 * whiteouts across layers, zstd layers, a multi-platform index with an attestation, 64
 * layers; a proxy that cuts a blob's stream (resume with Range) or corrupts it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRegistryWithBusybox, type LocalRegistry } from "../../../test/clients/registry.ts";
import { engineRoot } from "../../../test/image-fixture.ts";
import { pushLayout, writeOciLayout, type ImageSpec } from "../../../test/oci-layout.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { enginePaths } from "../../engine/paths.ts";
import { mountSnapshot, unmountSnapshot } from "../../engine/snapshot/mount.ts";

// pulls of 64 layers and a resumed download on a shared, loaded machine: no timing is asserted
setDefaultTimeout(180_000);

let reg: LocalRegistry;
const work = mkdtempSync(join(tmpdir(), `berth-pull-${process.pid}-`));
const store = engineRoot("pull");
const images = () => new ImageStore(enginePaths({ root: store.root, runroot: store.runroot }));

/** push an image made here as REG/repo:tag */
async function publish(repo: string, tag: string, spec: ImageSpec | ImageSpec[], attestation = false): Promise<string> {
  const dir = join(work, `layout-${repo}-${tag}`);
  const { digest } = await writeOciLayout(dir, tag, spec, { attestation });
  pushLayout(dir, tag, reg.address, repo);
  return digest;
}

/** Run `fn` with image `ref`'s root filesystem mounted as a container would see it. */
function withRootfs<T>(ref: string, fn: (root: string) => T): T {
  const s = images();
  const id = `t${Math.random().toString(36).slice(2, 8)}`;
  const target = join(work, `rootfs-${id}`);
  mkdirSync(target);
  mountSnapshot(s.prepareRootfs(id, s.resolve(ref)), target);
  try {
    return fn(target);
  } finally {
    unmountSnapshot(target);
    s.removeRootfs(id);
  }
}

beforeAll(async () => {
  reg = await startRegistryWithBusybox(work);
});
afterAll(async () => {
  await reg?.stop();
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

describe("pull", () => {
  test("busybox: docker's lines, then the image with its repo digest; again: up to date", () => {
    const r = store.berth(["pull", reg.image]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(`latest: Pulling from ${reg.address}/busybox`);
    expect(lines).toContain(`${lines[1]!.split(":")[0]}: Pull complete`);
    expect(lines.at(-2)).toBe(`Status: Downloaded newer image for ${reg.image}`);
    expect(lines.at(-1)).toBe(reg.image);
    const digest = lines.find((l) => l.startsWith("Digest: "))!.slice(8);
    const inspect = JSON.parse(store.berth(["image", "inspect", reg.image]).stdout);
    expect(inspect).toBeArrayOfSize(1);
    expect(inspect[0].RepoDigests).toEqual([`${reg.address}/busybox@${digest}`]);
    expect(inspect[0].Config.Cmd).toEqual(["/bin/sh"]);
    const again = store.berth(["pull", reg.image]).stdout;
    expect(again).toContain(": Already exists\n");
    expect(again).toContain(`Status: Image is up to date for ${reg.image}\n`);
    // by digest: the same image, nothing downloaded
    const byDigest = store.berth(["pull", "-q", `${reg.address}/busybox@${digest}`]);
    expect(byDigest.stdout).toBe(`${reg.address}/busybox@${digest}\n`);
    withRootfs(reg.image, (root) => expect(readFileSync(join(root, "www/index.html"), "utf8")).toBe("hello from busybox httpd\n"));
  });

  test("whiteouts across layers: a deleted file and an opaque directory are gone in the container's view", async () => {
    await publish("whiteouts", "1", {
      layers: [
        { entries: [{ name: "etc/keep", body: "k" }, { name: "etc/gone", body: "g" }, { name: "var/cache/a", body: "a" }, { name: "var/cache/b", body: "b" }] },
        { entries: [{ name: "etc/.wh.gone" }, { name: "var/cache", type: "directory" }, { name: "var/cache/.wh..wh..opq" }, { name: "var/cache/c", body: "c" }] },
        { entries: [{ name: "etc/gone", body: "back" }] },
      ],
    });
    expect(store.berth(["pull", "-q", `${reg.address}/whiteouts:1`]).code).toBe(0);
    withRootfs(`${reg.address}/whiteouts:1`, (root) => {
      expect(readdirSync(join(root, "var/cache"))).toEqual(["c"]);
      expect(readFileSync(join(root, "etc/gone"), "utf8")).toBe("back");
      expect(readdirSync(join(root, "etc")).sort()).toEqual(["gone", "keep"]);
    });
  });

  test("zstd layers", async () => {
    await publish("zstd", "1", { layers: [{ entries: [{ name: "z1", body: "one" }], compression: "zstd" }, { entries: [{ name: "z2", body: "two" }], compression: "zstd" }] });
    const r = store.berth(["pull", "-q", `${reg.address}/zstd:1`]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const inspect = JSON.parse(store.berth(["image", "inspect", `${reg.address}/zstd:1`]).stdout)[0];
    expect(inspect.Descriptor.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    withRootfs(`${reg.address}/zstd:1`, (root) => expect(readFileSync(join(root, "z1"), "utf8") + readFileSync(join(root, "z2"), "utf8")).toBe("onetwo"));
  });

  test("a multi-platform index: the host's image, --platform's, attestations skipped, a missing platform named", async () => {
    const index = await publish("multi", "1", [
      { architecture: "arm64", variant: "v8", layers: [{ entries: [{ name: "arch", body: "arm64" }] }] },
      { architecture: "amd64", layers: [{ entries: [{ name: "arch", body: "amd64" }] }] },
    ], true);
    const host = process.arch === "arm64" ? "arm64" : "amd64";
    const r = store.berth(["pull", `${reg.address}/multi:1`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Digest: ${index}\n`);
    withRootfs(`${reg.address}/multi:1`, (root) => expect(readFileSync(join(root, "arch"), "utf8")).toBe(host));
    const other = host === "amd64" ? "arm64" : "amd64";
    const p = store.berth(["pull", "-q", "--platform", `linux/${other}`, `${reg.address}/multi:1`]);
    expect([p.code, p.stderr]).toEqual([0, ""]);
    expect(JSON.parse(store.berth(["image", "inspect", `${reg.address}/multi:1`]).stdout)[0].Architecture).toBe(other);
    const none = store.berth(["pull", "--platform", "linux/s390x", `${reg.address}/multi:1`]);
    expect([none.code, none.stderr]).toEqual([125, `berth: ${reg.address}/multi:1: no image for linux/s390x (it has linux/arm64/v8, linux/amd64); choose one with --platform\n`]);
  });

  test("64 layers: every one unpacked, the top one wins, all visible through one overlay", async () => {
    const layers = Array.from({ length: 64 }, (_, i) => ({ entries: [{ name: `f${i}`, body: String(i) }, { name: "top", body: String(i) }] }));
    await publish("deep", "1", { layers });
    expect(store.berth(["pull", "-q", `${reg.address}/deep:1`]).code).toBe(0);
    withRootfs(`${reg.address}/deep:1`, (root) => {
      expect(readdirSync(root).length).toBe(65);
      expect(readFileSync(join(root, "top"), "utf8")).toBe("63");
      expect(readFileSync(join(root, "f0"), "utf8")).toBe("0");
    });
    expect(JSON.parse(store.berth(["image", "inspect", `${reg.address}/deep:1`]).stdout)[0].RootFS.Layers).toBeArrayOfSize(64);
  });

  test("parallel pulls: of one image, both succeed with one copy; of two images sharing a layer, both land", async () => {
    await publish("par-a", "1", { layers: [{ entries: [{ name: "shared", body: "s" }] }, { entries: [{ name: "a", body: "a" }] }] });
    await publish("par-b", "1", { layers: [{ entries: [{ name: "shared", body: "s" }] }, { entries: [{ name: "b", body: "b" }] }] });
    const root = engineRoot("pull-parallel");
    try {
      const results = await Promise.all([
        root.berthAsync(["pull", "-q", `${reg.address}/par-a:1`]), root.berthAsync(["pull", "-q", `${reg.address}/par-a:1`]),
        root.berthAsync(["pull", "-q", `${reg.address}/par-b:1`]),
      ]);
      for (const r of results) expect([r.code, r.stderr]).toEqual([0, ""]);
      const c = root.contents();
      expect(c.images.length).toBe(2);
      expect(c.snapshots.length).toBe(3); // the shared bottom layer once
      expect(c.ingest).toEqual([]);
    } finally {
      root.remove();
    }
  });

  test("bad input: one line naming it and the fix, exit 125, nothing left", async () => {
    const notRegistry = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("nope", { status: 404 }) });
    await publish("armonly", "1", { architecture: process.arch === "arm64" ? "amd64" : "arm64", layers: [{ entries: [{ name: "x" }] }] });
    try {
      const before = store.contents();
      const cases: [string[], string][] = [
        [["pull", `${reg.address}/nosuch`], `berth: ${reg.address}/nosuch:latest: not found in ${reg.address} (MANIFEST_UNKNOWN: manifest unknown); check the name and tag (or log in if it is private)\n`],
        [["pull", `${reg.address}/busybox:nosuch`], `berth: ${reg.address}/busybox:nosuch: not found in ${reg.address} (MANIFEST_UNKNOWN: manifest unknown); check the name and tag (or log in if it is private)\n`],
        [["pull", "127.0.0.1:1/busybox"], "berth: 127.0.0.1:1/busybox:latest: cannot reach registry 127.0.0.1:1 (ECONNREFUSED); check the registry's name and that it is up\n"],
        [["pull", `127.0.0.1:${notRegistry.port}/busybox`], `berth: 127.0.0.1:${notRegistry.port}/busybox:latest: 127.0.0.1:${notRegistry.port} is not a container registry (HTTP 404 without the distribution API's header); check the registry's name\n`],
        [["pull", `${reg.address}/armonly:1`], `berth: ${reg.address}/armonly:1: the image is for linux/${process.arch === "arm64" ? "amd64" : "arm64"}, not linux/${process.arch === "arm64" ? "arm64" : "amd64"}; pull with --platform linux/${process.arch === "arm64" ? "amd64" : "arm64"} to get it anyway\n`],
        [["pull", "Busy:box"], 'berth: IMAGE: invalid reference format: "Busy:box" has upper-case letters in its repository name (use lower case)\n'],
        [["pull", "--platform", "amd64", "busybox"], 'berth: --platform: "amd64" must be OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8\n'],
        [["pull", "--tls-verify", "maybe", "busybox"], 'berth: --tls-verify: must be true or false, not "maybe"\n'],
      ];
      for (const [args, line] of cases) {
        // not spawnSync: the fake registry answers from this process
        const r = await store.berthAsync(["pull", "-q", ...args.slice(1)]);
        expect(r.stderr).toBe(line);
        expect(r.code).toBe(125);
        const after = store.contents();
        expect({ ...after, blobs: after.blobs.filter((b) => !before.blobs.includes(b)) }).toEqual({ ...before, blobs: [] });
      }
    } finally {
      notRegistry.stop(true);
    }
  });
});

describe("push, tag, rmi, prune", () => {
  test("tag and push to a new repository, remove it here, pull it back: the same image", () => {
    const id = JSON.parse(store.berth(["image", "inspect", reg.image]).stdout)[0].Id;
    expect(store.berth(["tag", reg.image, `${reg.address}/roundtrip:v1`]).code).toBe(0);
    const p = store.berth(["push", `${reg.address}/roundtrip:v1`]);
    expect(p.stderr).toBe("");
    expect(p.stdout).toStartWith(`The push refers to repository [${reg.address}/roundtrip]\n`);
    expect(p.stdout).toMatch(/\nv1: digest: sha256:[0-9a-f]{64} size: \d+\n$/);
    const r = store.berth(["rmi", `${reg.address}/roundtrip:v1`]);
    expect(r.stdout).toBe(`Untagged: ${reg.address}/roundtrip:v1\n`);
    store.berth(["pull", "-q", `${reg.address}/roundtrip:v1`]);
    expect(JSON.parse(store.berth(["image", "inspect", `${reg.address}/roundtrip:v1`]).stdout)[0].Id).toBe(id);
    // skopeo reads what berth pushed
    const sk = Bun.spawnSync(["skopeo", "inspect", "--tls-verify=false", `docker://${reg.address}/roundtrip:v1`]);
    expect(JSON.parse(sk.stdout.toString()).Layers).toBeArrayOfSize(1);
  });

  test("an image a container uses: rmi refused, prune -a keeps it, rmi -f only untags; its layers go only with the container", () => {
    const s = images();
    const image = s.resolve(`${reg.address}/whiteouts:1`);
    s.prepareRootfs("user-1", image);
    const refused = store.berth(["rmi", `${reg.address}/whiteouts:1`]);
    expect([refused.code, refused.stderr]).toEqual([125, `berth: image ${reg.address}/whiteouts:1 is used by container user-1; remove the container first, or use -f to untag it\n`]);
    const prune = store.berth(["image", "prune", "-a", "-f"]);
    expect(prune.code).toBe(0);
    expect(prune.stdout).not.toContain(image.id);
    expect(store.berth(["rmi", "-f", `${reg.address}/whiteouts:1`]).stdout).toBe(`Untagged: ${reg.address}/whiteouts:1\n`);
    for (const c of image.chainIds) expect(s.snapshots.stat(c)?.kind).toBe("committed");
    s.removeRootfs("user-1");
    const after = store.berth(["image", "prune", "-f"]);
    expect(after.stdout).toContain(`deleted: ${image.id}\n`);
    for (const c of image.chainIds) expect(s.snapshots.stat(c)).toBeUndefined();
    expect(store.contents().blobs).not.toContain(image.id.slice(7));
  });

  test("history and inspect --format", () => {
    // the prune above removed every image: pull the two read here again
    for (const ref of [`${reg.address}/deep:1`, reg.image]) expect(store.berth(["pull", "-q", ref]).code).toBe(0);
    const h = store.berth(["history", `${reg.address}/deep:1`]).stdout.split("\n");
    expect(h[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    expect(h[1]).toMatch(/^[0-9a-f]{12}\s+N\/A\s+layer 63\s+\d+(\.\d+)?kB$/);
    expect(h[2]).toMatch(/^<missing>\s/);
    expect(store.berth(["image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{json .Config.Cmd}}", reg.image]).stdout).toBe(`linux/${process.arch === "arm64" ? "arm64" : "amd64"} ["/bin/sh"]\n`);
    const missing = store.berth(["image", "inspect", reg.image, "nosuch:1"]);
    expect(JSON.parse(missing.stdout)).toBeArrayOfSize(1);
    expect([missing.code, missing.stderr]).toEqual([125, "berth: no such image: nosuch:1; pull it with `berth pull nosuch:1`\n"]);
  });
});

describe("resume and corruption (a proxy in front of the registry)", () => {
  /**
   * A TCP proxy to the registry. "cut": the first connection that GETs blob `target`
   * without a Range is closed after half its bytes, as a dropped connection. "corrupt":
   * one byte of that blob's body is flipped. The request lines and Range headers seen are kept.
   */
  function proxy(target: () => string, mode: "cut" | "corrupt") {
    const seen: { path: string; range: string | null }[] = [];
    let cutDone = false;
    const [host, port] = reg.address.split(":") as [string, string];
    type Conn = { upstream?: import("bun").Socket<Conn>; client?: import("bun").Socket<Conn>; pending: Uint8Array[]; watch: boolean; bytes: number };
    const server = Bun.listen<Conn>({
      hostname: "127.0.0.1", port: 0,
      socket: {
        async open(client) {
          const conn: Conn = { client, pending: [], watch: false, bytes: 0 };
          client.data = conn;
          conn.upstream = await Bun.connect<Conn>({
            hostname: host, port: Number(port), data: conn,
            socket: {
              data(_up, chunk) {
                let out: Uint8Array = chunk;
                if (conn.watch) {
                  conn.bytes += chunk.length;
                  if (mode === "corrupt" && conn.bytes > 4096) {
                    out = Uint8Array.from(chunk);
                    out[out.length - 1]! ^= 0xff;
                    conn.watch = false;
                  }
                  if (mode === "cut" && conn.bytes > 1_000_000) {
                    conn.watch = false;
                    cutDone = true;
                    conn.client!.write(out.subarray(0, 1000));
                    // a FIN, not a RST: with a RST the kernel drops what the client has not
                    // read yet, and on a quiet machine that could be every byte sent, so the
                    // retry rightly had nothing to resume from (no Range)
                    conn.client!.end();
                    conn.upstream!.terminate();
                    return;
                  }
                }
                conn.client!.write(out);
              },
              close() {
                conn.client?.end();
              },
            },
          });
          for (const p of conn.pending) conn.upstream.write(p);
        },
        data(client, chunk) {
          const conn = client.data;
          const text = new TextDecoder().decode(chunk);
          const m = /^(GET|HEAD) (\S+) HTTP/m.exec(text);
          if (m) {
            const range = /^range: *(.*)$/im.exec(text)?.[1]?.trim() ?? null;
            seen.push({ path: m[2]!, range });
            if (m[1] === "GET" && m[2]!.endsWith(`/blobs/${target()}`) && (mode === "corrupt" || (!cutDone && range === null))) {
              conn.watch = true;
              conn.bytes = 0;
            }
          }
          if (conn.upstream) conn.upstream.write(chunk);
          else conn.pending.push(Uint8Array.from(chunk));
        },
        close(client) {
          client.data?.upstream?.end();
        },
      },
    });
    return { server, seen, address: `127.0.0.1:${server.port}` };
  }

  test("a stream cut mid-blob resumes with Range from the bytes already written", async () => {
    await publish("resume", "1", { layers: [{ entries: [{ name: "big", body: "r".repeat(3_000_000) + Math.random() }], compression: "none" }] });
    const manifest = JSON.parse(Bun.spawnSync(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${reg.address}/resume:1`]).stdout.toString());
    const layer = manifest.layers[0].digest;
    const p = proxy(() => layer, "cut");
    try {
      const r = await store.berthAsync(["pull", `${p.address}/resume:1`]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const gets = p.seen.filter((s) => s.path.endsWith(`/blobs/${layer}`));
      expect(gets.length).toBe(2);
      expect(gets[0]!.range).toBeNull();
      expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(gets[1]!.range!)![0])).toBeGreaterThan(0);
      withRootfs(`${p.address}/resume:1`, (root) => expect(readFileSync(join(root, "big"), "utf8").length).toBeGreaterThan(3_000_000));
    } finally {
      p.server.stop(true);
    }
  });

  test("a blob whose digest does not match is refused naming it, and nothing of it is kept", async () => {
    await publish("corrupt", "1", { layers: [{ entries: [{ name: "c", body: Buffer.from(crypto.getRandomValues(new Uint8Array(60_000))).toString("base64") }] }] });
    const manifest = JSON.parse(Bun.spawnSync(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${reg.address}/corrupt:1`]).stdout.toString());
    const layer = manifest.layers[0].digest;
    const p = proxy(() => layer, "corrupt");
    try {
      const before = store.contents();
      const r = await store.berthAsync(["pull", "-q", `${p.address}/corrupt:1`]);
      expect(r.stderr).toMatch(new RegExp(`^berth: layer 1/1 \\(${layer}\\) of ${p.address}/corrupt:1: digest mismatch, expected ${layer} but its bytes hash to sha256:[0-9a-f]{64}; the blob was discarded — retry, or check the registry or archive\\n$`));
      expect(r.code).toBe(125);
      const after = store.contents();
      expect(after.blobs.includes(layer.slice(7))).toBe(false);
      expect(after.ingest).toEqual(before.ingest);
      expect(after.snapshots).toEqual(before.snapshots);
      expect(after.images).toEqual(before.images);
    } finally {
      p.server.stop(true);
    }
  });
});

describe("disk full", () => {
  test("no space while unpacking: one line naming it, exit 125, the layer's snapshot gone", () => {
    const dir = mkdtempSync(join(tmpdir(), `berth-full-${process.pid}-`));
    // room for the compressed busybox layer (~1 MB) but not for it unpacked (2.1 MB)
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "berth-test-full", dir]).exitCode).toBe(0);
    try {
      const r = Bun.spawnSync([join(import.meta.dir, "../../../bin/berth"), "--root", join(dir, "root"), "pull", "-q", reg.image], { stderr: "pipe", stdout: "pipe" });
      const err = r.stderr.toString();
      expect(err).toMatch(/^berth: (layer 1\/1 .* of .*: no space left on the device while writing entry "[^"]+"; free space under the store \(--root\) and pull again|.*: no space left on the device .*)\n$/);
      expect(r.exitCode).toBe(125);
      const md = join(dir, "root/snapshots/metadata.json");
      expect(existsSync(md) ? Object.keys(JSON.parse(readFileSync(md, "utf8")).snapshots) : []).toEqual([]);
      expect(existsSync(join(dir, "root/images/index.json")) ? Object.keys(JSON.parse(readFileSync(join(dir, "root/images/index.json"), "utf8")).images) : []).toEqual([]);
    } finally {
      Bun.spawnSync(["umount", dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
