import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { homeOf } from "./create.ts";

const dir = mkdtempSync(join(tmpdir(), `berth-home-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rootWith(name: string, passwd: (etc: string) => void): string {
  const root = join(dir, name);
  mkdirSync(join(root, "etc"), { recursive: true });
  passwd(join(root, "etc"));
  return root;
}

describe("homeOf: HOME from the image's /etc/passwd", () => {
  test("the uid's home field; none for an unknown uid or an empty field", () => {
    const root = rootWith("plain", (etc) => writeFileSync(join(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/srv/web:/bin/sh\nnohome:x:7:7:::\n"));
    expect(homeOf(root, 0)).toBe("/root");
    expect(homeOf(root, 1000)).toBe("/srv/web");
    expect(homeOf(root, 7)).toBeUndefined();
    expect(homeOf(root, 42)).toBeUndefined();
  });
  test("a symlinked passwd is resolved inside the rootfs, as runc's init reads it after pivot_root", () => {
    const root = rootWith("linked", (etc) => {
      writeFileSync(join(etc, "passwd.real"), "root:x:0:0::/inside:/bin/sh\n");
      symlinkSync("/etc/passwd.real", join(etc, "passwd"));
    });
    expect(homeOf(root, 0)).toBe("/inside");
  });
  test("a FIFO, or a symlink to the host's /dev/zero, is no passwd (HOME falls back to /) — and does not block", () => {
    const fifo = rootWith("fifo", (etc) => expect(Bun.spawnSync(["mkfifo", join(etc, "passwd")]).exitCode).toBe(0));
    expect(homeOf(fifo, 0)).toBeUndefined();
    const zero = rootWith("zero", (etc) => symlinkSync("/dev/zero", join(etc, "passwd")));
    expect(homeOf(zero, 0)).toBeUndefined();
  });
});
