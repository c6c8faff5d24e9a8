/**
 * A network namespace's health counters, read through /proc/PID/net/ (which shows the
 * namespace PID is in, so no setns is needed): /proc/PID/net/snmp for TCP retransmits
 * and UDP buffer errors, /proc/PID/net/stat/nf_conntrack for the connection-tracking
 * table. Pure parsers.
 */

/**
 * /proc/net/snmp and /proc/net/netstat: pairs of lines, a header of names and a line of
 * values, both prefixed with the protocol.
 *
 * @example parseSnmp("Tcp: RetransSegs OutSegs\nTcp: 3 100\n") // → { Tcp: { RetransSegs: 3, OutSegs: 100 } }
 */
export function parseSnmp(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const lines = text.split("\n").filter((l) => l.includes(":"));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [proto, ...names] = lines[i]!.trim().split(/\s+/);
    const [proto2, ...values] = lines[i + 1]!.trim().split(/\s+/);
    if (!proto || proto !== proto2) continue;
    const row: Record<string, number> = {};
    names.forEach((n, j) => {
      const v = Number(values[j]);
      if (Number.isFinite(v)) row[n] = v;
    });
    out[proto.slice(0, -1)] = row;
  }
  return out;
}

export interface ConntrackStat {
  /** entries in this namespace's table */
  entries: number;
  /** new connections dropped because the table was full, summed over CPUs */
  drop: number;
  earlyDrop: number;
  insertFailed: number;
}

/**
 * /proc/PID/net/stat/nf_conntrack: a header, then one line of hex counters per CPU.
 * `entries` is the namespace's count repeated on every line; the rest are per CPU.
 *
 * @example parseConntrackStat("entries  drop early_drop insert_failed\n00000010  00000001 00000000 00000000\n")
 * // → { entries: 16, drop: 1, earlyDrop: 0, insertFailed: 0 }
 */
export function parseConntrackStat(text: string): ConntrackStat | undefined {
  const [header, ...rows] = text.split("\n").map((l) => l.trim()).filter(Boolean);
  if (!header) return undefined;
  const names = header.split(/\s+/);
  const col = (name: string) => names.indexOf(name);
  const cpus = rows.map((r) => r.split(/\s+/).map((h) => parseInt(h, 16)));
  if (cpus.length === 0 || col("entries") < 0) return undefined;
  const sum = (name: string) => (col(name) < 0 ? 0 : cpus.reduce((n, c) => n + (c[col(name)] ?? 0), 0));
  return { entries: cpus[0]![col("entries")] ?? 0, drop: sum("drop"), earlyDrop: sum("early_drop"), insertFailed: sum("insert_failed") };
}
