/**
 * The container engine's verbs below the CLI: create (record + bundle), start (monitor +
 * the runtime's start), stop, kill, remove, wait, the exit command's cleanup, and the
 * live status of a record. Each step that makes something undoes it when a later one
 * fails: a failed create leaves no record, name, snapshot, cgroup, mount or monitor.
 */
import { BerthError } from "../../errors.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { mkdirParents, pathExists, readText, readTextIfExists, statPath, unlinkPath, waitProcessEnd } from "../../sys/libc.ts";
import { ImageStore } from "../image/image-store.ts";
import { bootMarker, type Engine, type PreparedRoot } from "./engine.ts";
import { buildSpec, dockerLimitFlags, renameLimitFlag, type BundleResult } from "./bundle.ts";
import { limitsToResources } from "../../cgroups/resource-flags.ts";
import { validateResources } from "../../spec/validate-resources.ts";
import type { LinuxResources, Spec } from "../../spec/runtime-spec.ts";
import { blockDevice, bootTimeMs, deviceInfo, engineHostFacts, hostResolvConf, hostsFile, oomKillCount, readFlagFile, removeContainerCgroup, resolvConf } from "./host.ts";
import { ExitClaim, startMonitor, type LogLimits } from "./monitor.ts";
import { monitorFiles } from "./monitor-files.ts";
import { alive, exitFileCode, exitFileTime, liveStatus, MONITOR_LOST } from "./live-status.ts";
import { HeadStart } from "./head-start.ts";
import { ContainerStartError, OciRuntime, runtimeOf } from "./oci-runtime.ts";
import { berthCommand, initPath, runtimePath } from "./programs.ts";
import { checkName, NoSuchContainer, UnreadableRecord, GO_ZERO_TIME, newContainerId, type ContainerRecord } from "./records.ts";
import type { RunFlags } from "./run-flags.ts";
import { parseSize } from "../../cgroups/units.ts";
import { liveStartTime } from "../../runtime/state.ts";
import { parseSignal } from "../../signals.ts";
import { ensureSnapshotMounted, releaseSnapshot, unmountStoppedSnapshot } from "./root-source.ts";
import { userDatabase } from "./process-config.ts";
import { detachNetworks, joinNetworks, netnsPath, planNetwork, prepareAttachment, startDetach } from "../network/attach.ts";
import { once } from "../../once.ts";
import { NetworkStore } from "../network/networks.ts";
import { connectedHosts } from "./network-hosts.ts";
import { hostsText, parseAddHost, resolvConfWith } from "../network/etc-files.ts";
import { recordContainerEvent } from "../event-journal.ts";
import { splitKeyValue } from "../../key-value.ts";

const now = () => new Date().toISOString();

export interface CreateResult {
  record: ContainerRecord;
  warnings: string[];
  /** a run's monitor and runtime create, launched while the container was made (head-start.ts): startContainer takes it */
  headStart?: HeadStart;
}

/**
 * Make the container: claim id and name, prepare the root, build the spec, write the
 * bundle and the record (status created). Nothing runs yet — unless it is a `run` of
 * berth's own runtime (`run` given): then its monitor and the runtime's create are
 * launched as soon as its directories exist, and wait for the spec (HeadStart).
 */
