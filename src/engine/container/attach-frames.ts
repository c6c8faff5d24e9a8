/**
 * The attach socket's framing (native/berth-monitor/PROTOCOL.md): every message is an
 * 8-byte header — type, three zero bytes, the payload's length as u32 big-endian, as
 * docker's attach stream — then the payload. Types: 0 stdin bytes (client → monitor),
 * 1 stdout and 2 stderr (monitor → client), 3 close the container's stdin, 4 terminal
 * size (rows, cols: u16 big-endian), 5 the container's exit code (decimal, monitor →
 * client, just before it closes the socket). Pure.
 */

export const FRAME = { stdin: 0, stdout: 1, stderr: 2, closeStdin: 3, resize: 4, exit: 5 } as const;

/** The monitor reads a frame of at most this payload (its buffer per client). */
export const MAX_PAYLOAD = 32768;

export interface Frame {
  type: number;
  payload: Uint8Array;
}

/** One frame's bytes. */
export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** Stdin bytes as frames the monitor accepts (each payload at most MAX_PAYLOAD). */
export function stdinFrames(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MAX_PAYLOAD) out.push(encodeFrame(FRAME.stdin, data.subarray(at, at + MAX_PAYLOAD)));
  return out;
}

/** A terminal size frame. */
export function resizeFrame(rows: number, cols: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint16(0, rows);
  new DataView(p.buffer).setUint16(2, cols);
  return encodeFrame(FRAME.resize, p);
}

/** Splits a byte stream into frames; bytes of an unfinished frame wait for the next push. */
export class FrameDecoder {
  private buf = new Uint8Array(0);

  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const view = new DataView(joined.buffer);
    const frames: Frame[] = [];
    let at = 0;
    while (joined.length - at >= 8) {
      const len = view.getUint32(at + 4);
      if (joined.length - at - 8 < len) break;
      frames.push({ type: joined[at]!, payload: joined.slice(at + 8, at + 8 + len) });
      at += 8 + len;
    }
    this.buf = joined.slice(at);
    return frames;
  }
}
