/**
 * /proc/PID/net/dev: the interface counters of the network namespace PID is in. Pure.
 */

export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * @example parseNetDev("…header…\n  eth0: 1500 10 0 0 0 0 0 0 648 8 0 0 0 0 0 0\n") // → { eth0: { rxBytes: 1500, txBytes: 648, … } }
 */
export function parseNetDev(text: string): Record<string, InterfaceCounters> {
  const out: Record<string, InterfaceCounters> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    // the two header lines have "|" and no "name:" prefix
    if (colon < 0 || line.includes("|")) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out[line.slice(0, colon).trim()] = {
      rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!,
      txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]!,
    };
  }
  return out;
}

/** Bytes in and out of a namespace's interfaces other than loopback (docker counts its endpoints, never lo). */
export function netTotals(counters: Record<string, InterfaceCounters>): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const [name, c] of Object.entries(counters)) {
    if (name === "lo") continue;
    rx += c.rxBytes;
    tx += c.txBytes;
  }
  return { rx, tx };
}