export function createContainer(engine: Engine, flags: RunFlags & { args?: string[] }, prepareRoot: (id: string, ephemeral: boolean) => PreparedRoot, run?: { exitClaim: ExitClaim }): CreateResult {
  const runtime = runtimePath(flags.runtime);
  const log = logLimits(flags); // a bad --log-opt is refused before anything is made
  const id = newContainerId();
  const wanted = flags.name !== undefined ? checkName(flags.name) : undefined;
  const { store } = engine;
  const undo: (() => void)[] = [];
  const { dir, creating } = store.claimDir(id);
  try {
    let name = "";
    undo.push(() => store.remove({ Id: id, Name: name }));
    let headStart: HeadStart | undefined;
    if (run && runtime === runtimePath(undefined)) {
      const files = monitorFiles(store.runDir(id));
      headStart = new HeadStart({
        id, logPath: `${dir}/ctr.log`, log, runtime: new OciRuntime(runtime, engine.paths.runtimeRoot), files,
        tty: flags.tty === true, stdin: flags.interactive === true, exitCommand: cleanupCommand(engine, id), exitClaim: run.exitClaim, createdPipe: true,
      });
      undo.push(() => headStart!.abort());
    }
    // a --rm container's name need not outlive a crash: the reboot check removes the container
    const durable = flags.rm !== true;
    if (wanted !== undefined) store.claimName(wanted, id, durable, (holder) => removeDeadCreate(engine, holder));
    name = wanted ?? store.claimGeneratedName(id, durable);
    // a --rm container's root, like its record, need not outlive a crash (the reboot check removes it)
    const root = prepareRoot(id, !durable);
    undo.push(() => root.release());
    const plan = planNetwork(new NetworkStore(engine.paths), flags, root.config.ExposedPorts);
    const network = flags.network ?? (plan.mode === "cni" ? "bridge" : "none");
    const etcFiles = { hosts: `${dir}/hosts`, hostname: `${dir}/hostname`, resolvConf: `${dir}/resolv.conf` };
    const hostEnv = process.env;
    const built: BundleResult = buildSpec(root.config, flags, {
      id,
      rootfs: root.rootfs,
      etcFiles,
      host: engineHostFacts(),
      ...userDatabase(root.rootfs),
      hostEnv,
      readFile: readFlagFile,
      device: deviceInfo,
      blockDevice,
      volumePath: (v) => engine.volumes.dataPath(v),
      newVolumeName: newContainerId,
      containerPid: (ref, flag) => {
        const other = store.resolve(ref);
        const st = liveStatus(engine, other);
        if (st.status !== "running" || other.State.Pid <= 0) throw new BerthError(`container ${ref} is not running; start it first`, { field: flag });
        return other.State.Pid;
      },
      initPath: initPath(),
      ...(plan.mode === "cni" && { netnsPath: netnsPath(engine.paths, id) }),
    });
    const spec = built.spec;
    const hostname = spec.hostname ?? readTextIfExists("/proc/sys/kernel/hostname")?.trim() ?? id.slice(0, 12);
    writeFileAtomic(etcFiles.hostname, `${hostname}\n`, { mode: 0o644, fsync: false });
    // a bridge network's container gets its address in /etc/hosts at start; --add-host host-gateway waits for it too
    const addHosts = plan.mode === "cni" ? [] : (flags.addHost ?? []).map((h) => parseAddHost(h, undefined));
    writeFileAtomic(etcFiles.hosts, hostsText(hostsFile(hostname, network), undefined, addHosts), { mode: 0o644, fsync: false });
    const resolv = resolvConfWith(resolvConf(hostResolvConf(), network), flags.dns ?? [], flags.dnsSearch ?? [], flags.dnsOption ?? []);
    writeFileAtomic(etcFiles.resolvConf, resolv, { mode: 0o644, fsync: false });
    for (const v of built.volumes) {
      if (engine.volumes.ensure(v.name, v.anonymous, v.labels, v.options, id)) undo.push(() => engine.volumes.remove(v.name, { force: true }));
      if (v.copy && v.target) engine.volumes.seed(v.name, root.rootfs, v.target, `create-${id}`);
    }
    for (const src of built.bindSources) if (!pathExists(src)) mkdirParents(src, 0o755);
    const specText = JSON.stringify(spec);
    writeFileAtomic(`${dir}/config.json`, specText, { mode: 0o600, fsync: false });
    headStart?.ready(specText);
    const p = spec.process!;
    const record: ContainerRecord = {
      Id: id, Name: name, Created: now(), Image: root.image, ImageID: root.imageId, Rootfs: root.rootfs, RootfsSource: root.source,
      Flags: flags, Path: p.args![0]!, Args: p.args!.slice(1), Env: p.env ?? [], WorkingDir: p.cwd, User: flags.user ?? root.config.User ?? "",
      Hostname: hostname, Labels: built.labels, StopSignal: built.stopSignal, Runtime: runtime, LogPath: `${dir}/ctr.log`,
      Volumes: built.volumes, Network: plan,
      State: {
        Status: "created", Pid: 0, MonitorPid: 0, ExitCode: 0, Error: "", OOMKilled: false, StartedAt: GO_ZERO_TIME, FinishedAt: GO_ZERO_TIME, RestartCount: 0,
        ...(run && { RunPending: true }),
      },
    };
    store.write(record);
    recordContainerEvent(engine.paths, record, "create");
    return { record, warnings: built.warnings, ...(headStart && { headStart }) };
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {}
    }
    throw err;
  } finally {
    creating.release();
  }
}

export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILE = 3;

/**
 * The bound on a container's log: docker's `--log-opt max-size` and `max-file` (default
 * 10 MiB × 3, never unbounded); the monitor rotates at max-size and keeps max-file files.
 * Pure.
 *
 * @example logLimits({ logOpt: ["max-size=1m", "max-file=2"] }) // → { maxSize: 1048576, maxFiles: 2 }
 */
export function logLimits(flags: RunFlags): LogLimits {
  let size = DEFAULT_LOG_MAX_SIZE;
  let files = DEFAULT_LOG_MAX_FILE;
  for (const opt of flags.logOpt ?? []) {
    const [k, v] = splitKeyValue(opt) ?? [opt, ""];
    if (k === "max-size") size = parseSize(v, "--log-opt max-size", { allowUnlimited: false });
    else if (k === "max-file") {
      if (!/^[1-9]\d*$/.test(v)) throw new BerthError(`invalid max-file ${JSON.stringify(v)}; use a whole number of files ≥ 1`, { field: "--log-opt" });
      files = Number(v);
    } else if (k !== "mode" && k !== "tag" && k !== "compress") throw new BerthError(`unknown log option ${JSON.stringify(k)}; use max-size=SIZE or max-file=N`, { field: "--log-opt" });
  }
  if (size <= 0) throw new BerthError("max-size must be above 0; use a size such as 10m", { field: "--log-opt" });
  return { maxSize: size, maxFiles: files };
}

