import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { termCanEnd } from "./lifecycle.ts";
import { parseSignal } from "../signals.ts";

describe("parseSignal: what `kill ID SIGNAL` accepts", () => {
  test("no signal means SIGTERM (15)", () => {
    expect(parseSignal(undefined)).toBe(15);
  });

  test("a number", () => {
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("15")).toBe(15);
    expect(parseSignal("1")).toBe(1);
    expect(parseSignal("64")).toBe(64);
    // 0 only checks the processes exist (kill(2)); runc takes it, and `kill --all ID 0` is how callers ask
    expect(parseSignal("0")).toBe(0);
  });

  test("a name without SIG", () => {
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("TERM")).toBe(15);
    expect(parseSignal("HUP")).toBe(1);
  });

  test("a name with SIG", () => {
    expect(parseSignal("SIGKILL")).toBe(9);
    expect(parseSignal("SIGTERM")).toBe(15);
  });

  test("names in any case", () => {
    expect(parseSignal("sigterm")).toBe(15);
    expect(parseSignal("Kill")).toBe(9);
    expect(parseSignal("sigusr1")).toBe(10);
  });

  test("the Linux numbers of the common signals", () => {
    const table: [string, number][] = [
      ["INT", 2], ["QUIT", 3], ["ABRT", 6], ["USR1", 10], ["SEGV", 11], ["USR2", 12], ["PIPE", 13],
      ["ALRM", 14], ["CHLD", 17], ["CONT", 18], ["STOP", 19], ["TSTP", 20], ["WINCH", 28], ["SYS", 31],
    ];
    for (const [name, n] of table) expect(parseSignal(name)).toBe(n);
  });

  test("real-time signals count from SIGRTMIN = 34", () => {
    expect(parseSignal("RTMIN")).toBe(34);
    expect(parseSignal("RTMIN+2")).toBe(36);
    expect(parseSignal("SIGRTMIN+30")).toBe(64);
    expect(parseSignal("sigrtmin+1")).toBe(35);
  });
});

describe("parseSignal refuses what is not a signal", () => {
  const bad = ["65", "-9", "9.5", "", "BOGUS", "SIG", "SIGFOO", "RTMIN+31", "RTMIN-1", "TERM ", "constructor"];
  for (const raw of bad) {
    test(JSON.stringify(raw), () => {
      const err = errorOf(() => parseSignal(raw));
      expect(err.field).toBe("signal");
      expect(err.message).toBe(`signal: ${JSON.stringify(raw)} is not a signal; use a number (15) or a name (TERM, SIGKILL)`);
    });
  }
});

describe("termCanEnd: can a forwarded TERM end the process (/proc/PID/status)", () => {
  const status = (ign: string, cgt: string, nspid: string) => `Name:\tsh\nNSpid:\t${nspid}\nSigIgn:\t${ign}\nSigCgt:\t${cgt}\n`;
  test("a handler: it decides", () => {
    expect(termCanEnd(status("0000000000000000", "0000000000004000", "42\t1"))).toBe(true);
  });
  test("ignored (an interactive shell): no", () => {
    expect(termCanEnd(status("0000000000284004", "0000000008010002", "42"))).toBe(false);
  });
  test("default action: yes, except for its PID namespace's init, which the kernel shields", () => {
    expect(termCanEnd(status("0", "0", "42"))).toBe(true);
    expect(termCanEnd(status("0", "0", "42\t1"))).toBe(false);
    expect(termCanEnd(status("0", "0", "42\t7"))).toBe(true);
  });
});
