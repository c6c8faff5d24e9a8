/**
 * Where a new container's root filesystem comes from: an image (its config and an overlay
 * snapshot of its layers, from the image store) or, as podman's `--rootfs`, a directory
 * the user made. The one seam between the container engine and the image store.
 */
import { BerthError } from "../../errors.ts";
import { listDir, mkdirPath, realPath, statPath } from "../../sys/libc.ts";
import { ImageStore, type ImageRecord } from "../image/image-store.ts";
import { mountSnapshot, unmountSnapshot } from "../snapshot/mount.ts";
import type { Engine, PreparedRoot } from "./engine.ts";
import { liveStatus } from "./live-status.ts";
import { type ContainerRecord, NoSuchContainer } from "./records.ts";

/** A directory used as the container's root, as it is: no image config, no snapshot. */
export function directoryRoot(path: string): (id: string) => PreparedRoot {
  let dir: string;
  try {
    dir = realPath(path);
    if (!statPath(dir).isDirectory) throw new Error("not a directory");
  } catch {
    throw new BerthError(`${path} is not a directory; give the root filesystem's directory`, { field: "--rootfs" });
  }
  return () => ({ rootfs: dir, config: {}, image: dir, imageId: "", source: "directory", release: () => {} });
}

/** The bundle's rootfs directory of container `id`, where its snapshot is mounted. */
export function snapshotTarget(engine: Engine, id: string): string {
  return `${engine.store.dir(id)}/rootfs`;
}

/**
 * An image reference → its root: the image's config, and a writable overlay snapshot over
 * its layers mounted at the container's `rootfs` (h22's image store, docs/images.md).
 * `image` is what `images.find(ref)` (or the pull) gave the caller, passed on so that a
 * run reads the image index once.
 */
export function imageRoot(engine: Engine, images: ImageStore, ref: string, image: ImageRecord | undefined, pull: string | undefined): (id: string, ephemeral: boolean) => PreparedRoot {
  if (!image) {
    if (pull === "never") throw new BerthError(`No such image: ${ref}; load or import it first (berth load, berth import), or drop --pull never`, { field: "IMAGE" });
    throw new BerthError(`No such image: ${ref}; pull, load or import it first (berth pull ${ref}, berth load -i FILE); berth images lists what is here`, { field: "IMAGE" });
  }
  return (id, ephemeral) => {
    const config = images.config(image).config ?? {};
    const mounts = images.prepareRootfs(id, image, ephemeral);
    const target = snapshotTarget(engine, id);
    try {
      mkdirPath(target, 0o755);
      mountSnapshot(mounts, target);
    } catch (err) {
      images.removeRootfs(id);
      throw err;
    }
    return {
      rootfs: target, config, image: ref, imageId: image.id, source: "snapshot",
      release: () => releaseSnapshot(engine, id),
    };
  };
}

/** Unmount and remove container `id`'s snapshot; nothing there is fine. */
export function releaseSnapshot(engine: Engine, id: string): void {
  unmountSnapshot(snapshotTarget(engine, id));
  new ImageStore(engine.paths).removeRootfs(id);
}

/**
 * Unmount stopped container `id`'s snapshot, as docker's and podman's clean-up after an
 * exit do: a stopped container holds no mount (a host with hundreds would carry an overlay
 * each in every mount table it reads). Its files stay in the snapshot's upper directory;
 * start, cp and export mount it again. Busy (a reader still in it): left mounted, not
 * detached — a lazily detached overlay would live on beside the one the next start mounts
 * over the same upper directory. The caller knows the container is not running.
 */
export function unmountStoppedSnapshot(engine: Engine, id: string): void {
  try {
    unmountSnapshot(snapshotTarget(engine, id), { keepBusy: true });
  } catch {
    // still mounted is what a stopped container was before: no reason to fail its exit or a copy
  }
}

/**
 * A reader's view (cp, export) of container `r`'s files. A stopped container's snapshot is
 * mounted for it, under the container's lock, held until the reader is done: no start can
 * run the container meanwhile, and no other reader unmounts what this one reads (as
 * docker's cp holds the container's lock). What is returned unmounts it and lets go. A
 * running container's is mounted already: the lock is let go at once.
 */
export function mountForReader(engine: Engine, r: ContainerRecord): () => void {
  if (r.RootfsSource !== "snapshot") return () => {};
  const lock = engine.store.hold(r.Id);
  let mounted: boolean;
  try {
    mounted = ensureSnapshotMounted(engine, r.Id);
  } catch (err) {
    lock.release();
    throw err;
  }
  if (!mounted) {
    lock.release();
    return () => {};
  }
  return () => {
    try {
      unmountStoppedSnapshot(engine, r.Id);
    } finally {
      lock.release();
    }
  };
}

/**
 * Unmount container `id`'s snapshot if the container is not running — decided under its
 * lock, which a start holds while it mounts the snapshot and runs the container.
 */
export function unmountIfStopped(engine: Engine, id: string): void {
  try {
    engine.store.locked(id, (r) => {
      const live = liveStatus(engine, r).status;
      if (r.RootfsSource === "snapshot" && live !== "running" && live !== "paused" && live !== "restarting") unmountStoppedSnapshot(engine, id);
    });
  } catch (err) {
    // removed meanwhile (rm -f): its removal unmounted the snapshot
    if (!(err instanceof NoSuchContainer)) throw err;
  }
}

/** Mount the snapshot again when it is not (after a reboot, or a stop that unmounted it); true when this call mounted it. */
export function ensureSnapshotMounted(engine: Engine, id: string): boolean {
  const target = snapshotTarget(engine, id);
  let entries: string[] = [];
  try {
    entries = listDir(target).map((e) => e.name);
  } catch {
    mkdirPath(target, 0o755);
  }
  if (entries.length > 0) return false;
  mountSnapshot(new ImageStore(engine.paths).rootfsMounts(id), target);
  return true;
}

