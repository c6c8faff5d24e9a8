/**
 * How a stopped container of another engine ended, from the record that engine keeps —
 * the exit code no cgroup file holds once the container is gone. Pure: the reader
 * (diagnose-gather.ts) hands in the files' text.
 *
 * - docker: `<data-root>/containers/<id>/config.v2.json`, whose `State` is what `docker
 *   inspect` shows (ExitCode, OOMKilled, Error, FinishedAt);
 * - containerd's CRI plugin (Kubernetes): `<root>/io.containerd.grpc.v1.cri/containers/
 *   <id>/status`, the versioned JSON its container store writes (ExitCode, Reason —
 *   stored only as "OOMKilled" —, Message, FinishedAt in ns) — what the kubelet shows as
 *   lastState.terminated;
 * - podman: its database is binary, but with the file events backend every exit is a
 *   `died` line in `<tmpdir>/events/events.log` (`ContainerExitCode`), which is what
 *   `podman events` replays.
 */

export interface EngineExit {
  code: number;
  /** the engine recorded an OOM kill (docker OOMKilled, CRI reason OOMKilled) */
  oomKilled?: boolean;
  /** the engine's own words: docker's State.Error, CRI's reason and message */
  detail?: string;
  /** when it ended, ISO 8601 */
  finishedAt?: string;
  /** when it last started, ISO 8601: with finishedAt, the window an OOM kill of it must fall in */
  startedAt?: string;
  /** the file it came from */
  source: string;
}

type Json = Record<string, unknown>;

function parseObject(text: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

const int = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) ? v : undefined);

/** Go's zero time.Time, which docker writes for "never". */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * docker's record of a container that is not running; undefined while it runs, or when
 * it never started (no FinishedAt).
 *
 * @example dockerExit('{"State":{"Running":false,"ExitCode":137,"OOMKilled":true,"FinishedAt":"2026-11-24T01:00:00Z"}}', "/var/lib/docker/containers/4f…/config.v2.json")
 * // → { code: 137, oomKilled: true, finishedAt: "2026-11-24T01:00:00Z", source: "…/config.v2.json" }
 */
export function dockerExit(configV2: string, source: string): EngineExit | undefined {
  const state = parseObject(configV2)?.State as Json | undefined;
  if (!state || typeof state !== "object" || state.Running === true || state.Restarting === true) return undefined;
  const code = int(state.ExitCode);
  const finishedAt = typeof state.FinishedAt === "string" && !state.FinishedAt.startsWith(GO_ZERO_TIME.slice(0, 4)) ? state.FinishedAt : undefined;
  if (code === undefined || finishedAt === undefined) return undefined;
  const error = typeof state.Error === "string" && state.Error !== "" ? state.Error : undefined;
  const startedAt = typeof state.StartedAt === "string" && !state.StartedAt.startsWith(GO_ZERO_TIME.slice(0, 4)) ? state.StartedAt : undefined;
  return { code, ...(state.OOMKilled === true && { oomKilled: true }), ...(error && { detail: error }), finishedAt, ...(startedAt && { startedAt }), source };
}

/**
 * containerd CRI's record of a container that has exited (FinishedAt set).
 *
 * @example criExit('{"Version":"v1","Pid":0,"ExitCode":137,"FinishedAt":1795480000000000000,"Reason":"OOMKilled"}', "…/status")
 * // → { code: 137, oomKilled: true, detail: "OOMKilled", finishedAt: "2026-11-24T…Z", source: "…/status" }
 */
export function criExit(status: string, source: string): EngineExit | undefined {
  const s = parseObject(status);
  const finishedNs = int(s?.FinishedAt);
  const code = int(s?.ExitCode);
  if (!s || code === undefined || finishedNs === undefined || finishedNs <= 0) return undefined;
  // the plugin stores a reason only for OOM kills; like its ContainerStatus, fill in the rest
  const stored = typeof s.Reason === "string" ? s.Reason : "";
  const reason = stored !== "" ? stored : code === 0 ? "Completed" : "Error";
  const message = typeof s.Message === "string" ? s.Message : "";
  const detail = [reason, message].filter((x) => x !== "").join(": ");
  const startedNs = int(s.StartedAt);
  return {
    code, ...(reason === "OOMKilled" && { oomKilled: true }), ...(detail && { detail }),
    finishedAt: new Date(Math.floor(finishedNs / 1e6)).toISOString(),
    ...(startedNs !== undefined && startedNs > 0 && { startedAt: new Date(Math.floor(startedNs / 1e6)).toISOString() }), source,
  };
}

/** One line of podman's events.log that matters here. */
interface PodmanEvent {
  ID?: string;
  Name?: string;
  Status?: string;
  Time?: string;
  /** absent when 0 */
  ContainerExitCode?: number;
}

/** What podman's events.log says of one container: who it is, its last event, and how it last ended. */
export interface PodmanRecord {
  id: string;
  name?: string;
  /** the last event's status: create, init, start, died, cleanup, remove… ("create" alone: it never started) */
  status: string;
  startedAt?: string;
  /** the last `died` event, when it has one */
  exit?: EngineExit;
}

/**
 * A container's events in podman's events.log, by full id, unique id prefix (12 or more)
 * or name; undefined when it has none (or events go to journald). The last container of
 * that name wins: a name is reused once the old container is removed.
 *
 * @example podmanRecord(eventsLog, "web", "/run/libpod/events/events.log") // → { id: "4f…", name: "web", status: "cleanup", exit: { code: 3, … } }
 */
export function podmanRecord(eventsLog: string, target: string, source: string): PodmanRecord | undefined {
  let found: PodmanRecord | undefined;
  for (const line of eventsLog.split("\n")) {
    // cheap filter first: the log holds every event of every container and image
    if (!line.includes(target) || !line.includes('"container"')) continue;
    const e = parseObject(line) as PodmanEvent | undefined;
    if (!e || typeof e.ID !== "string" || typeof e.Status !== "string") continue;
    if (e.ID !== target && e.Name !== target && !(target.length >= 12 && e.ID.startsWith(target))) continue;
    if (found?.id !== e.ID) found = { id: e.ID, status: e.Status };
    found.status = e.Status;
    if (e.Name) found.name = e.Name;
    if (e.Status === "start" && e.Time) found.startedAt = e.Time;
    if (e.Status !== "died") continue;
    // podman omits ContainerExitCode when it is 0 (Go's omitempty)
    const code = e.ContainerExitCode === undefined ? 0 : int(e.ContainerExitCode);
    if (code === undefined) continue;
    found.exit = { code, ...(e.Time && { finishedAt: e.Time }), ...(found.startedAt && { startedAt: found.startedAt }), source };
  }
  return found;
}

/**
 * The last `died` event of a container in podman's events.log, by full id, unique id
 * prefix or name; undefined when it has none (still running, or events go to journald).
 *
 * @example podmanExit(eventsLog, "web", "/run/libpod/events/events.log") // → { code: 3, finishedAt: "…", source: "…/events.log" }
 */
export function podmanExit(eventsLog: string, target: string, source: string): (EngineExit & { id: string; name?: string }) | undefined {
  const r = podmanRecord(eventsLog, target, source);
  return r?.exit && { ...r.exit, id: r.id, ...(r.name && { name: r.name }) };
}
