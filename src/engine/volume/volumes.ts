/**
 * Named volumes, as docker's local driver keeps them: `$BERTH_ROOT/volumes/<name>/_data`
 * (what containers mount) beside `volume.json` (created time, labels, whether it was
 * made anonymously for one container). Created by `volume create` or on first use by
 * `-v NAME:/path`; a volume is claimed with mkdir(2), so parallel creates of one name
 * agree. A volume still empty when a container mounts it is seeded with the image's
 * files at the mount path (docker's copy-up), unless the mount says nocopy.
 *
 * A volume made with `--opt type=…,device=…[,o=…]` (local-options.ts) is mounted on its
 * `_data` when the first container using it starts and unmounted when the last one
 * stops, as moby's local driver does: moby counts the users in its daemon's memory;
 * berth, without a daemon, keeps their ids in `$RUNROOT/volumes/<name>.json` under a lock
 * (a set, so a release done twice — the exit command, then rm — counts once), and asks
 * the mount table whether `_data` is mounted rather than trusting the file.
 */
import { BerthError } from "../../errors.ts";
import { parseMountinfo } from "../../cgroups/mountinfo.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { claimDir } from "../../sys/id-claim.ts";
import { resolveInRoot } from "../../sys/layer-fs.ts";
import { listDir, mkdirPath, pathExists, readText, readTextIfExists, realPath, statPath, unlinkPath } from "../../sys/libc.ts";
import { updateLocked, type LockedFile } from "../../sys/lock-file.ts";
import { unmountIfMounted } from "../../sys/mount.ts";
import { runProgram } from "../../sys/program.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import { copyTreeOnto } from "../../sys/tree-copy.ts";
import type { EnginePaths } from "../paths.ts";
import { mountArgs, needsMount } from "./local-options.ts";
import { recordEvent } from "../event-journal.ts";

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
  /**
   * the container whose create made it (an anonymous one, or a name first used by it):
   * a create that dies before its record takes the volumes made for it along (lifecycle's
   * removeUnrecorded) — never run in, they hold at most the image's copy-up
   */
  MadeFor?: string;
}

const NAME = /^[A-Za-z0-9][\w.-]+$/;