/** The exit command the monitor runs: `berth --root R --runroot RR container cleanup ID`. */
export function cleanupCommand(engine: Engine, id: string): string[] {
  return [...berthCommand(), "--root", engine.paths.root, "--runroot", engine.paths.runroot, "container", "cleanup", id];
}

/** Forget the runtime's container (a previous run's) and the previous exit file. */
function resetRuntimeState(engine: Engine, r: ContainerRecord): void {
  runtimeOf(engine, r).forceDelete(r.Id);
  const files = monitorFiles(engine.store.runDir(r.Id));
  for (const f of [`${files.exitDir}/${r.Id}`, files.pidFile, files.monitorPidFile]) {
    try {
      unlinkPath(f);
    } catch {}
  }
}

/**
 * Start the container under its monitor; returns once it runs. A created or exited container
 * can be started (an exited one runs again with the same record, as docker's start).
 */
export function startContainer(engine: Engine, id: string, exitClaim?: ExitClaim, headStart?: HeadStart): ContainerRecord {
  let monitor: { pid: number; startTime: number } | undefined;
  // a start that records no exit (start, restart, a restart policy's) holds a claim too until the container runs:
  // killed mid-create, its monitor kills the create and its exit command removes what the create made
  const claim = exitClaim ?? new ExitClaim();
  try {
    const r = startLocked(engine, id, (m) => (monitor = m), claim, headStart);
    if (!exitClaim) claim.release();
    return r;
  } catch (err) {
    headStart?.abort();
    claim.release();
    // a monitor whose create failed ends at once: let it be gone before the caller removes its run dir
    if (monitor) waitGone(monitor.pid, monitor.startTime);
    throw err;
  }
}

/** Wait (at most `limitMs`) until process `pid` (with that start time) has ended. */
export function waitGone(pid: number, startTime: number, limitMs = 10_000): void {
  const deadline = Date.now() + limitMs;
  while (pid > 0 && alive(pid, startTime) && Date.now() < deadline) waitProcessEnd(pid, Math.min(50, deadline - Date.now()));
}

function startLocked(engine: Engine, id: string, started: (m: { pid: number; startTime: number }) => void, exitClaim: ExitClaim | undefined, headStart: HeadStart | undefined): ContainerRecord {
  return engine.store.locked(id, (r) => {
    const live = liveStatus(engine, r);
    if (live.status === "running" || live.status === "paused") return r;
    const runtime = runtimeOf(engine, r);
    // a container that never started has no runtime state or exit file to forget (one runtime process less per run)
    if (r.State.StartedAt !== GO_ZERO_TIME || r.State.Error !== "") resetRuntimeState(engine, r);
    if (r.RootfsSource === "snapshot") ensureSnapshotMounted(engine, r.Id);
    let joinNetwork: (() => void) | undefined;
    try {
      acquireVolumes(engine, r);
      joinNetwork = prepareNetwork(engine, r);
    } catch (err) {
      recordStartFailure(engine, r, err);
      throw err;
    }
    const files = monitorFiles(engine.store.runDir(r.Id));
    mkdirParents(files.exitDir, 0o700);
    let pid: number;
    try {
      // the network's CNI ADDs run while the monitor and the runtime create the container
      pid = headStart?.start(joinNetwork) ?? startMonitor({
        id: r.Id, bundle: engine.store.dir(r.Id), logPath: r.LogPath, log: logLimits(r.Flags), runtime, files,
        tty: r.Flags.tty === true, stdin: r.Flags.interactive === true, exitCommand: cleanupCommand(engine, r.Id), createdPipe: runtime.own(),
        // (a head start that could not be used has handed the claim to its monitor already)
        ...(exitClaim && exitClaim.forMonitor() >= 0 && { exitClaim }),
      }, joinNetwork);
    } catch (err) {
      const failed = Number.parseInt(readTextIfExists(files.monitorPidFile) ?? "0", 10) || 0;
      started({ pid: failed, startTime: liveStartTime(failed) });
      recordStartFailure(engine, r, err);
      throw err;
    }
    const monitorPid = Number.parseInt(readTextIfExists(files.monitorPidFile) ?? "0", 10) || 0;
    started({ pid: monitorPid, startTime: liveStartTime(monitorPid) });
    try {
      runtime.start(r.Id, files.runtimeLog);
    } catch (err) {
      runtime.forceDelete(r.Id);
      recordStartFailure(engine, r, err);
      throw err;
    }
    r.State = {
      ...r.State, Status: "running", Pid: pid, PidStartTime: liveStartTime(pid), MonitorPid: monitorPid, MonitorStartTime: liveStartTime(monitorPid),
      ExitCode: 0, Error: "", OOMKilled: false, StartedAt: now(), FinishedAt: GO_ZERO_TIME, ManuallyStopped: false, RunPending: undefined,
    };
    engine.store.write(r);
    recordContainerEvent(engine.paths, r, "start");
    return r;
  });
}

