/**
 * The engine's container records: `$BERTH_ROOT/containers/<id>/container.json` (what was
 * asked and what happened: docker's Config, HostConfig and State in berth's terms),
 * beside the bundle's `config.json`, the container's `hosts`, `hostname`,
 * `resolv.conf` and its log. Written atomically; commands that change a container hold
 * its lock (flock on its directory), so parallel `berth` commands never interleave.
 *
 * Names are claimed with `containers/.names/<name>` (link(2): one winner), ids are 64
 * random hex digits; a reference is an id, a unique id prefix, or a name.
 */
import { BerthError } from "../../errors.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { claimDir, claimFile } from "../../sys/id-claim.ts";
import { lockPath, LockBusyError, type HeldLock } from "../../sys/lock-file.ts";
import { listDir, mkdirParents, pathExists, readText, readTextIfExists, unlinkPath } from "../../sys/libc.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import type { Spec } from "../../spec/runtime-spec.ts";
import type { EnginePaths } from "../paths.ts";
import type { RunFlags } from "./run-flags.ts";
import type { ContainerNetwork } from "../network/attach.ts";

export type ContainerStatus = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

/** What happened to the container, as docker's State. */
export interface RecordedState {
  Status: ContainerStatus;
  Pid: number;
  /** /proc/<pid>/stat start time of the init, to tell it from a later process with its pid */
  PidStartTime?: number;
  /** the process that holds the container's stdio and records its exit (conmon, or the attached berth) */
  MonitorPid: number;
  MonitorStartTime?: number;
  ExitCode: number;
  Error: string;
  OOMKilled: boolean;
  StartedAt: string;
  FinishedAt: string;
  RestartCount: number;
  /** stopped by `berth stop` (docker's HasBeenManuallyStopped): no restart policy brings it back */
  ManuallyStopped?: boolean;
  /** made by `run` and not started yet: a start cut short (berth killed mid-create) removes it, as `run` removes a container it could not start */
  RunPending?: boolean;
}

export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  /** the image reference as typed, or `--rootfs DIR` */
  Image: string;
  ImageID: string;
  /** the root filesystem the bundle points at */
  Rootfs: string;
  /** where the rootfs came from: an image's snapshot (removed with the container) or a directory given by --rootfs */
  RootfsSource: "snapshot" | "directory";
  Flags: RunFlags & { args?: string[] };
  /** what the spec resolved to, for inspect and ps */
  Path: string;
  Args: string[];
  Env: string[];
  WorkingDir: string;
  User: string;
  Hostname: string;
  Labels: Record<string, string>;
  StopSignal: string;
  /** the OCI runtime's executable */
  Runtime: string;
  LogPath: string;
  /** named volumes mounted (anonymous ones are removed with `rm -v`) */
  Volumes: VolumeUse[];
  /** what --network and -p asked, and while it runs, what it got (engine/network) */
  Network?: ContainerNetwork;
  State: RecordedState;
}

