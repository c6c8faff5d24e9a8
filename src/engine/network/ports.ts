/**
 * `-p [ip:][hostPort:]containerPort[/tcp|udp]` (ports and ranges), `-P` with the image's
 * EXPOSE and `--expose`: the port mappings portmap is given, and docker's views of them
 * (inspect's `Ports`, `berth port`, ps's PORTS). Pure.
 */
import { BerthError } from "../../errors.ts";
import { parseIpv4 } from "./subnet.ts";

export type Protocol = "tcp" | "udp";

/** One published port; hostPort 0 until the engine picks a free one at start. */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

function portRange(text: string, flag: string, what: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const a = m ? Number(m[1]) : NaN;
  const b = m?.[2] !== undefined ? Number(m[2]) : a;
  if (!m || a < 1 || b > 65535 || b < a) throw new BerthError(`invalid ${what} ${JSON.stringify(text)}; use a port 1 … 65535 or a range such as 8000-8010`, { field: flag });
  return [a, b];
}

function protocolOf(text: string | undefined, flag: string): Protocol {
  if (text === undefined || text === "tcp" || text === "udp") return (text ?? "tcp") as Protocol;
  throw new BerthError(`invalid protocol ${JSON.stringify(text)}; use tcp or udp`, { field: flag });
}

/** One `-p` value → its mappings. */
export function parsePublish(text: string): PortMapping[] {
  const flag = "--publish";
  const [spec = "", proto, extra] = text.split("/");
  if (extra !== undefined) throw new BerthError(`invalid port ${JSON.stringify(text)}; use [ip:][hostPort:]containerPort[/tcp|udp]`, { field: flag });
  const protocol = protocolOf(proto, flag);
  if (spec.startsWith("[")) throw new BerthError(`IPv6 host addresses are not supported: ${text}; use an IPv4 address`, { field: flag });
  const parts = spec.split(":");
  if (parts.length > 3) throw new BerthError(`invalid port ${JSON.stringify(text)}; use [ip:][hostPort:]containerPort[/tcp|udp]`, { field: flag });
  const container = parts.at(-1)!;
  const host = parts.length >= 2 ? parts.at(-2)! : "";
  const ip = parts.length === 3 ? parts[0]! : "";
  if (ip !== "") parseIpv4(ip, flag);
  const [c0, c1] = portRange(container, flag, "container port");
  const [h0, h1] = host === "" ? [0, 0] : portRange(host, flag, "host port");
  const n = c1 - c0 + 1;
  if (host !== "" && h1 - h0 + 1 !== n && !(h1 > h0 && n === 1)) throw new BerthError(`host port range ${host} and container port range ${container} differ in length`, { field: flag });
  const out: PortMapping[] = [];
  for (let i = 0; i < n; i++) out.push({ hostIP: ip || "0.0.0.0", hostPort: host === "" ? 0 : h0 + i, containerPort: c0 + i, protocol });
  return out;
}

/** `--expose` and the image's ExposedPorts keys (`80/tcp`, `8000-8010`) → container ports. */
export function parseExposed(text: string, flag: string): { port: number; protocol: Protocol }[] {
  const [ports = "", proto] = text.split("/");
  const protocol = protocolOf(proto, flag);
  const [a, b] = portRange(ports, flag, "port");
  return Array.from({ length: b - a + 1 }, (_, i) => ({ port: a + i, protocol }));
}

/** Every mapping of -p, then -P's for exposed ports not published already (random host ports). */
export function portMappings(publish: string[], publishAll: boolean, exposed: { port: number; protocol: Protocol }[]): PortMapping[] {
  const out = publish.flatMap(parsePublish);
  if (publishAll) {
    for (const e of exposed) {
      if (!out.some((m) => m.containerPort === e.port && m.protocol === e.protocol)) out.push({ hostIP: "0.0.0.0", hostPort: 0, containerPort: e.port, protocol: e.protocol });
    }
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (m.hostPort === 0) continue;
    const key = `${m.hostIP}:${m.hostPort}/${m.protocol}`;
    if (seen.has(key)) throw new BerthError(`host port ${key} is published twice; give each mapping its own host port`, { field: "--publish" });
    seen.add(key);
  }
  return out;
}

/** docker's NetworkSettings.Ports: `80/tcp` → [{HostIp, HostPort}], exposed ports with null. */
export function dockerPorts(mappings: PortMapping[], exposed: { port: number; protocol: Protocol }[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of exposed) out[`${e.port}/${e.protocol}`] ??= null;
  for (const m of mappings) (out[`${m.containerPort}/${m.protocol}`] ??= []).push({ HostIp: m.hostIP, HostPort: String(m.hostPort) });
  return out;
}

/** `berth port` lines: `80/tcp -> 0.0.0.0:8080`, only for `filter` (PORT[/PROTO]) when given. */
export function portLines(mappings: PortMapping[], filter?: string): string[] {
  let want: { port: number; protocol: Protocol } | undefined;
  if (filter !== undefined) {
    const [p = "", proto] = filter.split("/");
    want = { port: portRange(p, "port", "port")[0], protocol: protocolOf(proto, "port") };
  }
  return mappings
    .filter((m) => !want || (m.containerPort === want.port && m.protocol === want.protocol))
    .map((m) => (want ? `${m.hostIP}:${m.hostPort}` : `${m.containerPort}/${m.protocol} -> ${m.hostIP}:${m.hostPort}`));
}

/** ps's PORTS column: `0.0.0.0:8080->80/tcp, …`. */
export function psPorts(mappings: PortMapping[]): string {
  return mappings.map((m) => `${m.hostIP}:${m.hostPort}->${m.containerPort}/${m.protocol}`).join(", ");
}
