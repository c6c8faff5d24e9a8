/**
 * `berth events`: what changed between two looks at the host — berth-runtime
 * containers created, started, paused, resumed, exited, deleted (from their state
 * directories), and OOM kills in any cgroup (the victim's own count: v2
 * memory.events.local, v1 memory.oom_control, which both count a kill only where the
 * victim was, so one kill is one event) — and the engine's own events, docker's, from its
 * journal (engine/event-journal.ts), turned into the same shape by fromJournal. Pure:
 * snapshots come from events-watch.ts.
 */
import { parseFilterFlag } from "../key-value.ts";
import type { EngineEvent } from "../engine/event-journal.ts";
import type { GoShape } from "./template.ts";

/**
 * What happened. berth's words for what a runtime's state shows (create … delete, oom);
 * the engine's journal adds docker's actions that have no such word.
 */
export type EventType =
  | "create" | "start" | "pause" | "resume" | "exit" | "delete" | "oom"
  | "kill" | "stop" | "restart" | "rename" | "attach" | "exec_create" | "exec_start" | "exec_die";

export interface BerthState {
  status: string;
  pid: number;
  cgroup?: string;
  /** the engine that drives it (podman, docker, containerd, kubernetes) and its name there, as discovery saw its cgroup */
  engine?: string;
  name?: string;
  /** the init's exit code, when it was caught as a zombie before its parent reaped it */
  exitCode?: number;
  /** stopped: whether it had been started (its status no longer says; a created container killed before start had not) */
  started?: boolean;
}

export interface Snapshot {
  /** berth-runtime id → state */
  berth: Map<string, BerthState>;
  /** cgroup path → OOM kills of processes in that cgroup itself */
  oomKills: Map<string, number>;
  /** cgroup path → the container it belongs to, where discovery knows one */
  owners?: Map<string, Owner>;
  /**
   * The kernel log's kills (task_memcg) written since the look before, when it can be
   * followed (read after oomKills): a cgroup made and removed between two looks (a
   * container OOM-killed at once and cleaned up by its engine) still counts.
   */
  loggedKills?: string[];
  /**
   * cgroup → kills the kernel log told (this look or before) that its counter did not
   * show yet: the kernel prints a kill before it counts it. diffSnapshots's bookkeeping,
   * recorded on the later snapshot for the next diff.
   */
  loggedUncounted?: Map<string, number>;
}

/** Who a cgroup belongs to: the engine that manages it and the OCI runtime that made it, where known. */
export interface Owner {
  id: string;
  name?: string;
  /** podman, docker, containerd, kubernetes, cri-o */
  engine?: string;
  /** "berth": berth-runtime made it (its state is under --root) */
  runtime?: string;
}

export interface HostEvent {
  time: string;
  type: EventType;
  /** the engine that manages the container (podman, docker, containerd, kubernetes) */
  engine?: string;
  /** the OCI runtime: "berth" for berth-runtime's containers */
  runtime?: string;
  id?: string;
  name?: string;
  cgroup?: string;
  pid?: number;
  /** exit: the code, or null where the exit code was reaped by the init's parent before it could be read */
  exitCode?: number | null;
  /** oom: kills since the last look */
  count?: number;
  /** what the event is about when it is not a container: the engine's images, volumes and networks */
  object?: "image" | "volume" | "network";
  /** the engine's events: the container's image */
  image?: string;
  /** kill: the signal's number */
  signal?: number;
  /** rename: the name before, with docker's leading slash */
  oldName?: string;
  /** exec_create, exec_start: the command; exec_die has the exit code */
  command?: string;
  execId?: string;
  /** the engine's events also carry docker's own keys, so docker's templates work: `{{.Action}} {{.Actor.Attributes.name}}` */
  Type?: EngineEvent["Type"];
  Action?: string;
  Actor?: EngineEvent["Actor"];
  timeNano?: number;
}