/** docker's `volume inspect` object: the record without berth's own Anonymous and MadeFor. */
export function volumeInspectView(v: VolumeRecord): Omit<VolumeRecord, "Anonymous" | "MadeFor"> {
  const { Anonymous: _anonymous, MadeFor: _madeFor, ...shown } = v;
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

  /**
   * Create the volume unless it exists; true when this call created it. `options`: the
   * local driver's, checked (local-options.ts); `madeFor`: the container being created.
   */
  ensure(name: string, anonymous = false, labels: Record<string, string> = {}, options: Record<string, string> = {}, madeFor?: string): boolean {
    checkVolumeName(name);
    if (!claimDir(this.dir(name), { mode: 0o701, parentMode: 0o700 })) {
      this.adopt(name);
      return false;
    }
    mkdirPath(this.dataPath(name), 0o755);
    const record: VolumeRecord = {
      Name: name, Driver: "local", Mountpoint: this.dataPath(name), CreatedAt: new Date().toISOString(), Labels: labels, Scope: "local", Options: options, Anonymous: anonymous,
      ...(madeFor !== undefined && { MadeFor: madeFor }),
    };
    writeFileAtomic(`${this.dir(name)}/volume.json`, JSON.stringify(record), { mode: 0o600, fsync: false });
    recordEvent(this.paths, "volume", "create", name, { driver: "local" });
    return true;
  }

  /**
   * docker's copy-up: when the volume is empty, the directory at `target` in the container's
   * root (symlinks resolved inside that root) is copied into it — contents, owners, modes,
   * symlinks, and the directory's own owner and mode. A volume with anything in it is
   * left as it is, as is one whose target is missing or not a directory in the image.
   * True when it copied.
   */
  seed(name: string, rootfs: string, target: string, holder: string): boolean {
    // moby's CopyImagePathContent: an --opt volume is mounted for the copy and unmounted after,
    // so a tmpfs volume's copy is gone again unless a running container holds it (moby#27068)
    return this.whileMounted(name, holder, () => this.seedMounted(name, rootfs, target));
  }

  private seedMounted(name: string, rootfs: string, target: string): boolean {
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

  /**
   * Volume `name` is asked for again — by another container, or by `volume create`: it
   * is no longer what one create made, to go with it should that create have died (the
   * next user may write in it, and be gone before the dead create is noticed).
   */
  private adopt(name: string): void {
    const v = this.read(name);
    if (v?.MadeFor === undefined) return;
    const { MadeFor: _madeFor, ...kept } = v;
    writeFileAtomic(`${this.dir(name)}/volume.json`, JSON.stringify(kept), { mode: 0o600, fsync: false });
  }

  /** The volumes container `id`'s create made (ensure's `madeFor`). */
  madeFor(id: string): string[] {
    return this.list().filter((v) => v.MadeFor === id).map((v) => v.Name);
  }

  get(name: string): VolumeRecord {
    const v = this.read(name);
    if (!v) throw new BerthError(`no such volume: ${name}`, { errno: "ENOENT" });
    return v;
  }

  remove(name: string, opts: { force?: boolean } = {}): void {
    const v = this.read(name);
    if (!v) {
      if (opts.force) return;
      throw new BerthError(`no such volume: ${name}`, { errno: "ENOENT" });
    }
    // never through a mount: a bind volume's _data is the user's own directory. Only an
    // --opt volume is ever mounted there (acquire), so only its removal reads the mount table.
    const data = this.dataPath(name);
    if (needsMount(v.Options)) {
      for (let i = 0; i < 8 && this.mounted(data); i++) unmountIfMounted(data);
      if (this.mounted(data)) throw new BerthError(`remove ${name}: ${data} is still mounted; unmount it (umount ${data}) and remove the volume again`);
    }
    removeTree(this.dir(name));
    recordEvent(this.paths, "volume", "destroy", name, { driver: "local" });
    const holders = this.holdersFile(name);
    for (const f of [holders.path, holders.lock]) {
      try {
        unlinkPath(f);
      } catch {}
    }
  }

  /** Is something mounted on `path` (the mount table's word, not the holders file's)? */
  private mounted(path: string): boolean {
    let real: string;
    try {
      real = realPath(path);
    } catch {
      return false;
    }
    return parseMountinfo(readText("/proc/self/mountinfo")).some((m) => m.mountPoint === real);
  }

  private holdersFile(name: string): LockedFile<{ holders: string[] }> {
    const path = `${this.paths.volumeMounts}/${name}.json`;
    return {
      path, lock: `${this.paths.volumeMounts}/${name}.lock`, dir: this.paths.volumeMounts,
      read: () => JSON.parse(readTextIfExists(path) ?? '{"holders":[]}') as { holders: string[] },
      serialize: (doc) => JSON.stringify(doc),
    };
  }

  /**
   * `holder` (a container id) uses volume `name` from now on: an `--opt` volume is mounted on
   * its `_data` unless it is already. A failed mount is one line naming the volume, the
   * mount and mount(8)'s reason; nothing is held then. A volume without options: nothing.
   */
  acquire(name: string, holder: string): void {
    const v = this.read(name);
    if (!needsMount(v?.Options)) return;
    updateLocked(this.holdersFile(name), (doc) => {
      const data = this.dataPath(name);
      if (!this.mounted(data)) {
        const args = mountArgs(v!.Options, data);
        const r = runProgram(["mount", ...args]);
        if (r.code !== 0) {
          const why = r.stderr.split("\n")[0]?.replace(/^mount: /, "").replace(/\.$/, "") || `mount exited with ${r.code}`;
          throw new BerthError(`error while mounting volume ${name} (type=${v!.Options.type ?? ""} device=${v!.Options.device ?? ""} o=${v!.Options.o ?? ""}): ${why}; fix its options: berth volume rm ${name}, then volume create it with --opt again`, { field: "volume" });
        }
      }
      if (!doc.holders.includes(holder)) doc.holders.push(holder);
    }, { fsync: false });
  }

  /** `holder` is done with volume `name`: the last holder of an `--opt` volume unmounts it. Releasing twice is fine. */
  release(name: string, holder: string): void {
    if (!pathExists(this.holdersFile(name).path)) return;
    let failed: unknown;
    updateLocked(this.holdersFile(name), (doc) => {
      // the holder goes even when the unmount fails, as moby's count does: else the volume could never be removed
      doc.holders = doc.holders.filter((h) => h !== holder);
      if (doc.holders.length > 0) return;
      try {
        unmountIfMounted(this.dataPath(name));
      } catch (err) {
        failed = err;
      }
    }, { fsync: false });
    if (failed) throw failed;
  }

  /** `fn` with the volume mounted for `holder`, released after (moby's Mount/Unmount around one use). */
  whileMounted<T>(name: string, holder: string, fn: () => T): T {
    this.acquire(name, holder);
    try {
      return fn();
    } finally {
      this.release(name, holder);
    }
  }
}
