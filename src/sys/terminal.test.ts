import { describe, expect, test } from "bun:test";
import { rawTermios } from "./terminal.ts";

/** A struct termios as a fresh pty has it (stty sane): iflag ICRNL|IXON|IUTF8…, oflag OPOST|ONLCR, cflag CS8|CREAD|B38400, lflag ISIG|ICANON|ECHO… */
function sane(): Uint8Array {
  const t = new Uint8Array(36);
  const v = new DataView(t.buffer);
  v.setUint32(0, 0o42400 | 0o2000 | 0o400 | 0o2, true); // IUTF8 IXON ICRNL BRKINT
  v.setUint32(4, 0o5, true); // OPOST ONLCR
  v.setUint32(8, 0o277 | 0o400, true); // B38400 CS8 CREAD PARENB
  v.setUint32(12, 0o105073, true); // ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN
  t[17 + 4] = 4; // VEOF
  t[17 + 5] = 3;
  t[17 + 6] = 0;
  return t;
}

describe("rawTermios: cfmakeraw's change", () => {
  test("no output processing (ONLCR stays but does nothing without OPOST), no echo, no line editing, no signal keys, 8 bits, reads of 1 byte", () => {
    const before = sane();
    const t = rawTermios(before);
    const v = new DataView(t.buffer);
    expect(v.getUint32(4, true) & 0o1).toBe(0);
    expect(v.getUint32(12, true) & (0o10 | 0o2 | 0o1 | 0o100000)).toBe(0);
    expect(v.getUint32(0, true) & (0o400 | 0o2000 | 0o2)).toBe(0);
    expect(v.getUint32(0, true) & 0o40000).toBe(0o40000); // IUTF8 untouched
    expect(v.getUint32(8, true) & 0o60).toBe(0o60);
    expect(v.getUint32(8, true) & 0o400).toBe(0);
    expect([t[17 + 6], t[17 + 5], t[17 + 4]]).toEqual([1, 0, 4]);
    expect(before).toEqual(sane()); // the saved one is left as it was, to be put back
  });
});
