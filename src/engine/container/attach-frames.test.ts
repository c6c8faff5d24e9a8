import { describe, expect, test } from "bun:test";
import { encodeFrame, FRAME, FrameDecoder, MAX_PAYLOAD, resizeFrame, stdinFrames } from "./attach-frames.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("the attach socket's frames", () => {
  test("an 8-byte header: type, three zeros, the length big-endian; then the payload", () => {
    expect([...encodeFrame(FRAME.stdout, bytes("hi"))]).toEqual([1, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
    expect([...encodeFrame(FRAME.closeStdin)]).toEqual([3, 0, 0, 0, 0, 0, 0, 0]);
    expect([...resizeFrame(50, 300)]).toEqual([4, 0, 0, 0, 0, 0, 0, 4, 0, 50, 1, 44]);
  });
  test("stdin is cut into frames the monitor's buffer holds", () => {
    const frames = stdinFrames(new Uint8Array(MAX_PAYLOAD * 2 + 5).fill(7));
    expect(frames.map((f) => f.length - 8)).toEqual([MAX_PAYLOAD, MAX_PAYLOAD, 5]);
    expect(frames.every((f) => f[0] === FRAME.stdin)).toBe(true);
    expect(stdinFrames(new Uint8Array(0))).toEqual([]);
  });
  test("the decoder joins frames cut anywhere, several in one chunk, an empty payload", () => {
    const stream = new Uint8Array([...encodeFrame(FRAME.stdout, bytes("hello")), ...encodeFrame(FRAME.stderr, bytes("")), ...encodeFrame(FRAME.stderr, bytes("oops\n"))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(got.map((f) => [f.type, new TextDecoder().decode(f.payload)])).toEqual([[1, "hello"], [2, ""], [2, "oops\n"]]);
    }
    const d = new FrameDecoder();
    expect(d.push(stream.subarray(0, 7))).toEqual([]);
    expect(d.push(stream.subarray(7, 12))).toEqual([]);
    expect(d.push(stream.subarray(12, 13)).map((f) => f.payload.length)).toEqual([5]);
  });
});
