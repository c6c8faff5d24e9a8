/**
 * Snapshots: the file trees images and containers are made of, cut as containerd's
 * snapshotter (core/snapshots/snapshotter.go). A snapshot is
 *
 * - *active* (made by `prepare`): writable, over a parent; a layer being unpacked or a
 *   container's rootfs;
 * - *view* (made by `view`): a read-only look at a parent;
 * - *committed* (made by `commit` from an active one): read-only and named — an image
 *   layer, keyed by its chain ID, the parent of the next layer and of containers.
 *
 * A snapshot with children cannot be removed, which is what keeps every layer a
 * container stands on: the container's active snapshot is a child of the image's top
 * layer, which is a child of the one below, and so on.
 */

/**
 * Keys of snapshots that exist only while a layer is unpacked into them: a crash may
 * forget them (what is left is an unrecorded directory, removed by the next cleanup), so
 * their creation and removal need not reach the disk before the call returns.
 */
export const TEMPORARY_PREFIX = "extract/";

/**
 * The label, "true", of a snapshot a crash may forget as well: a `--rm` container's root.
 * Its creation and removal are not flushed either (two fsyncs each, 0.2–0.5 ms on a quiet
 * disk and 4–14 ms on a busy one, on every `run --rm`): after a crash the reboot check
 * removes --rm containers and the records of container snapshots whose container is gone.
 */
export const EPHEMERAL_LABEL = "berth/ephemeral";

export type SnapshotKind = "active" | "view" | "committed";

export interface SnapshotInfo {
  key: string;
  kind: SnapshotKind;
  parent?: string;
  /** ISO 8601 */
  created: string;
  labels: Record<string, string>;
}

/**
 * How to mount a snapshot, as containerd's mount.Mount. `cwd`: the directory the mount
 * call must be made from, because relative paths in `options` (overlay's lowerdir) are
 * relative to it — that keeps the options of a deep image under the kernel's page.
 */
export interface Mount {
  type: string;
  source: string;
  options: string[];
  cwd?: string;
}

export interface Snapshotter {
  stat(key: string): SnapshotInfo | undefined;
  /** A new active snapshot `key` over committed `parent` (none: empty): how to mount it. Throws when `key` exists. */
  prepare(key: string, parent?: string, labels?: Record<string, string>): Mount[];
  /** A new read-only view `key` of committed `parent`: how to mount it. */
  view(key: string, parent?: string, labels?: Record<string, string>): Mount[];
  /** How to mount active or view snapshot `key`. */
  mounts(key: string): Mount[];
  /** Make active snapshot `key` committed under `name` (it is no longer writable). */
  commit(name: string, key: string, labels?: Record<string, string>): void;
  /** Remove a snapshot and its files; throws when it has children. */
  remove(key: string): void;
  /** Every snapshot. */
  list(): SnapshotInfo[];
}

/** An overlay snapshot's lower directories, the top one first, as paths (overlay's relative ones resolved against the mount's cwd); none for a bind. */
export function lowerDirsOf(mounts: Mount[]): string[] {
  const m = mounts[0];
  const lower = m?.options.find((o) => o.startsWith("lowerdir="));
  if (!m || !lower) return [];
  return lower.slice("lowerdir=".length).split(":").map((d) => (d.startsWith("/") || !m.cwd ? d : `${m.cwd}/${d}`));
}

/** The directory to write into for an active snapshot's mounts: overlay's upperdir, or a bind's source. */
export function writableDirOf(mounts: Mount[]): string {
  const m = mounts[0];
  if (!m) throw new Error("no mounts");
  if (m.type === "bind") return m.source;
  const upper = m.options.find((o) => o.startsWith("upperdir="));
  if (!upper) throw new Error("not a writable snapshot");
  return upper.slice("upperdir=".length);
}
