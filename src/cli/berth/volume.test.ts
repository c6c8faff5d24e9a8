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

describe.skipIf(!ok)("volume create --label, as docker's CLI reads it", () => {
  test("KEY alone is an empty label (not KEY=KEY); a label without a key is refused in one line, nothing made", () => {
    const name = `labels${process.pid}`;
    expect(fx.berth(["volume", "create", "--label", "solo", "--label", "url=a=b", name]).code).toBe(0);
    expect(JSON.parse(fx.berth(["volume", "inspect", "-f", "{{json .Labels}}", name]).stdout)).toEqual({ solo: "", url: "a=b" });
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
    const bad = fx.berth(["volume", "create", "--label", "=x", `${name}-bad`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^berth: (--label: )?invalid label "=x"; use KEY=VALUE or KEY\n$/);
    expect(fx.berth(["volume", "ls", "-q", "--filter", `name=${name}`]).stdout).toBe("");
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

/** Is anything mounted on `path` in this (the host's) mount namespace? */
function hostMounted(path: string): string | undefined {
  const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === path);
  return line?.split(" - ")[1]?.split(" ")[0];
}

describe.skipIf(!ok)("volume create --opt: docker's local driver mounts type/device/o while a container uses the volume", () => {
  test("tmpfs with size and uid: mounted when the first container starts, kept for the second, unmounted when the last stops; inspect shows Options", () => {
    const name = `tmpv-${process.pid}`;
    expect(fx.berth(["volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "-o", "o=size=64m,uid=1000", name])).toMatchObject({ code: 0, stdout: `${name}\n` });
    const v = JSON.parse(fx.berth(["volume", "inspect", name]).stdout)[0];
    expect(v.Options).toEqual({ type: "tmpfs", device: "tmpfs", o: "size=64m,uid=1000" });
    const data = v.Mountpoint as string;
    // docker mounts at container start, not at create
    expect(hostMounted(data)).toBeUndefined();
    const a = fx.runDetached(["-v", `${name}:/t`], ["sh", "-c", "[ -e /t/f ] && touch /t/seen-again; echo shared > /t/f; sleep 600"]);
    expect(hostMounted(data)).toBe("tmpfs");
    const inside = fx.run(["--rm", "-v", `${name}:/t`], ["sh", "-c", "stat -f -c %T /t; stat -c %u /t; df -k /t | tail -1 | awk '{print $2}'; cat /t/f"]);
    expect(inside).toMatchObject({ code: 0, stdout: "tmpfs\n1000\n65536\nshared\n" });
    // the --rm container was not the last holder: the first one still runs on it
    expect(hostMounted(data)).toBe("tmpfs");
    expect(fx.berth(["stop", "-t", "0", a]).code).toBe(0);
    expect(hostMounted(data)).toBeUndefined();
    expect(readdirSync(data)).toEqual([]);
    // started again: a fresh tmpfs, as docker's (the file lived in the one unmounted)
    expect(fx.berth(["start", a]).code).toBe(0);
    expect(hostMounted(data)).toBe("tmpfs");
    expect(fx.berth(["exec", a, "ls", "-A", "/t"])).toMatchObject({ code: 0, stdout: "f\n" });
    // in use: not removed; rm -f of the container releases it
    expect(fx.berth(["volume", "rm", name]).code).not.toBe(0);
    expect(fx.berth(["rm", "-f", a]).code).toBe(0);
    expect(hostMounted(data)).toBeUndefined();
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
    expect(existsSync(data)).toBe(false);
  });
  test("type=none,o=bind,device=DIR: the host directory is the volume, seeded from the image when empty; volume rm unmounts it and leaves it", () => {
    const name = `bindv-${process.pid}`;
    const host = join(fx.dir, `bind-device-${process.pid}`);
    mkdirSync(host);
    expect(fx.berth(["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", `device=${host}`, name]).code).toBe(0);
    const data = mountpoint(name);
    // docker's copy-up: mounted for the copy at create, so the image's files land in the host directory
    expect(runImage(["-v", `${name}:/data`], ["sh", "-c", "cat /data/f; echo from-container > /data/new"])).toMatchObject({ code: 0, stdout: "from the image\n" });
    expect(hostMounted(data)).toBeUndefined();
    expect(readFileSync(join(host, "f"), "utf8")).toBe("from the image\n");
    expect(readFileSync(join(host, "new"), "utf8")).toBe("from-container\n");
    expect(readdirSync(data)).toEqual([]);
    // cp from a stopped container mounts it for the copy, as docker's cp does, and unmounts it after
    const stopped = fx.berth(["create", "--network", "none", "--cgroup-parent", fx.cgroupParent, "-v", `${name}:/data`, IMAGE, "true"]).stdout.trim();
    const out = join(fx.dir, `cp-out-${process.pid}`);
    expect(fx.berth(["cp", `${stopped}:/data/new`, out]).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("from-container\n");
    expect(hostMounted(data)).toBeUndefined();
    expect(fx.berth(["rm", stopped]).code).toBe(0);
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
    expect(readdirSync(host).sort()).toEqual(["f", "link", "new", "sub"]);
  });
  test("a tmpfs volume's copy-up is gone with the tmpfs it was made in (moby#27068: mounted for the copy, unmounted after)", () => {
    const name = `tmpseed-${process.pid}`;
    expect(fx.berth(["volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", name]).code).toBe(0);
    expect(runImage(["-v", `${name}:/data`], ["ls", "-A", "/data"])).toMatchObject({ code: 0, stdout: "" });
    expect(hostMounted(mountpoint(name))).toBeUndefined();
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
  });
  test("type=ext4 on a loop device: the filesystem's data outlives each container; unmounted between them", () => {
    const img = join(fx.dir, `ext4-${process.pid}.img`);
    expect(Bun.spawnSync(["truncate", "-s", "32M", img]).exitCode).toBe(0);
    expect(Bun.spawnSync(["mkfs.ext4", "-q", "-F", img]).exitCode).toBe(0);
    const loop = Bun.spawnSync(["losetup", "--find", "--show", img]);
    expect(loop.exitCode).toBe(0);
    const dev = loop.stdout.toString().trim();
    const name = `ext4v-${process.pid}`;
    try {
      expect(fx.berth(["volume", "create", "--opt", "type=ext4", "--opt", `device=${dev}`, name]).code).toBe(0);
      const data = mountpoint(name);
      expect(fx.run(["--rm", "-v", `${name}:/disk`], ["sh", "-c", "stat -f -c %T /disk; echo kept > /disk/k"])).toMatchObject({ code: 0, stdout: "ext2/ext3\n" });
      expect(hostMounted(data)).toBeUndefined();
      expect(fx.run(["--rm", "-v", `${name}:/disk`], ["cat", "/disk/k"])).toMatchObject({ code: 0, stdout: "kept\n" });
    } finally {
      fx.berth(["volume", "rm", name]);
      Bun.spawnSync(["losetup", "-d", dev]);
    }
  });
  test("run --mount …,volume-opt=…: a new volume made with those options (and volume-label), mounted for the container; bad ones leave nothing", () => {
    const name = `mountopt-${process.pid}`;
    const mount = `type=volume,src=${name},dst=/t,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"volume-opt=o=size=8m,mode=0700",volume-label=made=by-mount`;
    expect(fx.run(["--rm", "--mount", mount], ["sh", "-c", "stat -f -c %T /t; stat -c %a /t; df -k /t | tail -1 | awk '{print $2}'"])).toMatchObject({ code: 0, stdout: "tmpfs\n700\n8192\n" });
    const v = JSON.parse(fx.berth(["volume", "inspect", name]).stdout)[0];
    expect({ Options: v.Options, Labels: v.Labels }).toEqual({ Options: { type: "tmpfs", device: "tmpfs", o: "size=8m,mode=0700" }, Labels: { made: "by-mount" } });
    expect(hostMounted(v.Mountpoint)).toBeUndefined();
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
    const before = { volumes: fx.berth(["volume", "ls", "-q"]).stdout, containers: fx.records() };
    const bad = fx.run(["--rm", "--mount", `type=volume,src=${name},dst=/t,volume-opt=colour=red`], ["true"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(`berth: --mount: volume-opt: invalid option "colour" for the local driver; use type=, device= and o= (type=tmpfs,device=tmpfs,o=size=64m or type=none,device=/host/dir,o=bind) in "type=volume,src=${name},dst=/t,volume-opt=colour=red"\n`);
    expect({ volumes: fx.berth(["volume", "ls", "-q"]).stdout, containers: fx.records() }).toEqual(before);
  });
  test("bad options: one line naming the option and the fix, exit 1 as docker's daemon refusal, nothing made; a mount that fails at start leaves nothing held", () => {
    const before = fx.berth(["volume", "ls", "-q"]).stdout;
    const cases: [string[], RegExp][] = [
      [["--opt", "colour=red"], /^berth: --opt: invalid option "colour" for the local driver; use type=, device= and o= \(/],
      [["--opt", "type=tmpfs"], /^berth: --opt: type= needs device= too/],
      [["--opt", "o=size=1m"], /^berth: --opt: o= needs device= too/],
      [["--opt", "size=10m"], /^berth: --opt: size=10m: a volume size needs the local driver's quota support, which berth lacks/],
      [["--driver", "nfs"], /^berth: --driver: driver "nfs" is not available \(no volume plugins here\); use local\n$/],
    ];
    for (const [flags, message] of cases) {
      const r = fx.berth(["volume", "create", ...flags, `bad-${process.pid}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe(before);
    // well-formed, but nothing to mount: the start fails naming the volume and mount(8)'s reason
    const name = `nodev-${process.pid}`;
    expect(fx.berth(["volume", "create", "--opt", "type=ext4", "--opt", `device=/dev/no-such-disk-${process.pid}`, name]).code).toBe(0);
    const r = fx.run(["--rm", "-v", `${name}:/disk`], ["true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(new RegExp(`^berth: volume: error while mounting volume ${name} \\(type=ext4 device=/dev/no-such-disk-${process.pid} o=\\): .+; fix its options`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(hostMounted(mountpoint(name))).toBeUndefined();
    expect(fx.berth(["ps", "-a", "-q", "--filter", `volume=${name}`]).stdout).toBe("");
    expect(fx.berth(["volume", "rm", name]).code).toBe(0);
  });
});
