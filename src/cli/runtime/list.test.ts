import { describe, expect, test } from "bun:test";
import { filterPsTable } from "../../runtime/ps.ts";
import { errorOf } from "../../../test/berth-error.ts";
import { goTime, listTable } from "./list.ts";

describe("list's table, as Go's tabwriter(minwidth 12, padding 3) lays it out", () => {
  test("an empty list is runc's header alone", () => {
    expect(listTable([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]])).toBe("ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
  });

  test("columns widen to their longest cell plus 3; the last column is not padded", () => {
    expect(listTable([["ID", "PID", "OWNER"], ["a-long-container-id", "1", "root"], ["b", "22", ""]])).toBe(
      "ID                    PID         OWNER\n" +
      "a-long-container-id   1           root\n" +
      "b                     22          \n",
    );
  });

  test("times: RFC 3339 with nanoseconds, trailing zeros dropped, as Go's RFC3339Nano", () => {
    expect(goTime("2026-01-02T03:04:05.120Z")).toBe("2026-01-02T03:04:05.12Z");
    expect(goTime("2026-01-02T03:04:05.000Z")).toBe("2026-01-02T03:04:05Z");
    expect(goTime("2026-01-02T03:04:05.123Z")).toBe("2026-01-02T03:04:05.123Z");
  });
});

describe("ps's table: ps(1) cut to the container's processes", () => {
  const ps = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init\nroot        4242       1  0 10:01 ?        00:00:00 sleep 100\n";

  test("the header and the rows whose PID column is in the cgroup", () => {
    expect(filterPsTable(ps, [4242])).toBe("UID          PID    PPID  C STIME TTY          TIME CMD\nroot        4242       1  0 10:01 ?        00:00:00 sleep 100\n");
    expect(filterPsTable(ps, [])).toBe("UID          PID    PPID  C STIME TTY          TIME CMD\n");
  });

  test("the PID column is found by name, wherever the options put it", () => {
    expect(filterPsTable("CMD PID\nsh 7\nsleep 8\n", [8])).toBe("CMD PID\nsleep 8\n");
  });

  test("no PID column: runc's words, and how to get one", () => {
    expect(errorOf(() => filterPsTable("CMD\nsh\n", [1])).message).toStartWith("ps: couldn't find PID field in ps output");
  });
});
