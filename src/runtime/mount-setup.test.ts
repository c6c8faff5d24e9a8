/**
 * Mount set-ups runc handles and bundles from other tools rely on: a bind mount whose
 * source only the host's root can reach, in a container with its own user namespace
 * (the source is opened on the host, before the namespace, as runc does), and a
 * read-only /dev (its submounts and devices made first, read-only last).
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, cgroupDirsFor, RuntimeFixture } from "../../test/runtime-harness.ts";
import { rootlessSpec } from "../spec/default-spec.ts";
import type { Spec } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("mountset");
afterAll(() => fx.cleanup(), 60_000);

function run(script: string, change: (s: Spec) => void): { out: string; err: string; code: number } {
  const id = fx.id();
  const r = fx.runSpec(id, fx.spec(id, (s) => {
    s.process!.args = ["sh", "-c", script];
    change(s);
  }));
  return { out: r.stdout, err: r.stderr, code: r.code };
}

describe.skipIf(!canRunContainers)("a bind source only the host's root can reach, with a user namespace", () => {
  test("the container's root (host uid 100000) gets the bind of a directory and of a file and reads through them", () => {
    // <dir>/root-only (0700, root) / shared (0755) / hello: the mapped root cannot search root-only
    const rootOnly = join(fx.dir, "root-only");
    const shared = join(rootOnly, "shared");
    mkdirSync(shared, { recursive: true });
    chmodSync(rootOnly, 0o700);
    chmodSync(shared, 0o755);
    writeFileSync(join(shared, "hello"), "from the host\n");
    const file = join(rootOnly, "file");
    writeFileSync(file, "a file\n");
    chmodSync(file, 0o644);
    // onto directories and files the shared rootfs has (the mapped root could not make new ones there)
    const r = run("cat /root/hello /etc/group; cat /proc/self/uid_map", (s) => {
      rootlessSpec(s, 100000, 100000);
      s.mounts!.push({ destination: "/root", type: "bind", source: shared, options: ["rbind", "ro"] });
      s.mounts!.push({ destination: "/etc/group", type: "bind", source: file, options: ["bind"] });
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^from the host\na file\n\s+0\s+100000\s+1\n$/);
    // the host's side is as it was
    expect(readFileSync(join(shared, "hello"), "utf8")).toBe("from the host\n");
  });

  test("a bind source that is not there fails create naming the mount, and leaves nothing", () => {
    const id = fx.id();
    const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => {
      rootlessSpec(s, 100000, 100000);
      s.mounts!.push({ destination: "/root", type: "bind", source: join(fx.dir, "no-such-dir"), options: ["rbind"] });
    })), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("mounts[");
    expect(r.stderr).toContain("(/root)");
    expect(r.stderr).toContain("no such file or directory");
    expect(cgroupDirsFor(id)).toEqual([]);
  });
});

describe.skipIf(!canRunContainers)("a read-only /dev", () => {
  test("/dev/pts, the devices and the console are made in it, then it is read-only", () => {
    const r = run("ls /dev/pts/ptmx && echo > /dev/null && echo devices-ok; touch /dev/new 2>&1 || echo dev-read-only; grep ' /dev ' /proc/self/mounts", (s) => {
      s.mounts = s.mounts!.map((m) => (m.destination === "/dev" ? { ...m, options: [...(m.options ?? []), "ro"] } : m));
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("/dev/pts/ptmx\ndevices-ok\n");
    expect(r.out).toContain("Read-only file system");
    expect(r.out).toContain("dev-read-only\n");
    expect(r.out).toMatch(/^tmpfs \/dev tmpfs ro,/m);
  });

  test("a read-only tmpfs with a mount below it: the mount point is made first, then it is read-only", () => {
    const r = run("ls -d /tmp/sub && touch /tmp/sub/w && echo sub-writable; touch /tmp/x 2>/dev/null || echo tmp-read-only", (s) => {
      s.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid"] });
      s.mounts!.push({ destination: "/tmp/sub", type: "tmpfs", source: "tmpfs" });
    });
    expect(r.err).toBe("");
    expect(r.out).toBe("/tmp/sub\nsub-writable\ntmp-read-only\n");
  });
});
