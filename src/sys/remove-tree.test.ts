/**
 * src/sys/remove-tree.ts on a real tree: files, nested directories, symlinks (removed,
 * not followed), FIFOs; a missing path is fine.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkfifo } from "./libc.ts";
import { removeTree } from "./remove-tree.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-remove-tree-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("removes a directory and everything below it, following no symlink out of it", () => {
  const outside = join(dir, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "kept"), "x");
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "a", "b", "c"), { recursive: true });
  writeFileSync(join(tree, "a", "b", "c", "deep"), "x");
  writeFileSync(join(tree, "top"), "x");
  symlinkSync(outside, join(tree, "a", "to-outside"));
  symlinkSync("missing", join(tree, "dangling"));
  expect(mkfifo(join(tree, "a", "fifo"), 0o600)).toBe(0);
  removeTree(tree);
  expect(existsSync(tree)).toBe(false);
  expect(existsSync(join(outside, "kept"))).toBe(true);
});

test("a single file, and a path that is not there", () => {
  writeFileSync(join(dir, "file"), "x");
  removeTree(join(dir, "file"));
  expect(existsSync(join(dir, "file"))).toBe(false);
  removeTree(join(dir, "never"));
});

test("a failure other than 'gone' is raised with its path", () => {
  expect(() => removeTree(join(dir, "x\0y"))).toThrow("EINVAL");
});

test("names that are not UTF-8 (a container's touch $'\\xff'), a directory's too, go as well", () => {
  const tree = join(dir, "bytes");
  const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
  mkdirSync(raw(tree, "/d", [0xfe]), { recursive: true });
  writeFileSync(raw(tree, "/d", [0xfe], "/f", [0xff]), "x");
  writeFileSync(raw(tree, "/a", [0xff], "b"), "x");
  writeFileSync(join(tree, "plain"), "x");
  removeTree(tree);
  expect(existsSync(tree)).toBe(false);
});
