import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BeneathDir, devParts, entriesBeneath, makeDev, readFileInRoot, resolveInRoot, S_IFLNK, S_IFMT } from "./layer-fs.ts";
import { statPath } from "./libc.ts";

const root = mkdtempSync(join(tmpdir(), `berth-layer-fs-${process.pid}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("readFileInRoot: a file of a root berth does not trust", () => {
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc/own"), "inside\n");
  symlinkSync("/etc/own", join(root, "etc/absolute"));
  symlinkSync("../../../../../etc/own", join(root, "etc/climbing"));
  symlinkSync("/dev/zero", join(root, "etc/zero"));
  writeFileSync(join(root, "etc/big"), "x".repeat(100));

  test("symlinks resolve inside the root, absolute or climbing", () => {
    expect(readFileInRoot(root, "/etc/own", 1000)).toBe("inside\n");
    expect(readFileInRoot(root, "/etc/absolute", 1000)).toBe("inside\n");
    expect(readFileInRoot(root, "etc/climbing", 1000)).toBe("inside\n");
    expect(resolveInRoot(root, "/etc/climbing")).toBe(join(root, "etc/own"));
  });
  test("what is not a regular file in the root is none: the host's /dev/zero is not reached, a directory, a missing path, a file as a parent", () => {
    expect(readFileInRoot(root, "/etc/zero", 1000)).toBeUndefined();
    expect(readFileInRoot(root, "/etc", 1000)).toBeUndefined();
    expect(readFileInRoot(root, "/etc/missing", 1000)).toBeUndefined();
    expect(readFileInRoot(root, "/etc/own/passwd", 1000)).toBeUndefined();
  });
  test("a device node is none, and never opened: its driver's open would run as the host's root (a watchdog's arms it)", () => {
    // char 0:0 has no driver: an open of it fails ENXIO, so an error here means it was opened
    expect(Bun.spawnSync(["mknod", join(root, "etc/device"), "c", "0", "0"]).exitCode).toBe(0);
    expect(readFileInRoot(root, "/etc/device", 1000)).toBeUndefined();
  });
  test("a file over the limit is EFBIG naming it", () => {
    expect(readFileInRoot(root, "/etc/big", 100)).toBe("x".repeat(100));
    expect(() => readFileInRoot(root, "/etc/big", 99)).toThrow(`EFBIG: file too large, read '${root}/etc/big'`);
  });
});

describe("entriesBeneath and lstatBeneath: a tree another process may change", () => {
  const tree = join(root, "walk");
  mkdirSync(join(tree, "b/c"), { recursive: true });
  writeFileSync(join(tree, "b/c/f"), "f");
  writeFileSync(join(tree, "a"), "a");
  symlinkSync("/etc", join(tree, "b/out"));
  symlinkSync("../../..", join(tree, "up"));

  test("parents before children, names in byte order; a symlink to a directory is an entry, never walked into", () => {
    const seen: string[] = [];
    for (const e of entriesBeneath(tree)) seen.push(`${e.rel}${e.dirFd === undefined ? "" : "/"}`);
    expect(seen).toEqual(["a", "b/", "b/c/", "b/c/f", "b/out", "up"]);
  });

  test("a name that is not UTF-8 beside the UTF-8 name it decodes to (a\\xff, a\uFFFD): told to undecodable, not the other yielded twice", () => {
    const both = join(root, "collide");
    mkdirSync(both);
    writeFileSync(Buffer.from(`${both}/a\xff`, "latin1"), "hidden");
    writeFileSync(join(both, "a\uFFFD"), "shown");
    const seen: string[] = [];
    const undecodable: string[] = [];
    for (const e of entriesBeneath(both, { undecodable: (rel) => undecodable.push(rel) })) seen.push(e.rel);
    expect(seen).toEqual(["a\uFFFD"]);
    expect(undecodable).toEqual(["a\uFFFD"]);
  });

  test("an entry marked skip before the next is asked for: its directory's children are not walked", () => {
    const seen: string[] = [];
    for (const e of entriesBeneath(tree)) {
      seen.push(e.rel);
      if (e.rel === "b") e.skip = true;
    }
    expect(seen).toEqual(["a", "b", "up"]);
  });

  test("lstatBeneath: what is there, the last link not followed; a path through a symlink out of the root is nothing", () => {
    const d = BeneathDir.open(tree);
    try {
      expect(d.lstatBeneath("b/c/f")?.size).toBe(1);
      expect((d.lstatBeneath("b/out")!.mode & S_IFMT) === S_IFLNK).toBe(true);
      expect(d.lstatBeneath("b/out/passwd")).toBeUndefined();
      expect(d.lstatBeneath("up/etc/passwd")).toBeUndefined();
      expect(d.lstatBeneath("b/missing/x")).toBeUndefined();
    } finally {
      d.close();
    }
  });
});

describe("device numbers: makeDev and devParts", () => {
  test("the kernel's st_rdev of /dev/null is 1:3 both ways; numbers past the old 8/12-bit fields round-trip", () => {
    const rdev = BigInt(statPath("/dev/null").rdev);
    expect(devParts(rdev)).toEqual({ devmajor: 1, devminor: 3 });
    expect(makeDev(1, 3)).toBe(rdev);
    for (const [devmajor, devminor] of [[0, 0], [259, 65536], [4095, 255], [4096, 256], [0xfffff, 0xfffff]] as const) {
      expect(devParts(makeDev(devmajor, devminor))).toEqual({ devmajor, devminor });
    }
  });
});
