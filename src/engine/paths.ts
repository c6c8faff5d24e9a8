/**
 * Where the engine keeps things. Two trees, as podman's graph root and run root:
 *
 * - root (`--root`, `BERTH_ROOT`, default `/var/lib/berth`) survives reboots: the content
 *   store, the image index, overlay snapshots, volumes, networks' configs and container
 *   records.
 * - runroot (`--runroot`, `BERTH_RUNROOT`, default `/run/berth`) is live state that a
 *   reboot rightly forgets: monitor pids and sockets, exit files, the OCI runtime's own
 *   `--root`, network namespaces and CNI results.
 *
 * Every test uses its own pair, so tests never see each other or the user's containers.
 * Pure: resolves names, touches nothing.
 */
import { resolvePath } from "../runtime/host-path.ts";

export const DEFAULT_ROOT = "/var/lib/berth";
export const DEFAULT_RUNROOT = "/run/berth";

export interface EnginePaths {
  root: string;
  runroot: string;
  /** blobs by digest: `content/blobs/sha256/<hex>` */
  content: string;
  /** the image index (references → manifest digests) */
  images: string;
  /** overlay snapshots, one per layer (keyed by chain ID) and one per container */
  snapshots: string;
  /** container records: `containers/<id>/` */
  containers: string;
  volumes: string;
  /** networks' CNI conflists */
  networks: string;
  /** live per-container state: `run/containers/<id>/` (monitor pid, exit file, sockets) */
  runContainers: string;
  /** the OCI runtime's `--root` */
  runtimeRoot: string;
  /** bind-mounted network namespaces */
  netns: string;
  /** CNI's cache of results, kept so DEL works after a crash */
  cniCache: string;
  /** which containers hold each mounted `--opt` volume (`<name>.json`), as moby's local driver counts them in memory; a reboot unmounts them and rightly forgets this */
  volumeMounts: string;
  /** the event journal (`events.log`, rotated into `events.log.1`): what `events --since` replays */
  events: string;
}

/** node:path's join(dir, name), without loading node:path (≈0.5 ms of every berth command's start). */
const under = (dir: string, name: string) => (dir.startsWith("/") ? resolvePath(dir, name) : `${dir.replace(/\/+$/, "")}/${name}`);

/** The engine's directories from the flags (first) or the environment, else the defaults. */
export function enginePaths(flags: { root?: string; runroot?: string } = {}, env: Record<string, string | undefined> = process.env): EnginePaths {
  const root = flags.root || env.BERTH_ROOT || DEFAULT_ROOT;
  const runroot = flags.runroot || env.BERTH_RUNROOT || DEFAULT_RUNROOT;
  return {
    root,
    runroot,
    content: under(root, "content"),
    images: under(root, "images"),
    snapshots: under(root, "snapshots"),
    containers: under(root, "containers"),
    volumes: under(root, "volumes"),
    networks: under(root, "networks"),
    runContainers: under(runroot, "containers"),
    runtimeRoot: under(runroot, "runtime"),
    netns: under(runroot, "netns"),
    cniCache: under(runroot, "cni"),
    volumeMounts: under(runroot, "volumes"),
    events: under(runroot, "events"),
  };
}
