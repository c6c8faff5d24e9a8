/**
 * Connection-tracking entries a container leaves in the host's table: its flows out
 * (masqueraded), flows to it, and published ports' flows DNATed to it. They outlive the
 * container — a UDP entry whose client keeps sending never expires, and keeps sending
 * its datagrams to an address that is gone (or to the next container given it) — so
 * teardown deletes every entry of the container's addresses, as docker does. CNI's
 * portmap deletes the UDP entries of a host port when it is published (ADD), not at DEL
 * (Debian's 1.1). The table is read first, so a container that made no flows costs no
 * process.
 */
import { deleteConntrack, readConntrackTable } from "../../sys/conntrack.ts";

export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConntrackEntry {
  protocol: string;
  orig: ConntrackTuple;
  reply: ConntrackTuple;
}

/**
 * /proc/net/nf_conntrack's lines: `ipv4 2 udp 17 29 src=A dst=B sport=P dport=Q [UNREPLIED]
 * src=B dst=A sport=Q dport=P mark=0 …` — the first src/dst/sport/dport are the original
 * direction, the second the reply. Pure.
 *
 * @example parseConntrackTable("ipv4 2 udp 17 29 src=10.0.0.2 dst=1.1.1.1 sport=5 dport=53 src=1.1.1.1 dst=10.0.0.2 sport=53 dport=5 mark=0\n")[0].reply.src // → "1.1.1.1"
 */
export function parseConntrackTable(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const tuples: ConntrackTuple[] = [];
    for (const w of f) {
      const eq = w.indexOf("=");
      if (eq < 0) continue;
      const k = w.slice(0, eq);
      const v = w.slice(eq + 1);
      if (k === "src") tuples.push({ src: v, dst: "" });
      else if (tuples.length === 0 || tuples.length > 2) continue;
      else if (k === "dst") tuples.at(-1)!.dst = v;
      else if (k === "sport") tuples.at(-1)!.sport = Number(v);
      else if (k === "dport") tuples.at(-1)!.dport = Number(v);
    }
    if (tuples.length < 2) continue;
    out.push({ protocol: f[2]!, orig: tuples[0]!, reply: tuples[1]! });
  }
  return out;
}

/**
 * The `conntrack -D` filters that delete every entry of `ips` — from it, to it, DNATed to
 * it (the reply comes from it) or SNATed to it — only those that match an entry of
 * `table` (all of them when the table is unknown). Pure.
 *
 * @example conntrackFilters(undefined, ["10.0.0.2"]) // → [["-s","10.0.0.2"],["-d","10.0.0.2"],["-r","10.0.0.2"],["-q","10.0.0.2"]]
 */
export function conntrackFilters(table: ConntrackEntry[] | undefined, ips: string[]): string[][] {
  const out: string[][] = [];
  const any = (match: (e: ConntrackEntry) => boolean) => table === undefined || table.some(match);
  for (const ip of ips) {
    if (any((e) => e.orig.src === ip)) out.push(["-s", ip]);
    if (any((e) => e.orig.dst === ip)) out.push(["-d", ip]);
    if (any((e) => e.reply.src === ip)) out.push(["-r", ip]);
    if (any((e) => e.reply.dst === ip)) out.push(["-q", ip]);
  }
  return out;
}

/** Delete every entry of `ips`; best effort (without conntrack-tools they are left to expire). */
export function flushConntrack(ips: string[]): void {
  if (ips.length === 0) return;
  const text = readConntrackTable();
  for (const filter of conntrackFilters(text === undefined ? undefined : parseConntrackTable(text), ips)) deleteConntrack(filter);
}
