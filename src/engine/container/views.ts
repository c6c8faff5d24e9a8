/**
 * What `inspect` and `ps` show of a container, in docker's shapes and words: inspect's
 * JSON (Id, State, Config, HostConfig, Mounts…), ps's columns (`Up 5 seconds`,
 * `Exited (0) 3 seconds ago`, durations from src/human-duration.ts), and ps's --filter. Pure.
 */
import { BerthError } from "../../errors.ts";
import type { Spec } from "../../spec/runtime-spec.ts";
import type { LiveStatus } from "./live-status.ts";
import type { ContainerRecord } from "./records.ts";
import type { ContainerSize } from "./disk-usage.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { parseLogTime } from "./logs.ts";
import { dockerPorts, psPorts } from "../network/ports.ts";
import type { EndpointSettings } from "../network/attach.ts";
import { humanDuration } from "../../human-duration.ts";
import { filterBool, parseFilterFlag, quoteInput, splitKeyValue } from "../../key-value.ts";
import { hasLabel } from "../labels.ts";

/** ps's STATUS column */
export function statusText(r: ContainerRecord, live: LiveStatus, nowMs: number): string {
  switch (live.status) {
    case "created":
      return "Created";
    case "running":
      return `Up ${humanDuration(nowMs - Date.parse(r.State.StartedAt))}`;
    case "paused":
      return `Up ${humanDuration(nowMs - Date.parse(r.State.StartedAt))} (Paused)`;
    case "restarting":
      return `Restarting (${live.exitCode}) ${humanDuration(nowMs - Date.parse(r.State.FinishedAt))} ago`;
    case "exited": {
      const finished = Date.parse(live.finishedAt ?? r.State.FinishedAt);
      return `Exited (${live.exitCode}) ${humanDuration(Number.isNaN(finished) || finished <= 0 ? 0 : nowMs - finished)} ago`;
    }
    default:
      return live.status.charAt(0).toUpperCase() + live.status.slice(1);
  }
}

/** docker truncates COMMAND to 20 characters with an ellipsis, then quotes it */
export function commandText(r: ContainerRecord, noTrunc: boolean): string {
  const cmd = [r.Path, ...r.Args].join(" ");
  const shown = noTrunc || [...cmd].length <= 20 ? cmd : `${[...cmd].slice(0, 19).join("")}…`;
  return JSON.stringify(shown);
}

export interface PsRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Ports: string;
  State: string;
  Status: string;
  Size: string;
  Names: string;
  Labels: string;
  Mounts: string;
  Networks: string;
}

