/**
 * The container engine's handle: its directories, its container records and volumes;
 * and what a new container's root filesystem is once prepared (an image's snapshot, or
 * a directory given with --rootfs).
 */
import type { EnginePaths } from "../paths.ts";
import { VolumeStore } from "../volume/volumes.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";
import { ContainerStore } from "./records.ts";

/** What a container's root filesystem comes from: an image's snapshot, or a directory (--rootfs). */
export interface PreparedRoot {
  rootfs: string;
  config: ImageProcessConfig;
  image: string;
  imageId: string;
  source: "snapshot" | "directory";
  /** undo the preparation (remove the snapshot) */
  release(): void;
}

export interface Engine {
  paths: EnginePaths;
  store: ContainerStore;
  volumes: VolumeStore;
}

export function openEngine(paths: EnginePaths): Engine {
  return { paths, store: new ContainerStore(paths), volumes: new VolumeStore(paths) };
}