/**
 * What `events --format` may read: every HostEvent field, set or not (an unset one prints
 * `<no value>`; a name that is none of them is an error), docker's Actor.Attributes a map.
 */
export const EVENT_SHAPE: GoShape = {
  fields: [...(["engine", "runtime", "id", "name", "cgroup", "pid", "exitCode", "count", "object", "image", "signal", "oldName", "command", "execId", "Type", "Action", "Actor", "timeNano"] satisfies (keyof HostEvent)[]), "Actor.ID", "Actor.Attributes"],
  maps: ["Actor.Attributes"],
};

/** docker's action → berth's word for it, where berth had one first */
const FROM_DOCKER: Record<string, EventType> = { die: "exit", destroy: "delete", unpause: "resume" };

/**
 * An event of the engine's journal as `berth events` shows it: docker's action in
 * berth's words (die → exit, destroy → delete, unpause → resume; `exec_start: sh` →
 * exec_start with its command), `engine=berth`, and the attributes that say what happened.
 *
 * @example fromJournal({ Type: "container", Action: "die", Actor: { ID: "ab…", Attributes: { name: "web", exitCode: "3" } }, … }) // → { type: "exit", engine: "berth", name: "web", exitCode: 3, … }
 */
export function fromJournal(e: EngineEvent): HostEvent {
  const a = e.Actor.Attributes ?? {};
  const colon = e.Action.indexOf(": ");
  const action = colon < 0 ? e.Action : e.Action.slice(0, colon);
  const type = (FROM_DOCKER[action] ?? action) as EventType;
  const int = (v: string | undefined) => (v === undefined || !/^-?\d+$/.test(v) ? undefined : Number(v));
  const exitCode = int(a.exitCode);
  const signal = int(a.signal);
  return {
    time: new Date(Math.round(e.timeNano / 1e6)).toISOString(), type, engine: "berth", id: e.Actor.ID,
    // a volume's name is its id
    ...((a.name !== undefined || e.Type === "volume") && { name: a.name ?? e.Actor.ID }),
    ...(e.Type !== "container" && { object: e.Type }),
    ...(a.image !== undefined && e.Type === "container" && { image: a.image }),
    ...(exitCode !== undefined && { exitCode }),
    ...(signal !== undefined && { signal }),
    ...(a.oldName !== undefined && { oldName: a.oldName }),
    ...(colon >= 0 && { command: e.Action.slice(colon + 2) }),
    ...(a.execID !== undefined && { execId: a.execID }),
    Type: e.Type, Action: e.Action, Actor: e.Actor, timeNano: e.timeNano,
  };
}

/** status before > after → the event; "creating" (berth-runtime's create in progress) is seen when a look falls inside a create */
const TRANSITIONS: Record<string, EventType | undefined> = {
  "created>running": "start", "creating>running": "start", "running>paused": "pause", "created>paused": "pause", "paused>running": "resume",
  "running>stopped": "exit", "paused>stopped": "exit", "created>stopped": "exit", "creating>stopped": "exit",
};

/**
 * @example diffSnapshots(before, after, "2025-01-01T00:00:00Z") // → [{ type: "start", runtime: "berth", id: "web", pid: 42, … }]
 */
