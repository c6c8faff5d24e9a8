/**
 * Where a new container's root filesystem comes from: an image (its config and an overlay
 * snapshot of its layers, from the image store) or, as podman's `--rootfs`, a directory
 * the user made. The one seam between the container engine and the image store.
 */
import { BerthError } from "../../errors.ts";
import { realPath, statPath } from "../../sys/libc.ts";
import type { Engine, PreparedRoot } from "./lifecycle.ts";

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

/** An image reference → its root. */
export function imageRoot(_engine: Engine, ref: string, pull: string | undefined): (id: string) => PreparedRoot {
  if (pull === "never") throw new BerthError(`No such image: ${ref}; load or pull it first (berth load, berth pull), or drop --pull never`, { field: "IMAGE" });
  throw new BerthError(`image ${ref}: this build of berth has no image store yet; run a directory with --rootfs DIR`, { field: "IMAGE" });
}
