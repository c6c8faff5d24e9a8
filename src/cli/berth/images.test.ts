/**
 * `berth load`, `import` and `images` end to end, against a private store: archives
 * made by skopeo (../shared/reference/make-busybox-image.sh), and broken ones made here.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import tarStream from "tar-stream";
import { busyboxImageLayout } from "../../../test/clients/registry.ts";
import { engineRoot } from "../../../test/image-fixture.ts";

// loads and unpacks on a shared, loaded machine: no timing is asserted
setDefaultTimeout(60_000);

const images = dirname(busyboxImageLayout());
const DOCKER_ARCHIVE = join(images, "busybox-docker.tar");
const OCI_ARCHIVE = join(images, "busybox-oci.tar");
const ROOTFS = join(images, "rootfs.tar");
const store = engineRoot("images-cli");
afterAll(() => store.remove());

async function tarOf(entries: { name: string; body: string | Uint8Array }[]): Promise<Uint8Array> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.body));
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of pack) chunks.push(c as Uint8Array);
  return Buffer.concat(chunks);
}

const sha = (b: Uint8Array | string) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

describe("load", () => {
  test("a docker-archive: the image under its name, its id the config's digest, its layer unpacked", () => {
    const r = store.berth(["load", "-i", DOCKER_ARCHIVE]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("Loaded image: busybox:latest\n");
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(busyboxImageLayout(), "index.json"), "utf8"));
    const ociManifest = JSON.parse(readFileSync(join(busyboxImageLayout(), "blobs/sha256", manifest.manifests[0].digest.slice(7)), "utf8"));
    const id = store.berth(["images", "-q", "--no-trunc", "busybox"]).stdout.trim();
    expect(id).toBe(ociManifest.config.digest);
    const snaps = store.contents().snapshots;
    expect(snaps.length).toBe(1);
    const md = JSON.parse(readFileSync(join(store.root, "snapshots/metadata.json"), "utf8")).snapshots[snaps[0]!];
    expect(existsSync(join(store.root, "snapshots", String(md.id), "fs/bin/busybox"))).toBe(true);
  });

  test("an oci-archive, gzip-compressed, from stdin: the same image under its second name, the layer stored once", () => {
    const gz = Bun.gzipSync(readFileSync(OCI_ARCHIVE));
    const r = store.berth(["load"], new Blob([gz]));
    expect(r.stdout).toBe("Loaded image: localhost/busybox:latest\n");
    expect(r.code).toBe(0);
    expect(store.contents().snapshots.length).toBe(1);
    const rows = store.berth(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]).stdout.trim().split("\n").sort();
    expect(rows.length).toBe(2);
    expect(rows[0]).toStartWith("busybox:latest ");
    expect(rows[1]).toStartWith("localhost/busybox:latest ");
    expect(rows[0]!.split(" ")[1]).toBe(rows[1]!.split(" ")[1]!);
  });

  test.each([
    ["a missing file", () => ["-i", "/nonexistent/x.tar"], "berth: --input: /nonexistent/x.tar does not exist; give the path of an image archive\n"],
    ["a directory", () => ["-i", "/tmp"], "berth: --input: /tmp is a directory; give the path of an image archive (a tar)\n"],
  ])("%s is refused in one line, exit 125", (_what, args, line) => {
    const r = store.berth(["load", ...args()]);
    expect([r.code, r.stderr, r.stdout]).toEqual([125, line, ""]);
  });

  test("a truncated archive, junk, a tar that is no image archive, a layer whose digest is not its diff ID: one line each, exit 125, nothing left", async () => {
    const before = store.contents();
    const whole = readFileSync(DOCKER_ARCHIVE);
    const layer = await tarOf([{ name: "hello", body: "hi" }]);
    const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] } });
    const wrongDiff = await tarOf([
      { name: "manifest.json", body: JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: ["bad:diff"], Layers: ["l/layer.tar"] }]) },
      { name: `${sha(config)}.json`, body: config },
      { name: "l/layer.tar", body: layer },
    ]);
    const cases: [Uint8Array, RegExp][] = [
      [whole.subarray(0, Math.floor(whole.length / 2)), /^berth: stdin: not a readable image archive \(.*\); the file is truncated or corrupt — save it again\n$/],
      [new TextEncoder().encode("not a tar".repeat(100)), /^berth: stdin: not a readable image archive/],
      [await tarOf([{ name: "hello.txt", body: "hi" }]), /^berth: stdin: neither manifest.json \(docker-archive\) nor oci-layout \(oci-archive\) is in it; is it an image archive\?\n$/],
      [wrongDiff, /^berth: layer 1\/1 \(sha256:[0-9a-f]{12}\) of image docker.io\/library\/bad:diff from stdin: its uncompressed digest is sha256:[0-9a-f]{64} but the image config's rootfs.diff_ids says sha256:0{64}; the image is corrupt\n$/],
    ];
    for (const [bytes, message] of cases) {
      const r = store.berth(["load"], new Blob([bytes]));
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(125);
      expect(store.contents()).toEqual(before);
    }
  });
});

describe("import", () => {
  test("a rootfs tarball with a name and --change: one layer, the config carries the changes", () => {
    const r = store.berth(["import", ROOTFS, "myroot:1", "--change", 'CMD ["/bin/sh", "-c", "echo hi"]', "-c", "ENV A=1", "-c", "WORKDIR /www"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const id = r.stdout.trim();
    const config = JSON.parse(readFileSync(join(store.root, "content/blobs/sha256", id.slice(7)), "utf8"));
    expect(config.config).toEqual({ Cmd: ["/bin/sh", "-c", "echo hi"], Env: ["A=1"], WorkingDir: "/www" });
    expect(config.rootfs.diff_ids).toEqual([`sha256:${sha(readFileSync(ROOTFS))}`]);
    expect(config.history[0].comment).toBe(`Imported from ${ROOTFS}`);
    expect(store.berth(["images", "--filter", "reference=myroot", "--format", "{{.Repository}} {{.Tag}} {{.Size}}"]).stdout).toMatch(/^myroot 1 \d+(\.\d+)?MB\n$/);
  });

  test("from stdin without a name: a dangling image", () => {
    const r = store.berth(["import", "-"], new Blob([Bun.zstdCompressSync(readFileSync(ROOTFS))]));
    expect(r.code).toBe(0);
    const dangling = store.berth(["images", "--filter", "dangling=true", "-q", "--no-trunc"]).stdout;
    expect(dangling).toBe(r.stdout);
    expect(store.berth(["images"]).stdout).toMatch(/\n<none>\s+<none>\s+[0-9a-f]{12}\s/);
  });

  test.each([
    [["import", ROOTFS, "Bad:Name"], 'berth: IMAGE: invalid reference format: "Bad:Name" has upper-case letters in its repository name (use lower case)\n'],
    [["import", ROOTFS, "x", "-c", "RUN make"], 'berth: --change: "RUN make": RUN cannot be changed by import; use one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR\n'],
    [["import", "/nonexistent.tar"], "berth: FILE: /nonexistent.tar does not exist; give the path of an image archive\n"],
  ])("%j is refused in one line, exit 125, nothing left", (args, line) => {
    const before = store.contents();
    const r = store.berth(args);
    expect([r.code, r.stderr]).toEqual([125, line]);
    expect(store.contents()).toEqual(before);
  });

  test("a tarball with an entry escaping the root: refused naming the entry, nothing left", async () => {
    const before = store.contents();
    const pack = tarStream.pack();
    pack.entry({ name: "esc", type: "symlink", linkname: "/" });
    pack.entry({ name: "esc/tmp/owned", mode: 0o644 }, "x");
    pack.finalize();
    const chunks: Uint8Array[] = [];
    for await (const c of pack) chunks.push(c as Uint8Array);
    const r = store.berth(["import", "-", "evil"], new Blob(chunks));
    expect(r.stderr).toBe('berth: import from -: entry "esc/tmp/owned" leads outside the layer through a symlink in "esc/tmp"; refused\n');
    expect(r.code).toBe(125);
    expect(existsSync("/tmp/owned")).toBe(false);
    expect(store.contents()).toEqual(before);
  });
});

describe("images", () => {
  test("docker's table, -q, --digests, and bad filters", () => {
    const table = store.berth(["images"]).stdout.split("\n");
    expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(store.berth(["images", "--digests"]).stdout.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID/);
    for (const id of store.berth(["images", "-q"]).stdout.trim().split("\n")) expect(id).toMatch(/^[0-9a-f]{12}$/);
    const r = store.berth(["images", "--filter", "color=red"]);
    expect([r.code, r.stderr]).toEqual([125, 'berth: --filter: invalid filter "color=red"; use KEY=VALUE with KEY one of dangling, reference, label\n']);
  });
});
