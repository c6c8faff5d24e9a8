/**
 * What a container is doing now, from its record, its exit file and whether its init and
 * monitor live — what ps, inspect, logs and every verb read first, apart from the
 * lifecycle's verbs so that reading a state loads none of them.
 */
import { liveStartTime } from "../../runtime/state.ts";
import { readTextIfExists, statPath, SysError } from "../../sys/libc.ts";
import type { Engine } from "./engine.ts";
import { monitorFiles } from "./monitor-files.ts";
import type { ContainerRecord, ContainerStatus } from "./records.ts";

/** Is `pid` running (not a zombie) and, when `startTime` is known, still the process that had it? */
export function alive(pid: number, startTime: number | undefined): boolean {
  const start = liveStartTime(pid);
  return start !== 0 && (startTime === undefined || start === startTime);
}

const exitFile = (engine: Engine, id: string) => `${monitorFiles(engine.store.runDir(id)).exitDir}/${id}`;

/** The exit code the monitor wrote, if the init has ended. */
export function exitFileCode(engine: Engine, id: string): number | undefined {
  const text = readTextIfExists(exitFile(engine, id));
  if (text === undefined) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * When the init ended, ISO 8601: the exit file's time — the monitor writes it as it reaps
 * the init, while the exit may be recorded much later (a foreground `run` stopped with
 * Ctrl-Z holds the record until it runs again). Undefined without an exit file.
 */
export function exitFileTime(engine: Engine, id: string): string | undefined {
  try {
    return new Date(statPath(exitFile(engine, id)).mtimeMs).toISOString();
  } catch (err) {
    if (err instanceof SysError && (err.code === "ENOENT" || err.code === "ENOTDIR")) return undefined;
    throw err;
  }
}

export interface LiveStatus {
  status: ContainerStatus;
  exitCode: number;
  error: string;
  /** when the init ended, when that is known from its exit file before the record says it */
  finishedAt?: string;
}

export const MONITOR_LOST = "the container's monitor ended without recording an exit (killed, or /run was lost); its exit status is unknown";

/**
 * What a record's container is doing now: its recorded state, corrected by the exit file
 * (the init ended, cleanup not yet done) and by whether the init and its monitor live.
 * A container whose monitor died shows as exited with a reason, never running forever.
 */
export function liveStatus(engine: Engine, r: ContainerRecord): LiveStatus {
  const s = r.State;
  if (s.Status !== "running" && s.Status !== "paused" && s.Status !== "restarting") return { status: s.Status, exitCode: s.ExitCode, error: s.Error };
  const code = exitFileCode(engine, r.Id);
  if (code !== undefined) return { status: "exited", exitCode: code, error: "", ...finishedAt(engine, r.Id) };
  if (s.Pid > 0 ? alive(s.Pid, s.PidStartTime) : alive(s.MonitorPid, s.MonitorStartTime)) return { status: s.Status, exitCode: 0, error: "" };
  if (alive(s.MonitorPid, s.MonitorStartTime)) return { status: s.Status, exitCode: 0, error: "" };
  // the monitor may have just written the exit file and exited: look once more
  const late = exitFileCode(engine, r.Id);
  if (late !== undefined) return { status: "exited", exitCode: late, error: "", ...finishedAt(engine, r.Id) };
  return { status: "exited", exitCode: 255, error: MONITOR_LOST };
}

function finishedAt(engine: Engine, id: string): { finishedAt?: string } {
  const at = exitFileTime(engine, id);
  return at === undefined ? {} : { finishedAt: at };
}