function recordStartFailure(engine: Engine, r: ContainerRecord, err: unknown): void {
  releaseNetwork(engine, r);
  releaseVolumes(engine, r);
  const code = err instanceof ContainerStartError ? err.exitCode : 125;
  r.State = { ...r.State, Status: r.State.StartedAt === GO_ZERO_TIME ? "created" : "exited", Pid: 0, MonitorPid: 0, ExitCode: code, Error: (err as Error).message };
  engine.store.write(r);
  if (r.RootfsSource === "snapshot") unmountStoppedSnapshot(engine, r.Id);
}

/**
 * Record how the container ended — the exit file, the kernel's OOM kill count of its
 * cgroup (read before the runtime removes the cgroup) — delete it from the runtime, then
 * remove it (--rm) or start it again (its restart policy). What the exit command runs,
 * and what a foreground `run` holding the exit claim runs in the exit command's place (it
 * tells the monitor once the exit is recorded, before the removal, which waits for the
 * monitor's end). Idempotent, under the container's lock: a second call finds the exit
 * recorded. The exit code recorded (or found recorded); undefined when the container is
 * gone or never started.
 */
export function cleanupContainer(engine: Engine, id: string, exitClaim?: ExitClaim): number | undefined {
  let remove = false;
  let restart = false;
  let code: number | undefined;
  // a --rm container's CNI DELs run on while its root and record are removed
  let releasing: (() => void) | undefined;
  try {
    engine.store.locked(id, (r) => {
    // not running and no exit file: the container never ran — the monitor runs this when the
    // claim's holder hangs up mid-create, the berth that started it having ended
    if (r.State.Status !== "running" && r.State.Status !== "paused" && r.State.Status !== "restarting" && exitFileCode(engine, id) === undefined) {
      remove = undoCutStart(engine, r);
      return;
    }
    // created: the start failed (and recorded why); exited: recorded already
    if (r.State.Status === "created") return;
    if (r.State.Status === "exited" && r.State.FinishedAt !== GO_ZERO_TIME) {
      code = r.State.ExitCode;
      return;
    }
    // the CNI DELs first: they need nothing of what follows, and run beside it
    const network = (releasing = startReleaseNetwork(engine, r));
    const exitCode = exitFileCode(engine, id);
    const cgroupsPath = engine.store.spec(id)?.linux?.cgroupsPath;
    const ooms = cgroupsPath ? oomKillCount(cgroupsPath) : undefined;
    runtimeOf(engine, r).forceDelete(id);
    releaseVolumes(engine, r);
    r.State = {
      ...r.State, Status: "exited", ExitCode: exitCode ?? 255, Error: exitCode === undefined ? MONITOR_LOST : "",
      OOMKilled: (ooms ?? 0) > 0, FinishedAt: exitFileTime(engine, id) ?? now(), Pid: 0,
    };
    restart = shouldRestart(r.Flags.restart, r.State.ExitCode, r.State.RestartCount, r.State.ManuallyStopped === true);
    if (restart) r.State.RestartCount++;
    engine.store.write(r);
    recordExit(engine, r);
    // a --rm container's removal unmounts it with the rest; a restart mounts it again
    if (!restart && r.Flags.rm !== true && r.RootfsSource === "snapshot") unmountStoppedSnapshot(engine, id);
    code = r.State.ExitCode;
    // docker's --rm is the daemon's: whoever records the exit removes it (a foreground run, or the exit command once it detached or was killed)
    remove = r.Flags.rm === true;
    if (!remove) network();
    });
  } catch (err) {
    finishQuietly(releasing);
    // removed meanwhile (rm -f): nothing to record
    if (!(err instanceof NoSuchContainer)) {
      exitClaim?.release();
      throw err;
    }
  }
  exitClaim?.recorded();
  try {
    if (remove) removeContainer(engine, id, { force: true, volumes: true, ...(releasing && { releasing }) });
    else if (restart) startContainer(engine, id);
  } finally {
    finishQuietly(releasing);
  }
  return code;
}

/**
 * What a `run` or `create` killed before it wrote the record made goes: its directories,
 * names and root, and the volumes it made (anonymous ones, names it used first) unless a
 * container uses them now — else the name stayed taken by a container no command could
 * name. A run's head start is the monitor's exit command: the monitor killed the waiting
 * create when the run's claim hung up. Without one (another --runtime, `create`) the next
 * command that meets the leftover removes it (`ifDead`: only a create known dead): a
 * claim of its name, container or volume prune. True when it was removed.
 */