export function diffSnapshots(before: Snapshot, after: Snapshot, time: string): HostEvent[] {
  const out: HostEvent[] = [];
  const berth = (id: string, s: BerthState, type: EventType): HostEvent => {
    // discovery may miss the engine in one look (its monitor between processes): either look's word counts
    const engine = s.engine ?? before.berth.get(id)?.engine ?? after.berth.get(id)?.engine;
    const name = s.name ?? before.berth.get(id)?.name ?? after.berth.get(id)?.name;
    return { time, type, ...(engine && { engine }), runtime: "berth", id, ...(name && { name }), ...(s.cgroup && { cgroup: s.cgroup }), ...(s.pid > 0 && { pid: s.pid }) };
  };
  for (const [id, now] of after.berth) {
    const was = before.berth.get(id);
    if (!was) {
      out.push(berth(id, now, "create"));
      // seen for the first time already past "created" — on a loaded host a look can take
      // longer than a container's whole run: report the steps it took
      if (now.status === "running" || now.status === "paused" || (now.status === "stopped" && now.started)) out.push(berth(id, now, "start"));
      if (now.status === "paused") out.push(berth(id, now, "pause"));
      if (now.status === "stopped") out.push({ ...berth(id, now, "exit"), exitCode: now.exitCode ?? null });
      continue;
    }
    const type = TRANSITIONS[`${was.status}>${now.status}`];
    // started and ended between two looks
    if (type === "exit" && (was.status === "created" || was.status === "creating") && now.started) out.push(berth(id, now, "start"));
    if (type === "exit") out.push({ ...berth(id, was, "exit"), exitCode: now.exitCode ?? was.exitCode ?? null });
    else if (type) out.push(berth(id, now, type));
  }
  for (const [id, was] of before.berth) {
    if (after.berth.has(id)) continue;
    if (was.status !== "stopped") out.push({ ...berth(id, was, "exit"), exitCode: was.exitCode ?? null });
    out.push(berth(id, was, "delete"));
  }
  const { rose, uncounted } = oomKillsBetween(before, after);
  after.loggedUncounted = uncounted;
  for (const [cgroup, count] of rose) {
    // the later look may know the container only from its cgroup's name (its runtime state
    // already deleted when the kill reached the kernel log): what the earlier look knew fills in
    const now = ownerOf(cgroup, after.owners);
    const earlier = ownerOf(cgroup, before.owners);
    const owner = now && earlier && now.id === earlier.id ? { ...earlier, ...now } : (now ?? earlier);
    out.push({
      time, type: "oom", ...(owner?.engine && { engine: owner.engine }), ...(owner?.runtime && { runtime: owner.runtime }),
      ...(owner && { id: owner.id, ...(owner.name && { name: owner.name }) }), cgroup, count,
    });
  }
  // one look can see a kill and the exit it caused: the kill first, as it happened
  return out.sort((a, b) => (ORDER[a.type] ?? 0) - (ORDER[b.type] ?? 0));
}

/**
 * The kills in each cgroup between two looks: the kernel log's, which still tell a cgroup
 * removed before the look, and the counters' beyond them — the log's oom-kill line is
 * rate-limited (10 in 5 s, mm/oom_kill.c's oom_rs), the counters are not, so a burst of
 * kills on a loaded host shows whole. A kill is printed before it is counted, and the
 * counters are read before the log: a kill counted by this look was logged by this look
 * or an earlier one, so the log's kills not yet counted (carried in `loggedUncounted`)
 * are subtracted from the counter's rise rather than told twice.
 */
function oomKillsBetween(before: Snapshot, after: Snapshot): { rose: Map<string, number>; uncounted: Map<string, number> } {
  const logged = new Map<string, number>();
  for (const cgroup of after.loggedKills ?? []) logged.set(cgroup, (logged.get(cgroup) ?? 0) + 1);
  const rose = new Map<string, number>();
  const uncounted = new Map<string, number>();
  for (const cgroup of new Set([...logged.keys(), ...after.oomKills.keys()])) {
    const inLog = logged.get(cgroup) ?? 0;
    const count = after.oomKills.get(cgroup);
    // a cgroup first seen with kills had them since the look before
    const counted = count === undefined ? 0 : Math.max(0, count - (before.oomKills.get(cgroup) ?? 0));
    const carried = before.loggedUncounted?.get(cgroup) ?? 0;
    const unlogged = Math.max(0, counted - carried - inLog);
    if (inLog + unlogged > 0) rose.set(cgroup, inLog + unlogged);
    // a cgroup whose counter is gone will count nothing more
    const carry = count === undefined ? 0 : Math.max(0, carried + inLog - counted);
    if (carry > 0) uncounted.set(cgroup, carry);
  }
  return { rose, uncounted };
}

