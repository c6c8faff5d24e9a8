import { describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { signalName, signalNumber } from "./signals.ts";

describe("signals", () => {
  test("every name node:os knows has node's number, with and without SIG", () => {
    for (const [name, n] of Object.entries(constants.signals)) {
      expect(signalNumber(name)).toBe(n);
      expect(signalNumber(name.slice(3))).toBe(n);
    }
  });

  test("a number's name is the first node:os gives it (SIGABRT, not SIGIOT; SIGIO, not SIGPOLL)", () => {
    for (let n = 1; n <= 31; n++) expect(signalName(n)).toBe(Object.entries(constants.signals).find(([, v]) => v === n)?.[0]);
    expect(signalName(6)).toBe("SIGABRT");
    expect(signalName(29)).toBe("SIGIO");
  });

  test("no name for 0, the real-time signals or past 64; no number for an unknown name or another case", () => {
    for (const n of [0, 32, 34, 64, 65, -1]) expect(signalName(n)).toBeUndefined();
    for (const s of ["SIGNOPE", "term", "sigterm", "", "SIG", "toString", "__proto__", "constructor"]) expect(signalNumber(s)).toBeUndefined();
  });
});
