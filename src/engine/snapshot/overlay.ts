/**
 * The overlay snapshotter, as containerd's plugins/snapshots/overlay/overlay.go: each
 * snapshot gets a short integer id N and the directories `snapshots/N/fs` (its files:
 * the layer's contents, or a container's upper dir) and `snapshots/N/work` (overlay's
 * work dir). An active snapshot over parents mounts as overlay with lowerdir = the
 * parents' fs dirs, top first; one with no parent is a bind mount of its fs dir.
 *
 * The kernel takes mount options up to one page (4096 bytes): with absolute paths an
 * image of ~50 layers would not fit. The lowerdirs are `N/fs`, relative to the
 * snapshots directory, and the mount is made from there (Mount.cwd) — a 100-layer
 * image's lowerdir is ~700 bytes.
 *
 * Metadata (key → id, kind, parent, labels) is one JSON file, `snapshots/metadata.json`,
 * read and rewritten under a lock (`metadata.lock`) and replaced atomically; a snapshot's
 * directories are made before it is recorded and removed after it is forgotten, so a
 * crash leaves at worst an unrecorded directory, which `cleanOrphans` removes.
 */
import { BerthError } from "../../errors.ts";
import { close, fsyncFd, listDir, mkdirPath, O, openPath, pathExists, readText } from "../../sys/libc.ts";
import { syncDir } from "../../sys/atomic-file.ts";
import { updateLocked } from "../../sys/lock-file.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import { EPHEMERAL_LABEL, TEMPORARY_PREFIX, type Mount, type SnapshotInfo, type SnapshotKind, type Snapshotter } from "./snapshotter.ts";

interface Record_ {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  created: string;
  labels: Record<string, string>;
}

interface Metadata {
  nextId: number;
  snapshots: Record<string, Record_>;
}

export class SnapshotNotFoundError extends BerthError {}

export class OverlaySnapshotter implements Snapshotter {
  private readonly metadataPath: string;
  private readonly lockPath: string;

  constructor(readonly root: string) {
    this.metadataPath = `${root}/metadata.json`;
    this.lockPath = `${root}/metadata.lock`;
  }

  /**
   * Run `fn` on the metadata under the lock; what it changed is written back atomically,
   * flushed to disk when `durable` (a change a crash must not undo; a function: of the
   * metadata as read).
   */
  private update<T>(fn: (md: Metadata) => T, durable: boolean | ((md: Metadata) => boolean) = true): T {
    return updateLocked({ path: this.metadataPath, lock: this.lockPath, dir: this.root, read: () => this.read(), serialize: (md) => JSON.stringify(md) }, fn, { fsync: durable });
  }

  private read(): Metadata {
    if (!pathExists(this.metadataPath)) return { nextId: 1, snapshots: {} };
    return JSON.parse(readText(this.metadataPath)) as Metadata;
  }

  private dirOf(id: number): string {
    return `${this.root}/${id}`;
  }

  stat(key: string): SnapshotInfo | undefined {
    const r = this.read().snapshots[key];
    return r && info(key, r);
  }

  list(): SnapshotInfo[] {
    return Object.entries(this.read().snapshots).map(([k, r]) => info(k, r));
  }

  prepare(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create("active", key, parent, labels);
  }

  view(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create("view", key, parent, labels);
  }

  private create(kind: "active" | "view", key: string, parent: string | undefined, labels: Record<string, string>): Mount[] {
    return this.update((md) => {
      if (md.snapshots[key]) throw new BerthError(`snapshot ${key} already exists`);
      if (parent !== undefined) {
        const p = md.snapshots[parent];
        if (!p) throw new SnapshotNotFoundError(`parent snapshot ${parent} does not exist`);
        if (p.kind !== "committed") throw new BerthError(`parent snapshot ${parent} is not committed`);
      }
      const id = md.nextId++;
      const dir = this.dirOf(id);
      removeTree(dir); // an orphan of a crash may hold the number
      mkdirPath(dir, 0o700);
      mkdirPath(`${dir}/fs`, 0o755);
      if (kind === "active") mkdirPath(`${dir}/work`, 0o700);
      md.snapshots[key] = { id, kind, ...(parent !== undefined && { parent }), created: new Date().toISOString(), labels };
      return this.mountsOf(md, key);
    }, !forgettable(key, labels));
  }

  mounts(key: string): Mount[] {
    const md = this.read();
    if (!md.snapshots[key]) throw new SnapshotNotFoundError(`snapshot ${key} does not exist`);
    return this.mountsOf(md, key);
  }