export function removeUnrecorded(engine: Engine, id: string, opts: { ifDead?: boolean } = {}): boolean {
  return engine.store.removeUnrecorded(id, () => {
    releaseSnapshot(engine, id);
    const used = new Set(engine.store.list().flatMap((r) => r.Volumes.map((v) => v.name)));
    for (const name of engine.volumes.madeFor(id)) {
      if (used.has(name)) continue;
      try {
        engine.volumes.remove(name, { force: true });
      } catch {
        // a mount something keeps busy: volume rm tells why, later
      }
    }
  }, opts);
}

/**
 * Remove what create `id` left if it died before its record (removeUnrecorded, `ifDead`);
 * true when it did. What cannot be undone now (a mount something keeps busy) is left for
 * the next command that meets it, not made the failure of the one that met it.
 */
export function removeDeadCreate(engine: Engine, id: string): boolean {
  try {
    return removeUnrecorded(engine, id, { ifDead: true });
  } catch {
    return false;
  }
}

/** Remove what every create killed before its record left (removeDeadCreate): container and volume prune run it first. */
export function removeDeadCreates(engine: Engine): void {
  for (const id of engine.store.ids()) {
    if (!pathExists(engine.store.recordPath(id))) removeDeadCreate(engine, id);
  }
}

/** Said of a container whose start was cut short. */
export const START_CUT = "its start was cut short: the berth that started it ended while the runtime created it";

/**
 * What a start cut short made goes — the runtime's container (its init, cgroup and state;
 * the killed create removed none of them), the cgroup too when the runtime had not
 * recorded it yet, the network's attachment, the volumes' holds — and the record says
 * why. True when the container is to be removed too: `run`'s (which removes a container
 * it could not start) or --rm's.
 */
function undoCutStart(engine: Engine, r: ContainerRecord): boolean {
  runtimeOf(engine, r).forceDelete(r.Id);
  const cgroupsPath = engine.store.spec(r.Id)?.linux?.cgroupsPath;
  try {
    if (cgroupsPath) removeContainerCgroup(cgroupsPath);
  } catch {
    // a process that would not leave the cgroup: the rest is undone all the same
  }
  releaseNetwork(engine, r);
  releaseVolumes(engine, r);
  r.State = { ...r.State, Pid: 0, MonitorPid: 0, ExitCode: 125, Error: START_CUT };
  engine.store.write(r);
  return r.State.RunPending === true || r.Flags.rm === true;
}

/** docker's events for an exit just recorded: `oom` first when the kernel killed in it, then `die` with the code. */
function recordExit(engine: Engine, r: ContainerRecord): void {
  if (r.State.OOMKilled) recordContainerEvent(engine.paths, r, "oom");
  recordContainerEvent(engine.paths, r, "die", { exitCode: String(r.State.ExitCode) });
}

/**
 * docker's restart policy after an exit: `always` and `unless-stopped` unless stopped by
 * hand, `on-failure[:N]` on a non-zero code while fewer than N restarts were made. Pure.
 *
 * @example shouldRestart("on-failure:2", 1, 1, false) // → true
 */
export function shouldRestart(policy: string | undefined, exitCode: number, restarts: number, manuallyStopped: boolean): boolean {
  if (!policy || policy === "no" || manuallyStopped) return false;
  if (policy === "always" || policy === "unless-stopped") return true;
  const m = /^on-failure(?::(\d+))?$/.exec(policy);
  if (!m || exitCode === 0) return false;
  return m[1] === undefined || restarts < Number(m[1]);
}

/** Wait until the container is not running; its exit code. */
export async function waitContainer(engine: Engine, id: string, pollMs = 20): Promise<number> {
  for (;;) {
    const r = engine.store.read(id);
    if (!r) return 0;
    const live = liveStatus(engine, r);
    if (live.status === "exited" || live.status === "created" || live.status === "dead") return live.exitCode;
    await Bun.sleep(pollMs);
  }
}

/** Send `signal` to the container's init. */
export function killContainer(engine: Engine, r: ContainerRecord, signal: string): void {
  const live = liveStatus(engine, r);
  if (live.status !== "running" && live.status !== "paused") throw new BerthError(`cannot kill container ${r.Id}: container ${r.Id} is not running`);
  const runtime = runtimeOf(engine, r);
  // told before it is sent: the exit command may record the die it causes before this process runs again
  recordContainerEvent(engine.paths, r, "kill", { signal: String(parseSignal(signal)) });
  runtime.check(["kill", r.Id, signal.replace(/^SIG/i, "").toUpperCase()], monitorFiles(engine.store.runDir(r.Id)).runtimeLog);
}

/**
 * The container's stop signal as a number. --stop-signal is checked when given; an image's
 * StopSignal is anyone's words, and one that is no signal is SIGTERM, as docker's
 * StopSignal() falls back (it once made stop send nothing and wait out the whole timeout).
 */
function stopSignalOf(r: ContainerRecord): number {
  try {
    return parseSignal(r.StopSignal);
  } catch {
    return 15;
  }
}

