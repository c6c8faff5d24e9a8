/**
 * Named volumes, as docker's local driver keeps them: `$BERTH_ROOT/volumes/<name>/_data`
 * (what containers mount) beside `volume.json` (created time, labels, whether it was
 * made anonymously for one container). Created by `volume create` or on first use by
 * `-v NAME:/path`; a volume is claimed with mkdir(2), so parallel creates of one name
 * agree. A volume still empty when a container mounts it is seeded with the image's
 * files at the mount path (docker's copy-up), unless the mount says nocopy.
 */
import { BerthError } from "../../errors.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { claimDir } from "../../sys/id-claim.ts";
import { resolveInRoot } from "../../sys/layer-fs.ts";
import { listDir, mkdirPath, pathExists, readText, statPath } from "../../sys/libc.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import { copyTreeOnto } from "../../sys/tree-copy.ts";
import type { EnginePaths } from "../paths.ts";

export interface VolumeRecord {
  Name: string;
  Driver: "local";
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  Options: Record<string, string>;
  /** made for one container by -v /path or --mount without a source */
  Anonymous: boolean;
}

const NAME = /^[A-Za-z0-9][\w.-]+$/;

/** docker's `volume inspect` object: the record without berth's own Anonymous. */
export function volumeInspectView(v: VolumeRecord): Omit<VolumeRecord, "Anonymous"> {
  const { Anonymous: _anonymous, ...shown } = v;
  return shown;
}

/** Whether `name` can be a volume's (before it is looked for on disk). */
export function isVolumeName(name: string): boolean {
  return NAME.test(name);
}

export function checkVolumeName(name: string): string {
  if (!NAME.test(name)) throw new BerthError(`invalid volume name ${JSON.stringify(name)}; use [A-Za-z0-9][A-Za-z0-9_.-]+ (at least two characters)`, { field: "volume" });
  return name;
}

export class VolumeStore {
  constructor(readonly paths: EnginePaths) {}

  dir(name: string): string {
    return `${this.paths.volumes}/${name}`;
  }

  dataPath(name: string): string {
    return `${this.dir(name)}/_data`;
  }

  /** Create the volume unless it exists; true when this call created it. */
  ensure(name: string, anonymous = false, labels: Record<string, string> = {}): boolean {
    checkVolumeName(name);
    if (!claimDir(this.dir(name), { mode: 0o701, parentMode: 0o700 })) return false;
    mkdirPath(this.dataPath(name), 0o755);
    const record: VolumeRecord = { Name: name, Driver: "local", Mountpoint: this.dataPath(name), CreatedAt: new Date().toISOString(), Labels: labels, Scope: "local", Options: {}, Anonymous: anonymous };
    writeFileAtomic(`${this.dir(name)}/volume.json`, JSON.stringify(record), { mode: 0o600, fsync: false });
    return true;
  }

  /**
   * docker's copy-up: when the volume is empty, the directory at `target` in the container's
   * root (symlinks resolved inside that root) is copied into it — contents, owners, modes,
   * symlinks, and the directory's own owner and mode. A volume with anything in it is
   * left as it is, as is one whose target is missing or not a directory in the image.
   * True when it copied.
   */
  seed(name: string, rootfs: string, target: string): boolean {
    const data = this.dataPath(name);
    if (listDir(data).length > 0) return false;
    let source: string | undefined;
    try {
      source = resolveInRoot(rootfs, target);
    } catch (err) {
      throw new BerthError(`cannot seed volume ${name} from the image's ${target}: ${(err as Error).message}`, { field: "volume" });
    }
    if (source === undefined || !statPath(source).isDirectory) return false;
    copyTreeOnto(source, data, "volume");
    return true;
  }

  read(name: string): VolumeRecord | undefined {
    try {
      return JSON.parse(readText(`${this.dir(name)}/volume.json`)) as VolumeRecord;
    } catch {
      return pathExists(this.dataPath(name))
        ? { Name: name, Driver: "local", Mountpoint: this.dataPath(name), CreatedAt: "", Labels: {}, Scope: "local", Options: {}, Anonymous: false }
        : undefined;
    }
  }

  list(): VolumeRecord[] {
    let entries;
    try {
      entries = listDir(this.paths.volumes);
    } catch {
      return [];
    }
    return entries.map((e) => this.read(e.name)).filter((v): v is VolumeRecord => v !== undefined).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  get(name: string): VolumeRecord {
    const v = this.read(name);
    if (!v) throw new BerthError(`no such volume: ${name}`, { errno: "ENOENT" });
    return v;
  }

  remove(name: string, opts: { force?: boolean } = {}): void {
    if (!this.read(name)) {
      if (opts.force) return;
      throw new BerthError(`no such volume: ${name}`, { errno: "ENOENT" });
    }
    removeTree(this.dir(name));
  }
}