  private mountsOf(md: Metadata, key: string): Mount[] {
    const s = md.snapshots[key]!;
    const parents: number[] = [];
    for (let p = s.parent; p !== undefined; p = md.snapshots[p]?.parent) {
      const r = md.snapshots[p];
      if (!r) throw new SnapshotNotFoundError(`snapshot ${key}: its ancestor ${p} is missing from ${this.metadataPath}`);
      parents.push(r.id);
    }
    if (s.kind === "committed") throw new BerthError(`snapshot ${key} is committed: mount a view or an active snapshot over it`);
    if (s.kind === "view") {
      if (parents.length === 0) return [{ type: "bind", source: `${this.dirOf(s.id)}/fs`, options: ["ro", "rbind"] }];
      if (parents.length === 1) return [{ type: "bind", source: `${this.dirOf(parents[0]!)}/fs`, options: ["ro", "rbind"] }];
      return [{ type: "overlay", source: "overlay", options: [`lowerdir=${parents.map((id) => `${id}/fs`).join(":")}`], cwd: this.root }];
    }
    if (parents.length === 0) return [{ type: "bind", source: `${this.dirOf(s.id)}/fs`, options: ["rw", "rbind"] }];
    return [{
      type: "overlay", source: "overlay", cwd: this.root,
      options: ["index=off", `workdir=${this.dirOf(s.id)}/work`, `upperdir=${this.dirOf(s.id)}/fs`, `lowerdir=${parents.map((id) => `${id}/fs`).join(":")}`],
    }];
  }

  commit(name: string, key: string, labels?: Record<string, string>): void {
    this.update((md) => {
      const s = md.snapshots[key];
      if (!s) throw new SnapshotNotFoundError(`snapshot ${key} does not exist`);
      if (s.kind !== "active") throw new BerthError(`snapshot ${key} is not active`);
      if (md.snapshots[name]) throw new BerthError(`snapshot ${name} already exists`);
      delete md.snapshots[key];
      md.snapshots[name] = { ...s, kind: "committed", created: new Date().toISOString(), labels: labels ?? s.labels };
    }, false);
  }

  remove(key: string): void {
    const id = this.update((md) => {
      const s = md.snapshots[key];
      if (!s) throw new SnapshotNotFoundError(`snapshot ${key} does not exist`);
      const child = Object.entries(md.snapshots).find(([, r]) => r.parent === key);
      if (child) throw new BerthError(`snapshot ${key} is in use: snapshot ${child[0]} stands on it`);
      // an active snapshot's files are disposable: free their space before the metadata is
      // rewritten, which a full disk (the reason an unpack failed) would refuse
      if (s.kind !== "committed") removeTree(this.dirOf(s.id));
      delete md.snapshots[key];
      return s.id;
    }, (md) => !forgettable(key, md.snapshots[key]?.labels ?? {}));
    removeTree(this.dirOf(id));
  }

  /**
   * Flush the metadata to disk. `commit` does not, so that unpacking an image of many
   * layers costs one flush, not one per layer: call this before recording anything that
   * relies on the commits (an image's record).
   */
  sync(): void {
    if (pathExists(this.metadataPath)) {
      const fd = openPath(this.metadataPath, O.RDONLY);
      try {
        fsyncFd(fd);
      } finally {
        close(fd);
      }
      syncDir(this.root);
    }
  }

  /** Remove the numbered directories no snapshot records (a crash between mkdir and the metadata write). */
  cleanOrphans(): void {
    if (!pathExists(this.root)) return;
    this.update((md) => {
      const known = new Set(Object.values(md.snapshots).map((r) => String(r.id)));
      for (const e of listDir(this.root)) if (/^\d+$/.test(e.name) && !known.has(e.name)) removeTree(`${this.root}/${e.name}`);
    });
  }

  /** The fs directory of a snapshot (an image layer's files): for reading layers back (save, push, hardlinks). */
  fsDir(key: string): string {
    const s = this.read().snapshots[key];
    if (!s) throw new SnapshotNotFoundError(`snapshot ${key} does not exist`);
    return `${this.dirOf(s.id)}/fs`;
  }
}

/** A snapshot whose creation and removal a crash may undo: an unpack's, or one labelled ephemeral. */
function forgettable(key: string, labels: Record<string, string>): boolean {
  return key.startsWith(TEMPORARY_PREFIX) || labels[EPHEMERAL_LABEL] === "true";
}

function info(key: string, r: Record_): SnapshotInfo {
  return { key, kind: r.kind, ...(r.parent !== undefined && { parent: r.parent }), created: r.created, labels: r.labels };
}
