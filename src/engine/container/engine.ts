/**
 * The container engine's handle: its directories, its container records and volumes;
 * and what a new container's root filesystem is once prepared (an image's snapshot, or
 * a directory given with --rootfs).
 */
import type { EnginePaths } from "../paths.ts";
import { VolumeStore } from "../volume/volumes.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";
import { readText, readTextIfExists } from "../../sys/libc.ts";
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


/** Where the run root keeps the boot the last command saw (a reboot loses /run, and with it this). */
export const bootMarker = (engine: Engine) => `${engine.paths.runroot}/boot-id`;

/**
 * This boot's id when the last berth command ran in another (/run was lost: a reboot)
 * — then the lifecycle's reboot check has work — else undefined. Two small reads: every
 * command makes them, and only the first after a reboot loads the rest.
 */
export function bootSinceLastCommand(engine: Engine): string | undefined {
  let boot: string;
  try {
    boot = readText("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return undefined;
  }
  return readTextIfExists(bootMarker(engine))?.trim() === boot ? undefined : boot;
}