/** docker stop: the stop signal, `timeout` seconds, then SIGKILL; returns when it has exited and been cleaned up. */
export async function stopContainer(engine: Engine, id: string, timeoutSeconds?: number, signal?: number): Promise<void> {
  const r = engine.store.read(id);
  if (!r) return;
  // one look: each reads the exit file and /proc (paused is the record's word, which this r does not change)
  const status = liveStatus(engine, r).status;
  if (status === "running" || status === "paused") {
    engine.store.update(id, (x) => {
      x.State.ManuallyStopped = true;
    });
    const runtime = runtimeOf(engine, r);
    if (status === "paused") runtime.run(["resume", id]);
    // stop --signal rather than the container's stop signal, as docker's
    const first = signal ?? stopSignalOf(r);
    recordContainerEvent(engine.paths, r, "kill", { signal: String(first) });
    runtime.run(["kill", id, String(first)]);
    const timeout = timeoutSeconds ?? (r.Flags.stopTimeout !== undefined ? Number(r.Flags.stopTimeout) : 10);
    const deadline = timeout < 0 ? Infinity : Date.now() + timeout * 1000;
    while (Date.now() < deadline && !exitedNow(engine, id)) await Bun.sleep(20);
    if (!exitedNow(engine, id)) {
      recordContainerEvent(engine.paths, r, "kill", { signal: "9" });
      runtime.run(["kill", id, "KILL"]);
    }
    await settle(engine, id);
    // docker's order: kill, die (the exit recorded), then stop
    recordContainerEvent(engine.paths, engine.store.read(id) ?? r, "stop");
    return;
  }
  await settle(engine, id);
}

function exitedNow(engine: Engine, id: string): boolean {
  const r = engine.store.read(id);
  return !r || liveStatus(engine, r).status !== "running";
}

/** Wait until the exit command has recorded the exit (or do it here if the monitor is gone). */
export async function settle(engine: Engine, id: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const r = engine.store.read(id);
    if (!r) return;
    if (r.State.Status !== "running" && r.State.Status !== "paused") {
      // recorded by the exit command, which the monitor waits for: then the monitor ends too
      if (r.State.MonitorPid > 0 && r.State.MonitorPid !== process.pid) waitGone(r.State.MonitorPid, r.State.MonitorStartTime ?? 0, 5000);
      return;
    }
    const live = liveStatus(engine, r);
    const monitorAlive = alive(r.State.MonitorPid, r.State.MonitorStartTime);
    if (live.status === "exited" && (!monitorAlive || Date.now() > deadline)) {
      cleanupContainer(engine, id);
      return;
    }
    // woken the moment the monitor ends (its exit command has recorded the exit by then), not at the next 10 ms look;
    // then the event loop turns (a foreground run passes signals on meanwhile)
    if (monitorAlive) waitProcessEnd(r.State.MonitorPid, 10);
    await Bun.sleep(monitorAlive ? 0 : 10);
  }
}

/** docker rm: a running container only with force (killed first); -v removes its anonymous volumes. */
export function removeContainer(engine: Engine, id: string, opts: { force?: boolean; volumes?: boolean; releasing?: () => void } = {}): void {
  const { store } = engine;
  let removed: ContainerRecord | undefined;
  let monitor: [number, number | undefined] = [0, undefined];
  store.locked(id, (r) => {
    monitor = [r.State.MonitorPid, r.State.MonitorStartTime];
    const live = liveStatus(engine, r);
    if (live.status === "running" || live.status === "paused") {
      if (!opts.force) throw new BerthError(`cannot remove container ${r.Name}: the container is running; stop it first, or use rm --force`);
      const runtime = runtimeOf(engine, r);
      recordContainerEvent(engine.paths, r, "kill", { signal: "9" });
      runtime.run(["kill", r.Id, "KILL"]);
      // the monitor writes the exit file into the run dir about to be removed: let it finish writing first
      const deadline = Date.now() + 10_000;
      while (alive(r.State.MonitorPid, r.State.MonitorStartTime) && exitFileCode(engine, r.Id) === undefined && Date.now() < deadline) Bun.sleepSync(5);
    }
    // the exit command deleted it from the runtime when it recorded the exit; a created one was never started —
    // unless a start was cut short after the create (its monitor holds the init): then the runtime's state dir (runc's, crun's and berth-runtime's layout) is there
    const recorded = live.status === "exited" && r.State.Status === "exited" && r.State.FinishedAt !== GO_ZERO_TIME;
    const neverStarted = live.status === "created" && r.State.StartedAt === GO_ZERO_TIME;
    if ((!recorded && !neverStarted) || pathExists(`${engine.paths.runtimeRoot}/${r.Id}`)) runtimeOf(engine, r).forceDelete(r.Id);
    // its exit command will find no record to record the exit in: the die is told here, as docker's rm -f tells it
    if (!recorded && (r.State.Status === "running" || r.State.Status === "paused")) recordContainerEvent(engine.paths, r, "die", { exitCode: String(exitFileCode(engine, r.Id) ?? live.exitCode) });
    // the exit's record began the network's release (cleanupContainer): it ends here, after the root and record went meanwhile
    if (!opts.releasing) releaseNetwork(engine, r);
    releaseVolumes(engine, r);
    releaseRoot(engine, r);
    store.remove(r);
    recordContainerEvent(engine.paths, r, "destroy");
    if (opts.releasing) {
      opts.releasing();
      // a start between the exit's record and this removal attached it again
      releaseNetwork(engine, r);
    }
    removed = r;
  });
  // the killed container's monitor ends (and runs its exit command) on its own: nothing of it outlives rm
  // (not from the exit command itself: the monitor, its parent, waits for it to end)
  if (monitor[0] > 0 && monitor[0] !== process.pid && monitor[0] !== process.ppid) waitGone(monitor[0], monitor[1] ?? 0);
  if (removed && opts.volumes) for (const v of removed.Volumes) if (v.anonymous) engine.volumes.remove(v.name, { force: true });
}

