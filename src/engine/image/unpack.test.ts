/**
 * Layers unpacked for real (as root): tars made by GNU tar from real files (modes,
 * owners, hardlinks, devices, fifos, binary xattrs) and crafted with tar-stream where a
 * hostile entry is wanted; whiteouts checked through a real overlay mount.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, linkSync, chownSync, chmodSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tarStream from "tar-stream";
import { applyLayer, layerPath, LayerError } from "./unpack.ts";
import { getXattr, listXattrs, setXattr } from "../../sys/layer-fs.ts";
import { OverlaySnapshotter } from "../snapshot/overlay.ts";
import { writableDirOf } from "../snapshot/snapshotter.ts";
import { mountSnapshot, unmountSnapshot } from "../snapshot/mount.ts";

// GNU tar and mknod start slowly in the v2 VM (QEMU without KVM): no timing is asserted
setDefaultTimeout(60_000);

const base = mkdtempSync(join(tmpdir(), `berth-unpack-${process.pid}-`));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const newDir = (name = "d") => {
  const d = join(base, `${name}${n++}`);
  mkdirSync(d);
  return d;
};

type Entry = { name: string; type?: "file" | "directory" | "symlink" | "link" | "character-device"; linkname?: string; body?: string; mode?: number; pax?: Record<string, string> };

async function craft(entries: Entry[]): Promise<Uint8Array<ArrayBuffer>> {
  const pack = tarStream.pack();
  for (const e of entries) {
    const { body, ...header } = e;
    pack.entry({ type: "file", mode: 0o644, mtime: new Date(1_600_000_000_000), ...header } as tarStream.Header, body ?? "");
  }
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of pack) chunks.push(c as Uint8Array);
  return Buffer.concat(chunks);
}

const streamOf = (bytes: Uint8Array) => new Blob([bytes]).stream();

function gnuTar(dir: string, ...flags: string[]): Uint8Array<ArrayBuffer> {
  const r = Bun.spawnSync(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", ...flags, "-C", dir, "-cf", "-", "."], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

describe("layerPath", () => {
  test("normalises", () => {
    expect(layerPath("./a//b/", "L")).toBe("a/b");
    expect(layerPath("a/../b", "L")).toBe("b");
    expect(layerPath("./", "L")).toBe("");
  });
  test("refuses absolute names and climbing out, naming the entry", () => {
    expect(() => layerPath("/etc/passwd", "layer 1")).toThrow('layer 1: entry "/etc/passwd" has an absolute path');
    expect(() => layerPath("a/../../x", "layer 1")).toThrow(`layer 1: entry "a/../../x" climbs out of the layer with '..'`);
  });
});

describe("applyLayer", () => {
  test("files, modes, owners, mtimes, symlinks, hardlinks, devices, fifos and binary xattrs come out as they went in", async () => {
    const src = newDir("src");
    mkdirSync(join(src, "etc/sub"), { recursive: true });
    writeFileSync(join(src, "etc/conf"), "hello");
    chownSync(join(src, "etc/conf"), 1234, 5678);
    chmodSync(join(src, "etc/conf"), 0o4750); // after chown, which clears set-uid
    utimesSync(join(src, "etc/conf"), 1_500_000_000, 1_500_000_000);
    symlinkSync("conf", join(src, "etc/link"));
    symlinkSync("/etc/passwd", join(src, "etc/abs-link")); // a symlink pointing out is fine: only entries through it are refused
    linkSync(join(src, "etc/conf"), join(src, "etc/hard"));
    chmodSync(join(src, "etc/sub"), 0o1777);
    utimesSync(join(src, "etc/sub"), 1_400_000_000, 1_400_000_000);
    expect(Bun.spawnSync(["mknod", join(src, "null"), "c", "1", "3"]).exitCode).toBe(0);
    expect(Bun.spawnSync(["mknod", join(src, "big"), "c", "300", "70000"]).exitCode).toBe(0);
    expect(Bun.spawnSync(["mkfifo", join(src, "fifo")]).exitCode).toBe(0);
    // a file capability (cap_net_raw+ep): binary, with bytes that are not UTF-8; trusted.*
    // rather than user.* for the other: the v2 VM's /tmp is a tmpfs without user xattrs
    const cap = Uint8Array.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    writeFileSync(join(src, "ping"), "#!/bin/sh\n");
    setXattr(join(src, "ping"), "security.capability", cap);
    setXattr(join(src, "etc/conf"), "trusted.berth-note", Uint8Array.from([0xe9, 0xff]));

    const tar = gnuTar(src);
    const out = newDir();
    const applied = await applyLayer(streamOf(Bun.gzipSync(tar)), out, "layer 1");
    expect(applied.compression).toBe("gzip");
    expect(applied.diffId).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(tar).digest("hex")}`);
    expect(applied.size).toBe(tar.length);

    const conf = statSync(join(out, "etc/conf"));
    expect(readFileSync(join(out, "etc/conf"), "utf8")).toBe("hello");
    expect([conf.mode & 0o7777, conf.uid, conf.gid, conf.mtimeMs]).toEqual([0o4750, 1234, 5678, 1_500_000_000_000]);
    expect(statSync(join(out, "etc/hard")).ino).toBe(conf.ino);
    expect(readlinkSync(join(out, "etc/link"))).toBe("conf");
    expect(readlinkSync(join(out, "etc/abs-link"))).toBe("/etc/passwd");
    const sub = statSync(join(out, "etc/sub"));
    expect([sub.mode & 0o7777, sub.mtimeMs]).toEqual([0o1777, 1_400_000_000_000]);
    const dev = statSync(join(out, "null"));
    expect([dev.isCharacterDevice(), Number(dev.rdev >> 8) & 0xfff, dev.rdev & 0xff]).toEqual([true, 1, 3]);
    expect(statSync(join(out, "big")).rdev).toBe(statSync(join(src, "big")).rdev);
    expect(statSync(join(out, "fifo")).isFIFO()).toBe(true);
    expect(getXattr(join(out, "ping"), "security.capability")).toEqual(cap);
    expect(getXattr(join(out, "etc/conf"), "trusted.berth-note")).toEqual(Uint8Array.from([0xe9, 0xff]));
  });

  test("an owner too large for the header's octal field comes from its PAX record (OpenShift's 1000680000), as GNU tar and Go write it", async () => {
    const src = newDir("src");
    writeFileSync(join(src, "big"), "x");
    chownSync(join(src, "big"), 1_000_680_000, 1_000_680_001);
    // POSIX format: the ids go in a PAX record; the header's own fields cannot hold them
    const tar = gnuTar(src, "--format=posix");
    expect(new TextDecoder("latin1").decode(tar)).toContain("uid=1000680000\n");
    const out = newDir();
    await applyLayer(streamOf(tar), out, "layer 1");
    expect([statSync(join(out, "big")).uid, statSync(join(out, "big")).gid]).toEqual([1_000_680_000, 1_000_680_001]);
  });

  test("zstd and plain layers; the digest covers the whole uncompressed stream", async () => {
    const tar = await craft([{ name: "a", body: "x" }]);
    for (const bytes of [tar, Bun.zstdCompressSync(tar)]) {
      const out = newDir();
      const applied = await applyLayer(streamOf(bytes), out, "L");
      expect(applied.compression).toBe(bytes === tar ? "none" : "zstd");
      expect(applied.diffId).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(tar).digest("hex")}`);
      expect(readFileSync(join(out, "a"), "utf8")).toBe("x");
    }
  });

  test("missing parents are made; a later entry replaces an earlier one; a directory entry keeps what is in it", async () => {
    const out = newDir();
    await applyLayer(streamOf(await craft([
      { name: "deep/er/file", body: "1" },
      { name: "x", body: "file first" },
      { name: "x", type: "symlink", linkname: "deep" },
      { name: "deep", type: "directory", mode: 0o700 },
    ])), out, "L");
    expect(readFileSync(join(out, "deep/er/file"), "utf8")).toBe("1");
    expect(readlinkSync(join(out, "x"))).toBe("deep");
    expect(statSync(join(out, "deep")).mode & 0o777).toBe(0o700);
  });

  const hostile: [string, Entry[], string][] = [
    ["an absolute name", [{ name: "/etc/evil", body: "x" }], 'entry "/etc/evil" has an absolute path'],
    ["a climb with ..", [{ name: "../evil", body: "x" }], `entry "../evil" climbs out of the layer with '..'`],
    ["a file through an absolute symlink planted earlier", [{ name: "esc", type: "symlink", linkname: "/" }, { name: "esc/evil", body: "x" }], 'entry "esc/evil" leads outside the layer through a symlink'],
    ["a file through a relative symlink that climbs out", [{ name: "esc", type: "symlink", linkname: "../.." }, { name: "esc/tmp/evil", body: "x" }], 'entry "esc/tmp/evil" leads outside the layer through a symlink'],
    ["a whiteout through a symlink", [{ name: "esc", type: "symlink", linkname: "/tmp" }, { name: "esc/.wh.victim" }], 'entry "esc/.wh.victim" leads outside the layer through a symlink'],
    ["a hardlink to outside", [{ name: "esc", type: "symlink", linkname: "/etc" }, { name: "h", type: "link", linkname: "esc/passwd" }], 'entry "h" is a hardlink to "esc/passwd", which leads outside the layer'],
    ["a hardlink that climbs", [{ name: "h", type: "link", linkname: "../../etc/passwd" }], `entry "../../etc/passwd" climbs out of the layer`],
  ];
  test.each(hostile)("refuses %s, naming the entry, and writes nothing outside", async (_what, entries, message) => {
    const parent = newDir("p");
    const out = join(parent, "layer");
    mkdirSync(out);
    const err = await applyLayer(streamOf(await craft(entries)), out, "layer 2 of evil:1").catch((e) => e);
    expect(err).toBeInstanceOf(LayerError);
    expect(err.message).toStartWith("layer 2 of evil:1: ");
    expect(err.message).toContain(message);
    expect(readdirSync(parent)).toEqual(["layer"]);
    expect(existsSync("/etc/evil") || existsSync("/tmp/evil") || existsSync("/evil")).toBe(false);
  });

  test("a name longer than a path may be, and an mtime that is not a number: a LayerError naming the layer, its name shortened (was a bare SysError quoting 4 KB, and BigInt's 'Not an integer')", async () => {
    const long = await applyLayer(streamOf(await craft([{ name: `${"a/".repeat(2100)}f`, body: "x" }])), newDir(), "layer 1 of long:1").catch((e) => e);
    expect(long).toBeInstanceOf(LayerError);
    expect(long.message).toStartWith('layer 1 of long:1: entry "a/a/');
    expect(long.message).toContain("ENAMETOOLONG");
    expect(long.message.length).toBeLessThan(400);
    const tar = await craft([{ name: "f", body: "x" }]);
    // the mtime field (12 bytes at 136) not octal, the header's checksum (8 at 148) made right again
    tar.set(new TextEncoder().encode("zzzzzzzzzzz\0"), 136);
    tar.fill(32, 148, 156);
    const sum = tar.subarray(0, 512).reduce((a, b) => a + b, 0);
    tar.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    const mtime = await applyLayer(streamOf(tar), newDir(), "layer 1 of bad:1").catch((e) => e);
    expect(mtime).toBeInstanceOf(LayerError);
    expect(mtime.message).toBe('layer 1 of bad:1: entry "f" has an mtime that is not a number; the layer is corrupt');
  });

  test("a truncated layer and a corrupt one are refused, naming the layer", async () => {
    const tar = await craft([{ name: "a", body: "x".repeat(100_000) }]);
    const gz = Bun.gzipSync(tar);
    const truncated = await applyLayer(streamOf(gz.subarray(0, gz.length / 2)), newDir(), "layer 1 of x").catch((e) => e);
    expect(truncated).toBeInstanceOf(LayerError);
    expect(truncated.message).toStartWith("layer 1 of x: ");
    const junk = await applyLayer(streamOf(new TextEncoder().encode("this is not a tar archive at all".repeat(40))), newDir(), "layer 1 of y").catch((e) => e);
    expect(junk).toBeInstanceOf(LayerError);
    expect(junk.message).toContain("layer 1 of y: not a readable tar");
  });
});

describe("whiteouts across layers", () => {
  test(".wh.NAME hides a lower file, .wh..wh..opq a lower directory's contents, through the overlay a container sees", async () => {
    const snaps = new OverlaySnapshotter(newDir("snaps"));
    const apply = async (key: string, parent: string | undefined, entries: Entry[]) => {
      const dir = writableDirOf(snaps.prepare(`tmp-${key}`, parent));
      await applyLayer(streamOf(await craft(entries)), dir, key);
      snaps.commit(key, `tmp-${key}`);
      return dir;
    };
    await apply("l1", undefined, [
      { name: "etc/keep", body: "k" }, { name: "etc/gone", body: "g" },
      { name: "var/cache/a", body: "a" }, { name: "var/cache/b", body: "b" },
    ]);
    const upper2 = await apply("l2", "l1", [
      { name: "etc/.wh.gone" },
      { name: "var/cache/", type: "directory", mode: 0o755 }, { name: "var/cache/.wh..wh..opq" }, { name: "var/cache/c", body: "c" },
    ]);
    expect(lstatSync(join(upper2, "etc/gone")).isCharacterDevice()).toBe(true);
    expect(lstatSync(join(upper2, "etc/gone")).rdev).toBe(0);
    expect(existsSync(join(upper2, "etc/.wh.gone"))).toBe(false);
    expect(new TextDecoder().decode(getXattr(join(upper2, "var/cache"), "trusted.overlay.opaque"))).toBe("y");
    expect(listXattrs(join(upper2, "var/cache"))).toContain("trusted.overlay.opaque");

    snaps.prepare("c", "l2");
    const root = newDir("mnt");
    mountSnapshot(snaps.mounts("c"), root);
    try {
      expect(readdirSync(join(root, "etc"))).toEqual(["keep"]);
      expect(readdirSync(join(root, "var/cache"))).toEqual(["c"]);
    } finally {
      unmountSnapshot(root);
    }
  });
});
