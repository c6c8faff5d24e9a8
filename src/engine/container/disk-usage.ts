/**
 * docker's sizes of a container: SizeRw, what it wrote (its snapshot's upper directory),
 * and SizeRootFs, that and its image's unpacked layers — apparent sizes, as `system df`
 * counts them. For `ps -s`, `inspect -s` and `system df`. A container on a `--rootfs`
 * directory writes into the directory itself: nothing is its own, its root is the
 * directory's size.
 */
import { treeSize } from "../../sys/tree-size.ts";
import { ImageStore } from "../image/image-store.ts";
import { writableDirOf } from "../snapshot/snapshotter.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecord } from "./records.ts";

export interface ContainerSize {
  /** docker's SizeRw */
  rw: number;
  /** docker's SizeRootFs */
  rootFs: number;
}

/** Sizes of many containers: each image's size is looked up once. */
export class ContainerSizes {
  private readonly images: ImageStore;
  private readonly imageSizes = new Map<string, number>();

  constructor(engine: Engine) {
    this.images = new ImageStore(engine.paths);
  }

  of(r: ContainerRecord): ContainerSize {
    if (r.RootfsSource !== "snapshot") return { rw: 0, rootFs: treeSize(r.Rootfs) };
    const rw = this.rw(r);
    return { rw, rootFs: rw + this.imageSize(r.ImageID) };
  }

  /** SizeRw alone (`system df`) */
  rw(r: ContainerRecord): number {
    if (r.RootfsSource !== "snapshot") return 0;
    try {
      return treeSize(writableDirOf(this.images.rootfsMounts(r.Id)));
    } catch {
      return 0; // no snapshot left (a create that died half-way): nothing written
    }
  }

  private imageSize(id: string): number {
    let size = this.imageSizes.get(id);
    if (size === undefined) {
      const image = this.images.list().find((i) => i.id === id);
      size = image ? this.images.unpackedSize(image) : 0;
      this.imageSizes.set(id, size);
    }
    return size;
  }
}