export const PS_FIELDS: (keyof PsRow)[] = ["ID", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status", "Size", "Names", "Labels", "Mounts", "Networks"];
export const PS_HEADINGS: Record<string, string> = {
  ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED", Ports: "PORTS", State: "STATE",
  Status: "STATUS", Size: "SIZE", Names: "NAMES", Labels: "LABELS", Mounts: "MOUNTS", Networks: "NETWORKS",
};

/** docker's `2006-01-02 15:04:05 -0700 MST` */
function goTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/**
 * docker's SIZE column: what the container wrote, and with its image ("virtual"), in
 * decimal units of 3 digits (docker/cli's ContainerContext.Size).
 *
 * @example sizeText({ rw: 12, rootFs: 4_260_012 }) // → "12B (virtual 4.26MB)"
 */
export function sizeText(size: ContainerSize): string {
  const rw = formatDecimalBytes(size.rw);
  return size.rootFs > 0 ? `${rw} (virtual ${formatDecimalBytes(size.rootFs)})` : rw;
}

/** A row of ps; `size` when asked for (`-s`, or a format that shows it), else the column is empty. */
export function psRow(r: ContainerRecord, live: LiveStatus, nowMs: number, noTrunc: boolean, size?: ContainerSize): PsRow {
  return {
    ID: noTrunc ? r.Id : r.Id.slice(0, 12),
    Image: r.Image,
    Command: commandText(r, noTrunc),
    CreatedAt: goTime(r.Created),
    RunningFor: `${humanDuration(nowMs - Date.parse(r.Created))} ago`,
    Ports: psPorts(r.Network?.settings?.PortMappings ?? []),
    State: live.status,
    Status: statusText(r, live, nowMs),
    Size: size ? sizeText(size) : "",
    Names: r.Name,
    Labels: Object.entries(r.Labels).map(([k, v]) => `${k}=${v}`).join(","),
    Mounts: r.Volumes.map((v) => v.name).join(","),
    Networks: networkNames(r).join(","),
  };
}

export interface PsFilter {
  key: string;
  value: string;
}

const FILTER_KEYS = ["id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume", "network", "publish", "expose"];
const STATUSES = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

export function parseFilter(text: string): PsFilter {
  const [key, value] = parseFilterFlag(text, FILTER_KEYS);
  if (key === "status" && !STATUSES.includes(value)) throw new BerthError(`invalid status ${quoteInput(value)}; use status=STATUS with STATUS one of ${STATUSES.join(", ")}`, { field: "--filter" });
  if (key === "exited" && !/^-?\d{1,10}$/.test(value)) throw new BerthError(`invalid exited ${quoteInput(value)}; use exited=CODE, a number`, { field: "--filter" });
  if (key === "name" && !isRegExp(value)) throw new BerthError(`invalid name ${quoteInput(value)}; use name=PATTERN, a regular expression (escape [ ( * + ? with \\)`, { field: "--filter" });
  if ((key === "publish" || key === "expose") && filterPorts(value) === undefined) {
    throw new BerthError(`invalid ${key} ${quoteInput(value)}; use ${key}=PORT[/PROTO] or ${key}=START-END[/PROTO], the container's side`, { field: "--filter" });
  }
  return { key, value: key === "exited" ? String(Number(value)) : value };
}

function isRegExp(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

/** `publish=`/`expose=`'s `80`, `80/udp`, `8000-8010/tcp` → "PORT/PROTO" each (tcp when unsaid, as docker's nat.ParsePortSpec) */
function filterPorts(value: string): string[] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(value);
  if (!m) return undefined;
  const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
  if (from < 1 || to > 65535 || to < from) return undefined;
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}/${m[3] ?? "tcp"}`);
}

/** filters by key: the same key's values are alternatives */
function byKey(filters: PsFilter[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of filters) out.set(f.key, [...(out.get(f.key) ?? []), f.value]);
  return out;
}

/** docker's `container prune` / `volume prune` filters */
export interface PruneFilter {
  /** only what was created before this (ms) */
  untilMs?: number;
  /** KEY or KEY=VALUE: each must match */
  labels: string[];
  /** KEY or KEY=VALUE: none may match */
  notLabels: string[];
}

/**
 * A prune's report as docker prints it: each non-empty section ("Deleted Containers:",
 * one name a line, then a blank line), then "Total reclaimed space" where the kind
 * reclaims bytes (`network prune` prints none).
 *
 * @example formatPruneReport([["Containers", ["abc"]]], "0B") // → "Deleted Containers:\nabc\n\nTotal reclaimed space: 0B\n"
 */
export function formatPruneReport(sections: [kind: string, names: string[]][], reclaimed?: string): string {
  const body = sections.filter(([, names]) => names.length > 0).map(([kind, names]) => `Deleted ${kind}:\n${names.map((n) => `${n}\n`).join("")}\n`).join("");
  return reclaimed === undefined ? body : `${body}Total reclaimed space: ${reclaimed}\n`;
}

/**
 * docker's prunes ask first, and a prompt nobody answers (a script's) removes nothing;
 * berth does not prompt: `-f` is the yes. Without it: one line saying what would go.
 */
export function confirmPrune(force: unknown, what: string[]): void {
  if (force) return;
  const list = what.length > 1 ? `${what.slice(0, -1).join(", ")} and ${what.at(-1)}` : what[0];
  throw new BerthError(`this removes ${list}; confirm with -f (--force)`, { field: "--force" });
}

/**
 * docker's prune `--filter`: `until=TIME` (RFC 3339, Unix seconds, or a duration before
 * now such as 24h), `label=KEY[=VALUE]` (every one must match), `label!=KEY[=VALUE]`
 * (none may) — moby's daemon/prune.go.
 *
 * @example parsePruneFilters(["until=1h", "label!=keep"], now) // → { untilMs: now - 3600000, labels: [], notLabels: ["keep"] }
 */
export function parsePruneFilters(texts: string[], nowMs: number, withUntil = true): PruneFilter {
  const out: PruneFilter = { labels: [], notLabels: [] };
  const keys = withUntil ? ["until", "label", "label!"] : ["label", "label!"];
  for (const text of texts) {
    const [key, value] = parseFilterFlag(text, keys);
    if (value === "") throw new BerthError(`invalid filter ${quoteInput(text)}; use ${key}=${key === "until" ? "TIME" : "KEY[=VALUE]"}`, { field: "--filter" });
    if (key === "until") out.untilMs = untilTime(value, nowMs);
    else (key === "label" ? out.labels : out.notLabels).push(value);
  }
  return out;
}

/** `until=TIME` as logs' --since reads a time, refused in the words of every other bad filter */
function untilTime(value: string, nowMs: number): number {
  try {
    return parseLogTime(value, "--filter", nowMs);
  } catch {
    throw new BerthError(`invalid until ${quoteInput(value)}; use until=TIME: RFC 3339 (2026-01-02T15:04:05Z), Unix seconds, or a duration such as 10m`, { field: "--filter" });
  }
}

/** `volume ls --format` columns, as docker names them */
export const VOLUME_HEADINGS: Record<string, string> = { Driver: "DRIVER", Name: "VOLUME NAME", Scope: "SCOPE", Mountpoint: "MOUNTPOINT", Labels: "LABELS", CreatedAt: "CREATED AT" };

const VOLUME_FILTERS = ["dangling", "name", "label", "driver"];

/** A `ls --filter KEY=VALUE` of one of `keys`; `dangling` takes true|false (docker's volume and network ls). */
function parseListFilter(text: string, keys: string[]): PsFilter {
  const [key, value] = parseFilterFlag(text, keys);
  return { key, value: key === "dangling" ? String(filterBool(key, value)) : value };
}

/** docker's `volume ls --filter`: dangling=true|false, name=PART, label=KEY[=VALUE], driver=NAME */
export function parseVolumeFilter(text: string): PsFilter {
  return parseListFilter(text, VOLUME_FILTERS);
}

/** Same key: any value; different keys: all (docker's rule, as for ps). `used`: a container mounts it. */
export function volumeMatches(v: { Name: string; Driver: string; Labels: Record<string, string> }, used: boolean, filters: PsFilter[]): boolean {
  for (const [key, values] of byKey(filters)) {
    const ok = values.some((val) => {
      if (key === "dangling") return (val === "true") !== used;
      if (key === "name") return v.Name.includes(val);
      if (key === "driver") return v.Driver === val;
      return hasLabel(v.Labels, val);
    });
    if (!ok) return false;
  }
  return true;
}

/** `network ls --format` columns, as docker names them */
export const NETWORK_HEADINGS: Record<string, string> = { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT" };

/** A network as `network ls` shows it: docker's fields, every one a string. */
export function networkRow(n: { id: string; name: string; created: string; internal: boolean; labels: Record<string, string> }, noTrunc: boolean): Record<string, string> {
  return {
    CreatedAt: goTime(n.created), Driver: "bridge", ID: noTrunc ? n.id : n.id.slice(0, 12), IPv6: "false", Internal: String(n.internal),
    Labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(","), Name: n.name, Scope: "local",
  };
}

const NETWORK_FILTERS = ["dangling", "driver", "id", "label", "name", "scope", "type"];

/** docker's `network ls --filter`: dangling=true|false, driver=, id=PART, label=KEY[=VALUE], name=PART, scope=, type=custom|builtin */
export function parseNetworkFilter(text: string): PsFilter {
  const f = parseListFilter(text, NETWORK_FILTERS);
  if (f.key === "type" && f.value !== "custom" && f.value !== "builtin") throw new BerthError(`invalid type ${quoteInput(f.value)}; use type=custom or type=builtin`, { field: "--filter" });
  return f;
}

/**
 * Same key: any value; different keys: all (docker's rule, as for ps). `builtin`: the
 * default network; `used`: a container is on it (dangling is docker's "no container and
 * not builtin").
 */
export function networkMatches(n: { id: string; name: string; labels: Record<string, string> }, builtin: boolean, used: boolean, filters: PsFilter[]): boolean {
  for (const [key, values] of byKey(filters)) {
    const ok = values.some((val) => {
      if (key === "dangling") return (val === "true") === (!used && !builtin);
      if (key === "name") return n.name.includes(val);
      if (key === "id") return n.id.startsWith(val);
      if (key === "driver") return val === "bridge";
      if (key === "scope") return val === "local";
      if (key === "type") return (val === "builtin") === builtin;
      return hasLabel(n.labels, val);
    });
    if (!ok) return false;
  }
  return true;
}

/** Whether something with these labels, created then, is pruned under `f`. */
export function prunable(labels: Record<string, string>, created: string, f: PruneFilter): boolean {
  if (f.untilMs !== undefined && !(Date.parse(created) < f.untilMs)) return false;
  return f.labels.every((l) => hasLabel(labels, l)) && !f.notLabels.some((l) => hasLabel(labels, l));
}

/**
 * docker's rule: filters with the same key are alternatives (OR), different keys must all
 * match (AND). `before`/`since` are resolved by the caller into creation times.
 */
export function matchesFilters(r: ContainerRecord, live: LiveStatus, filters: PsFilter[], createdOf: (ref: string) => string): boolean {
  // the container sides of -p, and with them --expose and the image's EXPOSE (docker's ExposedPorts has all three)
  const published = (r.Network?.ports ?? []).map((p) => `${p.containerPort}/${p.protocol}`);
  const exposed = [...published, ...(r.Network?.exposed ?? []).map((p) => `${p.port}/${p.protocol}`)];
  for (const [key, values] of byKey(filters)) {
    const ok = values.some((v) => {
      switch (key) {
        case "id": return r.Id.startsWith(v);
        case "name": return new RegExp(v).test(r.Name);
        case "label": return hasLabel(r.Labels, v);
        case "status": return live.status === v;
        case "exited": return live.status === "exited" && String(live.exitCode) === v;
        case "ancestor": return r.Image === v || r.Image.startsWith(`${v}:`) || r.ImageID.startsWith(v) || r.ImageID.startsWith(`sha256:${v}`);
        case "before": return r.Created < createdOf(v);
        case "since": return r.Created > createdOf(v);
        case "volume": return r.Volumes.some((x) => x.name === v);
        case "network": return networkNames(r).includes(v);
        case "publish": return filterPorts(v)!.some((p) => published.includes(p));
        case "expose": return filterPorts(v)!.some((p) => exposed.includes(p));
        default: return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}

const GO_ZERO = "0001-01-01T00:00:00Z";

/** `docker inspect` of one container. */
export function inspectContainer(r: ContainerRecord, spec: Spec | undefined, live: LiveStatus): Record<string, unknown> {
  const res = spec?.linux?.resources;
  const f = r.Flags;
  const running = live.status === "running" || live.status === "paused";
  const [restartName = "no", restartMax = "0"] = (f.restart ?? "no").split(":");
  const mounts = (spec?.mounts ?? []).filter((m) => m.type === "bind" && !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sbin/docker-init"].includes(m.destination) || (m.type === "tmpfs" && (f.tmpfs ?? []).some((t) => t.split(":")[0] === m.destination)));
  const volumeOf = (source: string | undefined) => r.Volumes.find((v) => source?.includes(`/volumes/${v.name}/_data`));
  return {
    Id: r.Id,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: {
      Status: live.status, Running: running, Paused: live.status === "paused", Restarting: live.status === "restarting",
      OOMKilled: r.State.OOMKilled, Dead: live.status === "dead", Pid: running ? r.State.Pid : 0, ExitCode: live.exitCode,
      Error: live.error || r.State.Error, StartedAt: r.State.StartedAt, FinishedAt: live.finishedAt ?? r.State.FinishedAt,
    },
    Image: r.ImageID,
    ResolvConfPath: `${r.LogPath.slice(0, r.LogPath.lastIndexOf("/"))}/resolv.conf`,
    HostnamePath: `${r.LogPath.slice(0, r.LogPath.lastIndexOf("/"))}/hostname`,
    HostsPath: `${r.LogPath.slice(0, r.LogPath.lastIndexOf("/"))}/hosts`,
    LogPath: r.LogPath,
    Name: `/${r.Name}`,
    RestartCount: r.State.RestartCount,
    Driver: r.RootfsSource === "snapshot" ? "overlay" : "rootfs",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: {
      Binds: f.volume ?? [],
      LogConfig: { Type: "k8s-file", Config: Object.fromEntries((f.logOpt ?? []).map((o) => splitKeyValue(o) ?? [o, ""])) },
      NetworkMode: f.network ?? (r.Network?.mode === "cni" ? "bridge" : "none"),
      RestartPolicy: { Name: restartName, MaximumRetryCount: Number(restartMax) || 0 },
      AutoRemove: f.rm === true,
      CapAdd: f.capAdd ?? null,
      CapDrop: f.capDrop ?? null,
      Dns: [], DnsOptions: [], DnsSearch: [],
      GroupAdd: f.groupAdd ?? null,
      IpcMode: f.ipc ?? "private",
      Cgroup: "",
      CgroupnsMode: f.cgroupns ?? "",
      OomScoreAdj: spec?.process?.oomScoreAdj ?? 0,
      PidMode: f.pid ?? "",
      Privileged: f.privileged === true,
      ReadonlyRootfs: f.readOnly === true,
      SecurityOpt: f.securityOpt ?? null,
      Tmpfs: f.tmpfs ? Object.fromEntries(f.tmpfs.map((t) => [t.split(":")[0], t.split(":").slice(1).join(":")])) : null,
      UTSMode: f.uts ?? "",
      UsernsMode: f.userns ?? "",
      // docker 24's (omitted when there are none)
      ...(spec?.annotations && { Annotations: spec.annotations }),
      ShmSize: Number(/size=(\d+)/.exec((spec?.mounts ?? []).find((m) => m.destination === "/dev/shm")?.options?.join(",") ?? "")?.[1] ?? 0),
      Runtime: r.Runtime.slice(r.Runtime.lastIndexOf("/") + 1),
      Isolation: "",
      CpuShares: res?.cpu?.shares ?? 0,
      Memory: res?.memory?.limit && res.memory.limit > 0 ? res.memory.limit : 0,
      NanoCpus: f.cpus !== undefined ? Math.round(Number(f.cpus) * 1e9) : 0,
      CgroupParent: f.cgroupParent ?? "",
      BlkioWeight: res?.blockIO?.weight ?? 0,
      CpuPeriod: f.cpus === undefined ? (res?.cpu?.period ?? 0) : 0,
      CpuQuota: f.cpus === undefined ? (res?.cpu?.quota ?? 0) : 0,
      CpusetCpus: res?.cpu?.cpus ?? "",
      CpusetMems: res?.cpu?.mems ?? "",
      Devices: (spec?.linux?.devices ?? []).map((d) => ({ PathOnHost: d.path, PathInContainer: d.path, CgroupPermissions: "rwm" })),
      DeviceCgroupRules: f.deviceCgroupRule ?? null,
      MemoryReservation: res?.memory?.reservation ?? 0,
      MemorySwap: res?.memory?.swap ?? 0,
      MemorySwappiness: res?.memory?.swappiness ?? null,
      OomKillDisable: res?.memory?.disableOOMKiller === true,
      PidsLimit: res?.pids?.limit ?? null,
      Ulimits: spec?.process?.rlimits?.map((l) => ({ Name: l.type.replace(/^RLIMIT_/, "").toLowerCase(), Soft: l.soft, Hard: l.hard })) ?? null,
      Init: f.init === true ? true : null,
      MaskedPaths: spec?.linux?.maskedPaths ?? [],
      ReadonlyPaths: spec?.linux?.readonlyPaths ?? [],
    },
    GraphDriver: { Name: r.RootfsSource === "snapshot" ? "overlay" : "rootfs", Data: { MergedDir: r.Rootfs } },
    Mounts: mounts.map((m) => {
      const v = m.type === "bind" ? volumeOf(m.source) : undefined;
      const rw = !(m.options ?? []).includes("ro");
      return {
        Type: m.type === "tmpfs" ? "tmpfs" : v ? "volume" : "bind",
        ...(v && { Name: v.name, Driver: "local" }),
        Source: m.type === "tmpfs" ? "" : m.source,
        Destination: m.destination,
        Mode: rw ? "" : "ro",
        RW: rw,
        Propagation: (m.options ?? []).find((o) => /^r?(shared|slave|private)$/.test(o)) ?? "",
      };
    }),
    Config: {
      Hostname: r.Hostname,
      Domainname: f.domainname ?? "",
      User: r.User,
      AttachStdin: f.interactive === true && f.detach !== true,
      AttachStdout: f.detach !== true,
      AttachStderr: f.detach !== true,
      Tty: f.tty === true,
      OpenStdin: f.interactive === true,
      StdinOnce: f.interactive === true && f.detach !== true,
      Env: r.Env,
      Cmd: f.args?.length ? f.args : null,
      Image: r.Image,
      Volumes: null,
      WorkingDir: r.WorkingDir === "/" ? "" : r.WorkingDir,
      Entrypoint: f.entrypoint !== undefined ? [f.entrypoint] : null,
      OnBuild: null,
      Labels: r.Labels,
      StopSignal: r.StopSignal,
      ...(f.stopTimeout !== undefined && { StopTimeout: Number(f.stopTimeout) }),
    },
    NetworkSettings: networkSettingsView(r),
  };
}

/** The networks a container is on (bridge ones by name), or its mode: none, host, container:ID. */
function networkNames(r: ContainerRecord): string[] {
  return r.Network?.mode === "cni" ? r.Network.networks : [r.Flags.network ?? "none"];
}

/** docker's NetworkSettings: what the container got while it runs, the mode's name otherwise. */
function networkSettingsView(r: ContainerRecord): Record<string, unknown> {
  const n = r.Network;
  const s = n?.settings;
  if (s) {
    const { PortMappings: _p, ...shown } = s;
    return shown;
  }
  const names = networkNames(r);
  return { Bridge: "", SandboxID: "", SandboxKey: "", Ports: n ? dockerPorts([], n.exposed) : {}, IPAddress: "", IPPrefixLen: 0, Gateway: "", MacAddress: "", Networks: Object.fromEntries(names.map((x) => [x, NO_ENDPOINT])) };
}

/** a network's entry while the container does not run: docker's fields, empty (a template reading one prints "", not an error) */
const NO_ENDPOINT: EndpointSettings = {
  IPAMConfig: null, Links: null, Aliases: [], NetworkID: "", EndpointID: "", Gateway: "", IPAddress: "", IPPrefixLen: 0,
  IPv6Gateway: "", GlobalIPv6Address: "", GlobalIPv6PrefixLen: 0, MacAddress: "", DNSNames: [],
}

export { GO_ZERO };
