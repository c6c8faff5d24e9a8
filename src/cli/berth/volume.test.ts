/**
 * docker's copy-up on real containers: a new volume (named, anonymous, or the image's
 * VOLUME) starts with the image's files at its mount path — contents, owners, modes,
 * symlinks — unless it already has data or the mount says nocopy. The image is a real
 * one: the busybox root with a /data tree, made into an image by `berth import`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, canRunConmon, EngineFixture } from "../../../test/engine-harness.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon;
// made in beforeAll, not while the file is collected: a run whose filter skips every test here runs no afterAll
let fx = undefined as unknown as EngineFixture;
beforeAll(() => {
  if (ok) fx = new EngineFixture("vol");
});
afterAll(() => fx?.cleanup());

const IMAGE = `seeded-${process.pid}:1`;

/** The volume's directory on the host, as `volume inspect` gives it. */
function mountpoint(name: string): string {
  const r = fx.berth(["volume", "inspect", "-f", "{{.Mountpoint}}", name]);
  if (r.code !== 0) throw new Error(`volume inspect ${name}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The busybox root with /data (owned 1234:5678, 0750) holding a file, a symlink and a subdirectory; /escape -> ../../../../etc. */
beforeAll(() => {
  if (!ok) return;
  const root = join(fx.dir, "image-root");
  rmSync(root, { recursive: true, force: true });
  Bun.spawnSync(["cp", "-a", fx.rootfs, root]);
  mkdirSync(join(root, "data/sub"), { recursive: true });
  writeFileSync(join(root, "data/f"), "from the image\n");
  chownSync(join(root, "data/f"), 42, 43);
  chmodSync(join(root, "data/f"), 0o640);
  writeFileSync(join(root, "data/sub/g"), "deeper\n");
  symlinkSync("f", join(root, "data/link"));
  chownSync(join(root, "data"), 1234, 5678);
  chmodSync(join(root, "data"), 0o750);
  writeFileSync(join(root, "etc/only-in-image"), "image's /etc\n");
  symlinkSync("../../../../../../../etc", join(root, "escape"));
  const tar = join(fx.dir, "image.tar");
  expect(Bun.spawnSync(["tar", "--numeric-owner", "-C", root, "-cf", tar, "."]).exitCode).toBe(0);
  const imported = fx.berth(["import", "-c", 'VOLUME ["/data"]', tar, IMAGE]);
  expect(imported.code).toBe(0);
  rmSync(root, { recursive: true, force: true });
});

/** berth run --rm of the seeded image */
const runImage = (flags: string[], cmd: string[]) => fx.berth(["run", "--rm", "--network", "none", "--cgroup-parent", fx.cgroupParent, ...flags, IMAGE, ...cmd]);

describe.skipIf(!ok)("a new volume is seeded from the image (docker's copy-up)", () => {
  test("-v NAME:/data: the image's files with their owners, modes and symlinks, the directory's own owner and mode", () => {
    const r = runImage(["-v", `named-${process.pid}:/data`], ["sh", "-c", "stat -c '%u:%g %a' /data /data/f; readlink /data/link; cat /data/f /data/sub/g"]);
    expect(r).toMatchObject({ code: 0, stdout: "1234:5678 750\n42:43 640\nf\nfrom the image\ndeeper\n" });
    const data = mountpoint(`named-${process.pid}`);
    expect(lstatSync(data)).toMatchObject({ uid: 1234, gid: 5678 });
    expect(lstatSync(data).mode & 0o7777).toBe(0o750);
    expect(lstatSync(join(data, "f"))).toMatchObject({ uid: 42, gid: 43 });
    expect(lstatSync(join(data, "link")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(data, "link"))).toBe("f");
  });
  test("a volume that has data is not seeded again: what a container removed stays removed, its own files stay", () => {
    const name = `named-${process.pid}`;
    expect(runImage(["-v", `${name}:/data`], ["sh", "-c", "rm /data/f && echo mine > /data/own"]).code).toBe(0);
    const r = runImage(["-v", `${name}:/data`], ["ls", "/data"]);
    expect(r).toMatchObject({ code: 0, stdout: "link\nown\nsub\n" });
    expect(readFileSync(join(mountpoint(name), "own"), "utf8")).toBe("mine\n");
  });
  test("an empty volume made by `volume create` is seeded at its first use", () => {
    const name = `made-${process.pid}`;
    expect(fx.berth(["volume", "create", name]).code).toBe(0);
    expect(readdirSync(mountpoint(name))).toEqual([]);
    expect(runImage(["-v", `${name}:/data:ro`], ["cat", "/data/f"])).toMatchObject({ code: 0, stdout: "from the image\n" });
  });
  test("nocopy (-v …:nocopy, --mount …,volume-nocopy) leaves the new volume empty", () => {
    expect(runImage(["-v", `nc1-${process.pid}:/data:nocopy`], ["ls", "-A", "/data"])).toMatchObject({ code: 0, stdout: "" });
    expect(runImage(["--mount", `type=volume,src=nc2-${process.pid},dst=/data,volume-nocopy`], ["ls", "-A", "/data"])).toMatchObject({ code: 0, stdout: "" });
    expect(readdirSync(mountpoint(`nc2-${process.pid}`))).toEqual([]);
  });
  test("the image's VOLUME and -v /data give a seeded anonymous volume, removed with the --rm container", () => {
    const before = fx.berth(["volume", "ls", "-q"]).stdout;
    expect(runImage([], ["cat", "/data/f"])).toMatchObject({ code: 0, stdout: "from the image\n" });
    expect(runImage(["-v", "/data"], ["stat", "-c", "%u:%g", "/data"])).toMatchObject({ code: 0, stdout: "1234:5678\n" });
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe(before);
    // kept while the container is: inspect shows the anonymous volume at /data
    const id = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, IMAGE, "sleep", "60"]).stdout.trim();
    const mounts = fx.inspect(id).Mounts as { Type: string; Name: string; Destination: string }[];
    const anon = mounts.find((m) => m.Destination === "/data");
    expect(anon?.Type).toBe("volume");
    expect(anon?.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(mountpoint(anon!.Name), "f"), "utf8")).toBe("from the image\n");
    expect(fx.berth(["rm", "-f", "-v", id]).code).toBe(0);
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe(before);
  });
  test("a bind mount over the image's VOLUME replaces it: no volume, nothing copied into the host directory", () => {
    const host = join(fx.dir, "bind-data");
    const before = fx.berth(["volume", "ls", "-q"]).stdout;
    expect(runImage(["-v", `${host}:/data`], ["ls", "-A", "/data"])).toMatchObject({ code: 0, stdout: "" });
    expect(readdirSync(host)).toEqual([]);
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe(before);
  });
  test("a symlink in the image that climbs out resolves inside the image's root, never the host's", () => {
    const name = `esc-${process.pid}`;
    expect(runImage(["-v", `${name}:/escape`], ["true"]).code).toBe(0);
    const seeded = readdirSync(mountpoint(name));
    expect(seeded).toContain("only-in-image");
    expect(existsSync("/etc/debian_version")).toBe(true);
    expect(seeded).not.toContain("debian_version");
  });
});

describe.skipIf(!ok)("inspect of an image or a volume, as docker's inspect finds any object", () => {
  test("a container first, then an image, then a volume; --type picks one; nothing: 'No such object', exit 1", () => {
    const name = `obj-${process.pid}`;
    expect(fx.berth(["volume", "create", name]).code).toBe(0);
    const image = JSON.parse(fx.berth(["inspect", IMAGE]).stdout)[0];
    expect(image.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.RepoTags).toEqual([IMAGE]);
    expect(image.Config.Volumes).toEqual({ "/data": {} });
    expect(fx.berth(["inspect", "-f", "{{.Name}} {{.Driver}}", name]).stdout).toBe(`${name} local\n`);
    expect(fx.berth(["inspect", "--type", "volume", "-f", "{{.Mountpoint}}", name]).stdout).toBe(`${mountpoint(name)}\n`);
    const wrongType = fx.berth(["inspect", "--type", "image", name]);
    expect(wrongType).toMatchObject({ code: 1, stdout: "[]\n", stderr: `Error: No such object: ${name}\n` });
    const none = fx.berth(["inspect", "Nothing-Here", IMAGE]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("Error: No such object: Nothing-Here\n");
    expect(JSON.parse(none.stdout)).toHaveLength(1);
    const badType = fx.berth(["inspect", "--type", "plugin", name]);
    expect(badType.code).toBe(125);
    expect(badType.stderr).toBe('berth: --type: type "plugin" is not inspected here; use container, image, volume\n');
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
  });
});

describe.skipIf(!ok)("volume ls --filter/--format, volume prune as docker prints it", () => {
  test("dangling, name, label filters; a template; prune: 'Deleted Volumes', the bytes reclaimed, label filters, named ones only with -a", () => {
    const tag = `ls${process.pid}`;
    expect(fx.berth(["volume", "create", "-l", "app=web", `${tag}-kept`]).code).toBe(0);
    expect(fx.berth(["volume", "create", `${tag}-free`]).code).toBe(0);
    const id = fx.runDetached(["-v", `${tag}-kept:/k`], ["sh", "-c", "head -c 1500 /dev/zero > /k/f; sleep 600"]);
    expect(fx.berth(["volume", "ls", "-q", "--filter", `name=${tag}`, "--filter", "dangling=true"]).stdout).toBe(`${tag}-free\n`);
    expect(fx.berth(["volume", "ls", "-q", "--filter", `name=${tag}`, "--filter", "dangling=false"]).stdout).toBe(`${tag}-kept\n`);
    expect(fx.berth(["volume", "ls", "--filter", "label=app=web", "--format", "{{.Name}} {{.Labels}} {{.Driver}}"]).stdout).toBe(`${tag}-kept app=web local\n`);
    const table = fx.berth(["volume", "ls", "--filter", "label=app", "--format", "table {{.Name}}\t{{.Scope}}"]).stdout;
    expect(table).toMatch(new RegExp(`^VOLUME NAME\\s+SCOPE\n${tag}-kept\\s+local\n$`));
    const bad = fx.berth(["volume", "ls", "--filter", "colour=red"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --filter: invalid filter "colour=red"; use KEY=VALUE with KEY one of dangling, name, label, driver\n$/);
    // an anonymous volume of a removed container: what plain prune takes
    const anon = fx.runDetached(["-v", "/scratch"], ["sh", "-c", "head -c 2000 /dev/zero > /scratch/f"]);
    const anonName = (fx.inspect(anon).Mounts as { Name: string; Destination: string }[]).find((m) => m.Destination === "/scratch")!.Name;
    expect(fx.berth(["wait", anon]).stdout).toBe("0\n");
    expect(fx.berth(["rm", anon]).code).toBe(0);
    expect(fx.berth(["volume", "prune", "-f", "--filter", "label=app"]).stdout).toBe("Total reclaimed space: 0B\n");
    expect(fx.berth(["volume", "prune", "-f"]).stdout).toBe(`Deleted Volumes:\n${anonName}\n\nTotal reclaimed space: 2kB\n`);
    expect(fx.berth(["volume", "prune", "-f", "-a", "--filter", `label!=app`]).stdout).toContain(`${tag}-free\n`);
    expect(fx.berth(["volume", "ls", "-q", "--filter", `name=${tag}`]).stdout).toBe(`${tag}-kept\n`);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
});
