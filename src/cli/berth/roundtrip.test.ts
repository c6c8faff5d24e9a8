/**
 * Archives across tools: what berth saves loads in podman and skopeo, and what they save
 * loads in berth, with the same image id (config digest) both ways; a real Debian root
 * filesystem (mmdebstrap) imported, run through a chroot, saved and read by podman.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { busyboxImageLayout } from "../../../test/clients/registry.ts";
import { debianRootfsTar } from "../../../test/debian-rootfs.ts";
import { engineRoot } from "../../../test/image-fixture.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { enginePaths } from "../../engine/paths.ts";
import { mountSnapshot, unmountSnapshot } from "../../engine/snapshot/mount.ts";

setDefaultTimeout(900_000); // the Debian root is built once per boot (~3 minutes)

const work = mkdtempSync(join(tmpdir(), `berth-roundtrip-${process.pid}-`));
const store = engineRoot("roundtrip");
// a private podman store (vfs: no mounts to leave behind)
const PODMAN = ["podman", "--root", join(work, "podman-root"), "--runroot", join(work, "podman-run"), "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"];
const busyboxDir = dirname(busyboxImageLayout());

afterAll(() => {
  store.remove();
  rmSync(work, { recursive: true, force: true });
});

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

const berthId = (ref: string) => JSON.parse(store.berth(["image", "inspect", ref]).stdout)[0].Id as string;

describe("round trips", () => {
  test("berth save (docker-archive) → podman load → podman save → berth load: one image id all the way", () => {
    expect(store.berth(["load", "-i", join(busyboxDir, "busybox-docker.tar")]).code).toBe(0);
    const id = berthId("busybox");
    const saved = join(work, "berth-busybox.tar");
    expect(store.berth(["save", "-o", saved, "busybox"]).code).toBe(0);
    // podman names a docker-archive's short RepoTags (docker's "busybox:latest") under localhost/
    expect(run([...PODMAN, "load", "-i", saved])).toBe("Loaded image: localhost/busybox:latest\n");
    expect(run([...PODMAN, "image", "inspect", "--format", "{{.Id}}", "localhost/busybox:latest"]).trim()).toBe(id.slice(7));
    const back = join(work, "podman-busybox.tar");
    run([...PODMAN, "tag", "localhost/busybox:latest", "localhost/from-podman:1"]);
    run([...PODMAN, "save", "-o", back, "localhost/from-podman:1"]);
    const r = store.berth(["load", "-i", back]);
    expect([r.code, r.stdout]).toEqual([0, "Loaded image: localhost/from-podman:1\n"]);
    expect(berthId("localhost/from-podman:1")).toBe(id);
  });

  test("berth save --format oci-archive → skopeo, and podman's oci-archive → berth load", () => {
    const id = berthId("busybox");
    const saved = join(work, "berth-busybox-oci.tar");
    expect(store.berth(["save", "--format", "oci-archive", "-o", saved, "busybox"]).code).toBe(0);
    const inspected = JSON.parse(run(["skopeo", "inspect", "--config", `oci-archive:${saved}`]));
    expect(inspected.rootfs.diff_ids).toEqual(JSON.parse(store.berth(["image", "inspect", "busybox"]).stdout)[0].RootFS.Layers);
    run(["skopeo", "--insecure-policy", "copy", "--quiet", `oci-archive:${saved}`, `oci:${join(work, "layout")}:copied`]);
    const podmanOci = join(work, "podman-oci.tar");
    run([...PODMAN, "save", "--format", "oci-archive", "-o", podmanOci, "localhost/from-podman:1"]);
    const r = store.berth(["load", "-i", podmanOci]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Loaded image: /);
    expect(store.berth(["images", "-q", "--no-trunc"]).stdout).toContain(id);
  });

  test("a Debian root filesystem: imported, usable through a chroot (dpkg reads its database), saved, read by podman", () => {
    const tar = debianRootfsTar();
    const r = store.berth(["import", tar, "debian:minbase", "-c", 'CMD ["bash"]']);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const images = new ImageStore(enginePaths({ root: store.root, runroot: store.runroot }));
    const target = join(work, "debian-rootfs");
    mkdirSync(target);
    mountSnapshot(images.prepareRootfs("debian-test", images.resolve("debian:minbase")), target);
    try {
      expect(readFileSync(join(target, "etc/debian_version"), "utf8")).toMatch(/^12\./);
      const dpkg = Bun.spawnSync(["chroot", target, "/usr/bin/dpkg-query", "-W", "-f", "${Package}\n", "bash"], { stdout: "pipe", stderr: "pipe" });
      expect([dpkg.exitCode, dpkg.stdout.toString()]).toEqual([0, "bash\n"]);
      // set-uid kept: su is 4755 root
      const su = Bun.spawnSync(["stat", "-c", "%a %u", join(target, "usr/bin/su")]).stdout.toString().trim();
      expect(su).toBe("4755 0");
    } finally {
      unmountSnapshot(target);
      images.removeRootfs("debian-test");
    }
    const saved = join(work, "debian.tar");
    expect(store.berth(["save", "-o", saved, "debian:minbase"]).code).toBe(0);
    run([...PODMAN, "load", "-i", saved]);
    expect(run([...PODMAN, "image", "inspect", "--format", "{{json .Config.Cmd}}", "localhost/debian:minbase"]).trim()).toBe('["bash"]');
  });
});