/** The order events of one look happened in (a look sees only berth's words). */
const ORDER: Partial<Record<EventType, number>> = { create: 0, start: 1, pause: 2, resume: 3, oom: 4, exit: 5, delete: 6 };

/** The container a cgroup is, or is inside of (crun's `…/container`, a nested cgroup). */
function ownerOf(cgroup: string, owners: Snapshot["owners"]): Owner | undefined {
  if (!owners) return undefined;
  for (let p = cgroup; p !== ""; p = p.slice(0, p.lastIndexOf("/"))) {
    const o = owners.get(p);
    if (o) return o;
  }
  return undefined;
}

export interface EventFilter {
  types?: Set<string>;
  /** docker's object types: container, volume, network (any other matches nothing here) */
  objects?: Set<string>;
  volumes?: string[];
  networks?: string[];
  images?: string[];
  /** a container id, id prefix or name */
  containers?: string[];
  /** cgroup paths: an event in one of them or below */
  cgroups?: string[];
}

/** docker's object types: the ones berth reports, and the rest (whose filter matches nothing) */
const OBJECTS = ["container", "image", "volume", "network"];
const OTHER_OBJECTS = ["daemon", "plugin", "service", "node", "secret", "config"];

const EVENT_FILTERS = ["event", "type", "container", "image", "volume", "network", "cgroup"];

/**
 * docker's `--filter key=value` (repeatable; the same key ORs, different keys AND):
 * `event=oom` (docker's `die`, `destroy`, `unpause` too), `type=container|volume|network`
 * |image (docker's object type; `type=daemon`… matches none; a berth event name there is
 * taken as `event=`), `container=ID|NAME`, `image=NAME|ID` (its events and its containers'),
 * `volume=NAME`, `network=NAME|ID`, `cgroup=/path`.
 */
export function parseEventFilters(args: string[]): EventFilter {
  const f: EventFilter = {};
  for (const a of args) {
    const [key, value] = parseFilterFlag(a, EVENT_FILTERS);
    if (key === "type" && (OBJECTS.includes(value) || OTHER_OBJECTS.includes(value))) (f.objects ??= new Set()).add(value);
    else if (key === "event" || key === "type") (f.types ??= new Set()).add(FROM_DOCKER[value] ?? value);
    else if (key === "container") (f.containers ??= []).push(value);
    else if (key === "volume") (f.volumes ??= []).push(value);
    else if (key === "network") (f.networks ??= []).push(value);
    else if (key === "image") (f.images ??= []).push(value);
    else (f.cgroups ??= []).push(value);
  }
  return f;
}

export function matchesFilter(e: HostEvent, f: EventFilter): boolean {
  const object = e.object ?? "container";
  const is = (kind: string, refs: string[] | undefined) => refs === undefined || (object === kind && refs.some((c) => e.id !== undefined && (e.id === c || e.name === c || e.id.startsWith(c))));
  if (f.types && !f.types.has(e.type)) return false;
  if (f.objects && !f.objects.has(object)) return false;
  // image= as docker's: the image's own events, and the events of containers of that image
  const ofImage = f.images === undefined || is("image", f.images) || (object === "container" && f.images.includes(e.image ?? ""));
  if (!is("container", f.containers) || !ofImage || !is("volume", f.volumes) || !is("network", f.networks)) return false;
  if (f.cgroups && !f.cgroups.some((c) => e.cgroup !== undefined && (e.cgroup === c || e.cgroup.startsWith(`${c}/`)))) return false;
  return true;
}

/** The id as docker and podman print it: 12 characters of a 64-hex id. */
const shortId = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);

/**
 * One line of the table: time, type, the container's name (else its short id, else the
 * cgroup), then engine and runtime — each what it is — and the rest as key=value.
 */