/**
 * A bridge network's container gets its namespace now — the runtime's create joins it by
 * path — and the rest is returned, to run while the runtime creates the container: its
 * addresses (kept in `r`, which the caller writes) and its place in its peers'
 * /etc/hosts. Other modes need nothing. Either half undoes its own part when it fails.
 */
export function prepareNetwork(engine: Engine, r: ContainerRecord): (() => void) | undefined {
  const net = r.Network;
  if (net?.mode !== "cni") return undefined;
  delete net.settings;
  // what a previous run left (its monitor killed, /run half-lost) goes first: one namespace and address per container
  detachNetworks(engine.paths, r.Id);
  const prepared = prepareAttachment(engine.paths, r.Id, net);
  return () => {
    net.settings = joinNetworks(engine.paths, r.Id, r.Hostname, net, prepared);
    connectedHosts(engine, r);
  };
}

/**
 * Undo the container's network attachments (CNI DEL from the cached results, the
 * namespace's mount) and take it out of its peers' /etc/hosts. Any container may have
 * leftovers (a crash mid-start), so this does not look at the mode; it costs a directory
 * listing when there is nothing.
 */
export function releaseNetwork(engine: Engine, r: ContainerRecord): void {
  startReleaseNetwork(engine, r)();
}

/**
 * releaseNetwork begun: the CNI DELs run while the caller does the rest of its teardown
 * (they hold no lock: startDetach); the function returned finishes it — once — and must
 * be called.
 */
function startReleaseNetwork(engine: Engine, r: ContainerRecord): () => void {
  const had = r.Network?.settings !== undefined;
  if (r.Network) delete r.Network.settings;
  const detaching = startDetach(engine.paths, r.Id);
  return once(() => {
    detaching();
    if (had) connectedHosts(engine, r);
  });
}

/** Finish a teardown begun, after another failure (that one is what is reported). */
function finishQuietly(finish: (() => void) | undefined): void {
  try {
    finish?.();
  } catch {}
}

/**
 * The container's `--opt` volumes mounted for it (`holder`: the container, or a `cp` of
 * it), as moby's local driver mounts them when a container using them starts; a failure
 * gives back what this call took.
 */
export function acquireVolumes(engine: Engine, r: ContainerRecord, holder = r.Id): void {
  const taken: string[] = [];
  try {
    for (const v of r.Volumes) {
      engine.volumes.acquire(v.name, holder);
      taken.push(v.name);
    }
  } catch (err) {
    for (const name of taken) engine.volumes.release(name, holder);
    throw err;
  }
}

/**
 * The container no longer uses its volumes: an `--opt` volume it was the last holder of is
 * unmounted. Its exit is recorded whatever an unmount says (moby counts the release even
 * when the unmount fails); releasing twice is fine.
 */
export function releaseVolumes(engine: Engine, r: ContainerRecord, holder = r.Id): void {
  for (const v of r.Volumes) {
    try {
      engine.volumes.release(v.name, holder);
    } catch {
      // a mount something keeps busy was detached lazily; any other failure leaves it for volume rm
    }
  }
}

/** Give back the container's root: its image snapshot; a --rootfs directory is the user's and stays. */
function releaseRoot(engine: Engine, r: ContainerRecord): void {
  if (r.RootfsSource === "snapshot") releaseSnapshot(engine, r.Id);
}

/**
 * After /run was lost (a reboot): containers whose records say they ran have no monitor
 * and no exit file. Record them as exited, remove the --rm ones, and start again those
 * whose policy is always or unless-stopped — what a daemon would do at boot, done by the
 * first berth command that notices (the run root's boot id differs: `boot` is this boot's,
 * engine.ts's bootSinceLastCommand, recorded here). A container
 * directory from before the boot without a readable record — a --rm container's record
 * (not flushed) torn or lost by the crash, or a create cut short — is removed as `rm -f
 * ID` would. Returns the ids started.
 */