/** A volume a container mounts. target and copy: absent in records written before copy-up. */
export interface VolumeUse {
  name: string;
  anonymous: boolean;
  target?: string;
  /** seed it from the image's files at target while it is empty (docker's default; nocopy turns it off) */
  copy?: boolean;
  /** what it is created with when it does not exist yet (`--mount volume-opt=`, `volume-label=`) */
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function newContainerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const ADJECTIVES = ["brave", "calm", "eager", "fond", "keen", "lucid", "merry", "nifty", "quiet", "sharp", "sleepy", "swift", "tender", "vivid", "witty", "zealous"];
const SCIENTISTS = ["curie", "darwin", "euler", "faraday", "gauss", "hopper", "kepler", "lovelace", "noether", "pasteur", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak"];

/** docker's adjective_scientist names */
export function generatedName(): string {
  const r = crypto.getRandomValues(new Uint8Array(3));
  return `${ADJECTIVES[r[0]! % ADJECTIVES.length]}_${SCIENTISTS[r[1]! % SCIENTISTS.length]}${r[2]! % 4 === 0 ? "" : r[2]! % 100}`;
}

export function checkName(name: string): string {
  const bare = name.replace(/^\//, "");
  if (!NAME.test(bare)) throw new BerthError(`invalid container name ${JSON.stringify(name)}; only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { field: "--name" });
  return bare;
}

export class ContainerStore {
  constructor(readonly paths: EnginePaths) {}

  dir(id: string): string {
    return `${this.paths.containers}/${id}`;
  }

  /** live state: the monitor's pid file, the exit file, conmon's `oom` marker */
  runDir(id: string): string {
    return `${this.paths.runContainers}/${id}`;
  }

  /** where names are claimed: a link per name to its holder's id */
  private namesDir(): string {
    return `${this.paths.containers}/.names`;
  }

  /** the record's file: what diagnose names as its source */
  recordPath(id: string): string {
    return `${this.dir(id)}/container.json`;
  }

  private namePath(name: string): string {
    return `${this.namesDir()}/${name}`;
  }

  /**
   * Claim `name` for `id`; a name in use fails naming the container that has it. Not
   * `durable`: not flushed to disk (a --rm container's: what a crash leaves of it goes).
   * `removeDead`: removes what a create that died before its record left (lifecycle's
   * removeUnrecorded, `ifDead`), so the name it held is free again; true when it did.
   */
  claimName(name: string, id: string, durable = true, removeDead?: (holder: string) => boolean): void {
    const holder = this.tryClaimName(name, id, durable, removeDead);
    if (holder === undefined) return;
    throw new BerthError(`the container name "/${name}" is already in use by container "${holder}"; remove (or rename) that container to reuse the name`, { field: "--name" });
  }

  /**
   * Claim a generated name for `id`: another one while the name drawn is taken, as
   * docker draws again — its 16×16 words and suffixes make about 19,000 names, so a few
   * dozen containers already share one by chance.
   */
  claimGeneratedName(id: string, durable = true): string {
    for (let attempt = 1; ; attempt++) {
      const name = generatedName();
      const holder = this.tryClaimName(name, id, durable);
      if (holder === undefined) return name;
      if (attempt === 100) throw new BerthError(`no free generated name after ${attempt} tries (the last, "${name}", is container "${holder}"'s); give the container one with --name`, { field: "--name" });
    }
  }

  /** Claim `name` for `id`: undefined when claimed, else the id of the container holding it. */
  private tryClaimName(name: string, id: string, durable: boolean, removeDead?: (holder: string) => boolean): string | undefined {
    const claim = { parentMode: 0o700, fsync: durable };
    if (claimFile(this.namePath(name), id, claim)) return undefined;
    let holder = "";
    try {
      holder = readText(this.namePath(name)).trim();
    } catch {}
    // a holder with a directory and no record: a create under way — or one that died (killed before its record), whose leftovers go
    if (holder && removeDead && !pathExists(this.recordPath(holder)) && pathExists(this.dir(holder))) removeDead(holder);
    // a claim whose record is gone (a create that died half-way), or left empty by a crash (an unflushed claim), is free again
    if (!holder || (!pathExists(this.recordPath(holder)) && !pathExists(this.dir(holder)))) {
      // Reclaimers take turns and look again: two that both read the stale holder would
      // otherwise each unlink and each win — the second removing the first's new claim.
      const lock = lockPath(this.namesDir());
      try {
        const now = readTextIfExists(this.namePath(name))?.trim();
        if (now === holder) unlinkPath(this.namePath(name));
        if ((now === holder || now === undefined) && claimFile(this.namePath(name), id, claim)) return undefined;
        holder = readTextIfExists(this.namePath(name))?.trim() ?? holder;
      } finally {
        lock.release();
      }
    }
    return holder;
  }

  releaseName(name: string, id: string): void {
    try {
      if (readText(this.namePath(name)).trim() === id) unlinkPath(this.namePath(name));
    } catch {}
  }

  /**
   * Make the container's directories, and take the lock of its directory: the create
   * holds it until the record is written (`creating.release()` then), so a directory
   * with no record whose lock is free is a create that died — killed, or crashed
   * (removeUnrecorded's `ifDead`). The run dir is made once the lock is held: a create
   * between its mkdir and its lock has none yet. A 64-hex id collides only by mistake,
   * which is an error.
   */
  claimDir(id: string): { dir: string; creating: HeldLock } {
    if (!claimDir(this.dir(id), { mode: 0o700, parentMode: 0o700 })) throw new BerthError(`container id ${id} exists`);
    const creating = lockPath(this.dir(id));
    try {
      mkdirParents(this.runDir(id), 0o700);
    } catch (err) {
      removeTree(this.dir(id));
      creating.release();
      throw err;
    }
    return { dir: this.dir(id), creating };
  }

  /**
   * Replace the record atomically. A --rm container's is not flushed to disk: it is
   * removed when the container ends, and after a crash the reboot check removes what is
   * left of it (reviveAfterReboot), torn or missing — 6 fsyncs less per `run --rm`.
   */
  write(record: ContainerRecord): void {
    writeFileAtomic(this.recordPath(record.Id), JSON.stringify(record, null, 1), { mode: 0o600, fsync: record.Flags.rm !== true });
  }

  read(id: string): ContainerRecord | undefined {
    try {
      return JSON.parse(readText(this.recordPath(id))) as ContainerRecord;
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT" || (err as { code?: string }).code === "ENOTDIR") return undefined;
      if (err instanceof SyntaxError) throw new UnreadableRecord(id, err.message);
      throw err;
    }
  }

  /** The OCI spec the container's bundle was made with (its `config.json`); undefined when missing or unreadable. */
  spec(id: string): Spec | undefined {
    try {
      return JSON.parse(readText(`${this.dir(id)}/config.json`)) as Spec;
    } catch {
      return undefined;
    }
  }

  /** Every container id (directories holding a record). */
  ids(): string[] {
    let entries;
    try {
      entries = listDir(this.paths.containers);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return [];
      throw err;
    }
    return entries.map((e) => e.name).filter((n) => HEX64.test(n));
  }

  /** Every readable record; one that cannot be read (a disk that lost it) is left to `rm -f ID`, not allowed to hide the rest. */
  list(): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.ids()) {
      try {
        const r = this.read(id);
        if (r) out.push(r);
      } catch (err) {
        if (!(err instanceof UnreadableRecord)) throw err;
      }
    }
    return out;
  }

  /** The container `ref` names: a full id, a name, or a unique id prefix. */
  resolve(ref: string): ContainerRecord {
    const direct = HEX64.test(ref) ? this.read(ref) : undefined;
    if (direct) return direct;
    let byName: string | undefined;
    try {
      byName = readText(this.namePath(ref.replace(/^\//, ""))).trim();
    } catch {}
    if (byName) {
      const r = this.read(byName);
      if (r) return r;
    }
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = this.ids().filter((id) => id.startsWith(ref));
      if (matches.length > 1) throw new BerthError(`multiple containers match ${JSON.stringify(ref)}; give more of the id`);
      if (matches.length === 1) {
        const r = this.read(matches[0]!);
        if (r) return r;
      }
    }
    throw new NoSuchContainer(ref);
  }

  /**
   * The container's lock, held until released — by `locked`, and by a reader of a stopped
   * container's files for as long as it reads (docker's cp holds the container's lock).
   */
  hold(id: string): HeldLock {
    try {
      return lockPath(this.dir(id));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") throw new NoSuchContainer(id);
      throw err;
    }
  }

  /** Hold the container's lock while `fn` runs with its current record. */
  locked<T>(id: string, fn: (r: ContainerRecord) => T): T {
    const lock = this.hold(id);
    try {
      const r = this.read(id);
      if (!r) throw new NoSuchContainer(id);
      return fn(r);
    } finally {
      lock.release();
    }
  }

  /** Change the record under its lock. */
  update(id: string, change: (r: ContainerRecord) => void): ContainerRecord {
    return this.locked(id, (r) => {
      change(r);
      this.write(r);
      return r;
    });
  }

  /**
   * Remove what a create that died before writing the record left — its names, its
   * directories — once `release` has undone the rest it made. Under the directory's lock,
   * which the create holds until its record is written (claimDir) and a removal while it
   * runs; false when it has a record after all, or is gone, or has no run dir (made
   * once the lock is held; removed first by `remove`; gone with a reboot's /run, which
   * reviveAfterReboot deals with). `ifDead`: only when the create is known dead — its
   * lock free now (a live one's is held: no wait for it) — else false; without it, wait
   * for the lock (the monitor's exit command: the create it ran for is dead or about to
   * write the record).
   */
  removeUnrecorded(id: string, release: () => void, opts: { ifDead?: boolean } = {}): boolean {
    let lock: HeldLock;
    try {
      lock = lockPath(this.dir(id), opts.ifDead ? { timeoutMs: 0 } : {});
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT" || (opts.ifDead && err instanceof LockBusyError)) return false;
      throw err;
    }
    try {
      if (!pathExists(this.dir(id)) || pathExists(this.recordPath(id)) || !pathExists(this.runDir(id))) return false;
      release();
      // the name is not known without the record: every claim that names the id
      const names = pathExists(this.namesDir()) ? listDir(this.namesDir()) : [];
      for (const e of names) this.releaseName(e.name, id);
      this.remove({ Id: id, Name: "" });
      return true;
    } finally {
      lock.release();
    }
  }

  /** Remove the record, its name and its live state. */
  remove(r: Pick<ContainerRecord, "Id" | "Name">): void {
    this.releaseName(r.Name, r.Id);
    removeTree(this.runDir(r.Id));
    removeTree(this.dir(r.Id));
  }
}

/** docker's wording: scripts match "No such container" */
export class NoSuchContainer extends BerthError {
  constructor(readonly ref: string) {
    super(`No such container: ${ref}`, { errno: "ENOENT" });
  }
}

/** container.json exists but is not JSON: only `rm -f` of its full id deals with it. */
export class UnreadableRecord extends BerthError {
  constructor(readonly id: string, why: string) {
    super(`the record of container ${id} is unreadable (${why}); remove it with berth rm -f ${id}`);
  }
}
