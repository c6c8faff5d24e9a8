import { describe, expect, test } from "bun:test";
import { DetachScanner, parseDetachKeys } from "./detach-keys.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("parseDetachKeys: moby/term's ToBytes", () => {
  test("docker's default, ctrl- keys, single characters, DEL; empty is the default", () => {
    expect([...parseDetachKeys("ctrl-p,ctrl-q")]).toEqual([16, 17]);
    expect([...parseDetachKeys("")]).toEqual([16, 17]);
    expect([...parseDetachKeys("ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")]).toEqual([0, 1, 26, 27, 28, 29, 30, 31]);
    expect([...parseDetachKeys("a,Z,1,DEL")]).toEqual([97, 90, 49, 127]);
  });
  test("a key docker does not know is one line naming --detach-keys and the syntax", () => {
    for (const [spec, key] of [["ctrl-P", "ctrl-P"], ["ctrl-p,,ctrl-q", ""], ["ab", "ab"], ["ctrl-1", "ctrl-1"], ["ctrl-p,é", "é"]] as const) {
      expect(() => parseDetachKeys(spec)).toThrow(`unknown key ${JSON.stringify(key)} in ${JSON.stringify(spec)}; use comma-separated keys, each a single character, ctrl-<a-z, @, [, \\, ], ^ or _> or DEL (docker's default: ctrl-p,ctrl-q)`);
      try {
        parseDetachKeys(spec);
      } catch (err) {
        expect((err as { field?: string }).field).toBe("--detach-keys");
      }
    }
  });
});

describe("DetachScanner: docker's escape proxy", () => {
  test("the sequence detaches; what came before it goes through, what follows is dropped", () => {
    const s = new DetachScanner(parseDetachKeys("ctrl-p,ctrl-q"));
    expect(s.push(bytes("ls\r"))).toEqual({ forward: bytes("ls\r"), detached: false });
    const r = s.push(bytes("echo\x10\x11more"));
    expect({ forward: text(r.forward), detached: r.detached }).toEqual({ forward: "echo", detached: true });
  });
  test("split across chunks; a false start is let through with the byte that broke it; a repeated first key starts again", () => {
    const s = new DetachScanner(parseDetachKeys("ctrl-p,ctrl-q"));
    expect(s.push(bytes("a\x10"))).toEqual({ forward: bytes("a"), detached: false });
    expect(s.push(bytes("x"))).toEqual({ forward: bytes("\x10x"), detached: false });
    expect(s.push(bytes("\x10\x10"))).toEqual({ forward: bytes("\x10"), detached: false });
    expect(s.push(bytes("\x11"))).toEqual({ forward: bytes(""), detached: true });
  });
  test("a one-key sequence", () => {
    const s = new DetachScanner(parseDetachKeys("ctrl-x"));
    expect(s.push(bytes("ab\x18c"))).toEqual({ forward: bytes("ab"), detached: true });
  });
});