export function formatEvent(e: HostEvent): string {
  const who = `${e.object ? `${e.object} ` : ""}${e.name ?? (e.id ? shortId(e.id) : `cgroup ${e.cgroup}`)}`;
  const attrs = [
    e.command !== undefined ? `command=${JSON.stringify(e.command)}` : "",
    e.engine ? `engine=${e.engine}` : "", e.runtime ? `runtime=${e.runtime === "berth" ? "berth-runtime" : e.runtime}` : "",
    e.id && e.name && e.id !== e.name ? `id=${shortId(e.id)}` : "", e.image ? `image=${e.image}` : "",
    e.pid !== undefined ? `pid=${e.pid}` : "", e.id && e.cgroup ? `cgroup=${e.cgroup}` : "",
    e.signal !== undefined ? `signal=${e.signal}` : "", e.oldName !== undefined ? `oldName=${e.oldName}` : "",
    e.type === "exit" || e.type === "exec_die" ? `exitCode=${e.exitCode ?? "unknown"}` : "", e.count !== undefined ? `kills=${e.count}` : "",
  ].filter(Boolean);
  return `${e.time} ${e.type.padEnd(6)} ${who}${attrs.length > 0 ? ` (${attrs.join(", ")})` : ""}`;
}

/**
 * Exit events whose code the runtime could not read — the engine's monitor (conmon, a
 * shim) reaped the init — held until the engine records it (podman's died event), then
 * released with the code; the events after them stay behind them. `lookup` asks the
 * engine's records: the code, undefined while they have none yet, null when they never
 * will (an engine whose records this host does not keep): released at once.
 *
 * How long to wait is the engine's own doing, not a number of looks (a look under load
 * takes seconds, and so does the engine's cleanup): podman writes died before it has the
 * runtime delete the container, so once its delete is seen the record has the code, or
 * never will (events on journald); a CRI's status follows its task delete at once.
 * `afterDeleteMs` past the delete, or `maxMs` past the exit for an engine that never
 * deletes (its monitor killed), the exit goes out with null.
 */
export class ExitCodes {
  private held: Held[] = [];
  private readonly afterDeleteMs: number;
  private readonly maxMs: number;
  constructor(private readonly lookup: (e: HostEvent) => number | null | undefined, opts: { afterDeleteMs?: number; maxMs?: number } = {}) {
    this.afterDeleteMs = opts.afterDeleteMs ?? 2_000;
    this.maxMs = opts.maxMs ?? 30_000;
  }

  /** This look's events, at `nowMs` → the ones to print now, in order. */
  push(events: HostEvent[], nowMs: number): HostEvent[] {
    const queue: Held[] = [...this.held, ...events.map((event) => ({ event, since: nowMs }))];
    for (const d of queue) {
      if (d.event.type !== "delete") continue;
      for (const h of queue) if (h.deletedAt === undefined && h.event.type === "exit" && h.event.id === d.event.id) h.deletedAt = nowMs;
    }
    const out: HostEvent[] = [];
    this.held = [];
    for (const h of queue) {
      if (isPending(h.event)) {
        const code = this.lookup(h.event);
        if (typeof code === "number") h.event = { ...h.event, exitCode: code };
        else if (code === undefined && nowMs - h.since < this.maxMs && (h.deletedAt === undefined || nowMs - h.deletedAt < this.afterDeleteMs)) {
          this.held.push(h);
          continue;
        }
      }
      if (this.held.length > 0) this.held.push(h);
      else out.push(h.event);
    }
    return out;
  }

  /** The end of the stream (--until): what is held, after a last look at the engine's records. */
  flush(): HostEvent[] {
    const out = this.held.map((h) => (isPending(h.event) ? { ...h.event, exitCode: this.lookup(h.event) ?? null } : h.event));
    this.held = [];
    return out;
  }
}

interface Held {
  event: HostEvent;
  /** when it was seen, and when its container's runtime state was seen deleted */
  since: number;
  deletedAt?: number;
}

/** An exit of an engine's container whose code only the engine's records can tell. */
const isPending = (e: HostEvent) => e.type === "exit" && e.exitCode === null && e.engine !== undefined;
