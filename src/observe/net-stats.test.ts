import { describe, expect, test } from "bun:test";
import { parseConntrackStat, parseSnmp } from "./net-stats.ts";

describe("network namespace counters", () => {
  test("/proc/PID/net/snmp: header and value lines in pairs", () => {
    const text = "Ip: Forwarding DefaultTTL\nIp: 2 64\nTcp: RtoAlgorithm RetransSegs OutSegs\nTcp: 1 7 1000\nUdp: InErrors RcvbufErrors\nUdp: 0 3\n";
    expect(parseSnmp(text)).toEqual({ Ip: { Forwarding: 2, DefaultTTL: 64 }, Tcp: { RtoAlgorithm: 1, RetransSegs: 7, OutSegs: 1000 }, Udp: { InErrors: 0, RcvbufErrors: 3 } });
  });
  test("/proc/PID/net/stat/nf_conntrack: hex, entries once, drops summed over CPUs", () => {
    const text = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n" +
      "00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000002 00000000 00000000  00000000 00000000 00000000 00000000\n" +
      "00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000000a 00000001 00000000  00000000 00000000 00000000 00000000\n";
    expect(parseConntrackStat(text)).toEqual({ entries: 16, drop: 12, earlyDrop: 1, insertFailed: 1 });
    expect(parseConntrackStat("")).toBeUndefined();
  });
});
