import { describe, expect, test } from "bun:test";
import { netTotals, parseNetDev } from "./netdev.ts";

// /proc/net/dev from a container with a veth (eth0) and loopback, Linux 6.1
const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0
  eth0: 1066104075  733412    1    7    0     0          0         0  1127018   15311    0    2    0     0       0          0
`;

describe("parseNetDev", () => {
  test("every interface's counters", () => {
    expect(parseNetDev(SAMPLE).eth0).toEqual({
      rxBytes: 1066104075, rxPackets: 733412, rxErrors: 1, rxDropped: 7, txBytes: 1127018, txPackets: 15311, txErrors: 0, txDropped: 2,
    });
    expect(Object.keys(parseNetDev(SAMPLE))).toEqual(["lo", "eth0"]);
  });
  test("loopback is not the container's traffic", () => {
    expect(netTotals(parseNetDev(SAMPLE))).toEqual({ rx: 1066104075, tx: 1127018 });
  });
  test("a namespace with only lo moves nothing; a cut line is skipped", () => {
    expect(netTotals(parseNetDev(SAMPLE.split("\n").slice(0, 3).join("\n")))).toEqual({ rx: 0, tx: 0 });
    expect(parseNetDev("  eth0: 1 2 3\n")).toEqual({});
  });
});
