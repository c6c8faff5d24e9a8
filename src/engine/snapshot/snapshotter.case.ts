/**
 * The behaviour every snapshotter keeps (Hono's shared-suite pattern): each
 * implementation's test file calls `runSnapshotterSuite` with a factory. Mounts are made
 * for real (root): what a container would see through them is what is checked.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Snapshotter } from "./snapshotter.ts";
import { writableDirOf } from "./snapshotter.ts";
import { mountSnapshot, unmountSnapshot } from "./mount.ts";

export function runSnapshotterSuite(name: string, make: (dir: string) => Snapshotter): void {
  describe(`${name} snapshotter`, () => {
    const base = mkdtempSync(join(tmpdir(), `berth-snap-${process.pid}-`));
    let n = 0;
    const fresh = () => {
      const dir = join(base, `s${n++}`);
      mkdirSync(dir);
      return make(dir);
    };
    const target = () => {
      const t = join(base, `mnt${n++}`);
      mkdirSync(t);
      return t;
    };
    afterAll(() => rmSync(base, { recursive: true, force: true }));

    /** a committed layer holding `files` over `parent` */
    const layer = (s: Snapshotter, key: string, parent: string | undefined, files: Record<string, string>) => {
      const dir = writableDirOf(s.prepare(`tmp-${key}`, parent));
      for (const [p, c] of Object.entries(files)) {
        mkdirSync(join(dir, p, ".."), { recursive: true });
        writeFileSync(join(dir, p), c);
      }
      s.commit(key, `tmp-${key}`);
    };

    const withMount = <T>(s: Snapshotter, key: string, fn: (root: string) => T): T => {
      const t = target();
      mountSnapshot(s.mounts(key), t);
      try {
        return fn(t);
      } finally {
        unmountSnapshot(t);
      }
    };

    test("an active snapshot over a chain shows every layer, the upper one on top, and writes go to its own directory", () => {
      const s = fresh();
      layer(s, "l1", undefined, { "a": "1", "shared": "from l1" });
      layer(s, "l2", "l1", { "b": "2", "shared": "from l2" });
      s.prepare("c1", "l2");
      expect(s.stat("c1")).toMatchObject({ kind: "active", parent: "l2" });
      const upper = writableDirOf(s.mounts("c1"));
      withMount(s, "c1", (root) => {
        expect(readFileSync(join(root, "a"), "utf8")).toBe("1");
        expect(readFileSync(join(root, "shared"), "utf8")).toBe("from l2");
        writeFileSync(join(root, "new"), "x");
        rmSync(join(root, "a"));
      });
      expect(readFileSync(join(upper, "new"), "utf8")).toBe("x");
      // the deletion is a whiteout in the container's upper dir; the layer is untouched
      expect(statSync(join(upper, "a")).isCharacterDevice()).toBe(true);
      withMount(s, "c1", (root) => expect(existsSync(join(root, "a"))).toBe(false));
    });

    test("a view is read-only; an active snapshot without parent is empty and writable", () => {
      const s = fresh();
      layer(s, "l1", undefined, { f: "1" });
      layer(s, "l2", "l1", { g: "2" });
      s.view("v", "l2");
      withMount(s, "v", (root) => {
        expect(readdirSync(root).sort()).toEqual(["f", "g"]);
        expect(() => writeFileSync(join(root, "h"), "")).toThrow(/EROFS|read-only/);
      });
      s.prepare("empty");
      withMount(s, "empty", (root) => {
        expect(readdirSync(root)).toEqual([]);
        writeFileSync(join(root, "x"), "");
      });
    });

    test("a snapshot with children cannot be removed; removing the children frees it", () => {
      const s = fresh();
      layer(s, "l1", undefined, { f: "1" });
      s.prepare("c", "l1");
      expect(() => s.remove("l1")).toThrow("snapshot l1 is in use: snapshot c stands on it");
      s.remove("c");
      s.remove("l1");
      expect(s.list()).toEqual([]);
    });

    test("keys are unique; parents must be committed; only active snapshots commit", () => {
      const s = fresh();
      layer(s, "l1", undefined, {});
      s.prepare("a", "l1");
      expect(() => s.prepare("a", "l1")).toThrow("already exists");
      expect(() => s.prepare("b", "a")).toThrow("is not committed");
      expect(() => s.prepare("b", "nope")).toThrow("does not exist");
      expect(() => s.commit("l2", "l1")).toThrow("is not active");
      expect(() => s.mounts("l1")).toThrow("is committed");
      expect(() => s.remove("nope")).toThrow("does not exist");
    });

    test("130 layers mount in one overlay: with absolute lowerdirs (~35 bytes each here) the options would pass the kernel's one page", () => {
      const s = fresh();
      let parent: string | undefined;
      for (let i = 0; i < 130; i++) {
        layer(s, `layer-${i}`, parent, { [`f${i}`]: String(i), top: String(i) });
        parent = `layer-${i}`;
      }
      s.prepare("deep", parent);
      const options = s.mounts("deep")[0]!.options.join(",");
      expect(options.split("lowerdir=")[1]!.split(":").length).toBe(130);
      withMount(s, "deep", (root) => {
        expect(readFileSync(join(root, "f0"), "utf8")).toBe("0");
        expect(readFileSync(join(root, "top"), "utf8")).toBe("129");
        expect(readdirSync(root).length).toBe(131);
      });
    }, 120_000); // 130 snapshots made and committed on a loaded machine; no timing is asserted
  });
}