export function reviveAfterReboot(engine: Engine, boot: string): string[] {
  mkdirParents(engine.paths.runroot, 0o700);
  writeFileAtomic(bootMarker(engine), `${boot}\n`, { mode: 0o600, fsync: false });
  const started: string[] = [];
  const bootedMs = bootTimeMs();
  for (const id of engine.store.ids()) {
    let readable = false;
    try {
      readable = engine.store.read(id) !== undefined;
    } catch (err) {
      if (!(err instanceof UnreadableRecord)) throw err;
    }
    // one made since the boot is a create under way in another berth process
    if (!readable && bootedMs !== undefined && statPath(engine.store.dir(id)).mtimeMs < bootedMs) removeUnreadable(engine, id);
  }
  for (const r of engine.store.list()) {
    if (r.State.Status !== "running" && r.State.Status !== "paused") continue;
    if (liveStatus(engine, r).status !== "exited") continue;
    // what the runtime may still hold of it (its state, its cgroup) goes before it is recorded as exited
    runtimeOf(engine, r).forceDelete(r.Id);
    engine.store.update(r.Id, (x) => {
      releaseNetwork(engine, x);
      releaseVolumes(engine, x);
      x.State = { ...x.State, Status: "exited", ExitCode: 255, Error: MONITOR_LOST, FinishedAt: now(), Pid: 0 };
      recordExit(engine, x);
    });
    if (r.Flags.rm === true) {
      removeContainer(engine, r.Id, { force: true, volumes: true });
      continue;
    }
    const policy = r.Flags.restart;
    if ((policy === "always" || policy === "unless-stopped") && r.State.ManuallyStopped !== true) {
      try {
        startContainer(engine, r.Id);
        started.push(r.Id);
      } catch {
        // recorded as exited with the start's error; the user sees it in ps -a
      }
    }
  }
  // a --rm container's root whose removal the crash undid (it was not flushed) holds its image's layers: it goes
  new ImageStore(engine.paths).removeRootfsOfGone((id) => pathExists(engine.store.dir(id)));
  return started;
}

/** The resource flags of `update`: docker's names, as run takes them. */
export type UpdateFlags = Pick<RunFlags, "cpus" | "cpuShares" | "cpuPeriod" | "cpuQuota" | "cpusetCpus" | "cpusetMems" | "memory" | "memorySwap" | "memoryReservation" | "pidsLimit" | "blkioWeight" | "restart">;

/**
 * docker update: new limits on the container's cgroup now (the runtime's `update`), kept
 * in its record and bundle so a restart keeps them; `--restart` changes the policy.
 */
export function updateContainer(engine: Engine, id: string, flags: UpdateFlags): string[] {
  const warnings: string[] = [];
  engine.store.locked(id, (r) => {
    const { restart, ...limits } = flags;
    let converted;
    try {
      converted = limitsToResources(dockerLimitFlags(limits, engineHostFacts(), warnings), blockDevice);
    } catch (err) {
      throw renameLimitFlag(err);
    }
    // docker keeps the swap it set at run (twice the memory) unless told: raise it with the memory
    const mem = converted.resources.memory;
    const specPath = `${engine.store.dir(id)}/config.json`;
    const spec = JSON.parse(readText(specPath)) as Spec;
    const old = spec.linux?.resources ?? {};
    if (mem?.limit !== undefined && mem.limit > 0 && flags.memorySwap === undefined && old.memory?.swap !== undefined && old.memory.swap > 0 && old.memory.swap < mem.limit) {
      mem.swap = mem.limit * 2;
    }
    const resources = validateResources(converted.resources);
    const live = liveStatus(engine, r);
    if (Object.keys(resources).length && (live.status === "running" || live.status === "paused")) {
      runtimeOf(engine, r).check(["update", "--resources", "-", r.Id], monitorFiles(engine.store.runDir(r.Id)).runtimeLog, JSON.stringify(resources));
    }
    const merged: Record<string, unknown> = { ...old };
    for (const [k, v] of Object.entries(resources)) merged[k] = typeof v === "object" && !Array.isArray(v) ? { ...((old as Record<string, object>)[k] ?? {}), ...v } : v;
    spec.linux = { ...spec.linux, resources: merged as LinuxResources };
    writeFileAtomic(specPath, JSON.stringify(spec), { mode: 0o600, fsync: false });
    r.Flags = { ...r.Flags, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
    engine.store.write(r);
  });
  return warnings;
}

/** `rm -f` of a container whose record cannot be read: kill and delete it in the default runtime, remove its directories and name claim. */
export function removeUnreadable(engine: Engine, id: string): void {
  const runtime = new OciRuntime(runtimePath(undefined), engine.paths.runtimeRoot);
  runtime.run(["kill", id, "KILL"]);
  runtime.forceDelete(id);
  try {
    detachNetworks(engine.paths, id);
  } catch {}
  try {
    releaseSnapshot(engine, id);
  } catch {}
  engine.store.remove({ Id: id, Name: "" });
}
