/**
 * docker's detach keys (`--detach-keys`, default ctrl-p,ctrl-q): a key sequence typed
 * into an attached stdin that ends the attachment and leaves the container running.
 * The syntax is moby/term's ToBytes: comma-separated keys, each a single character,
 * `ctrl-<a-z @ [ \ ] ^ _>` or `DEL`. Pure.
 */
import { BerthError } from "../../errors.ts";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

const CTRL_KEYS = "@abcdefghijklmnopqrstuvwxyz[\\]^_";

/**
 * The bytes a detach key spec stands for; "" is docker's default.
 *
 * @example parseDetachKeys("ctrl-p,ctrl-q") // → Uint8Array [16, 17]
 */
export function parseDetachKeys(spec: string): Uint8Array {
  const keys = (spec === "" ? DEFAULT_DETACH_KEYS : spec).split(",");
  return Uint8Array.from(keys.map((key) => {
    if (key.length === 1 && key.charCodeAt(0) < 128) return key.charCodeAt(0);
    const ctrl = /^ctrl-(.)$/.exec(key);
    const code = ctrl ? CTRL_KEYS.indexOf(ctrl[1]!) : -1;
    if (code >= 0) return code;
    if (key === "DEL") return 127;
    throw new BerthError(`unknown key ${JSON.stringify(key)} in ${JSON.stringify(spec)}; use comma-separated keys, each a single character, ctrl-<a-z, @, [, \\, ], ^ or _> or DEL (docker's default: ${DEFAULT_DETACH_KEYS})`, { field: "--detach-keys" });
  }));
}

/**
 * Watches stdin for the detach sequence, as docker's escape proxy: bytes that could be
 * its start are held back until the next one tells; a mismatch lets them through.
 */
export class DetachScanner {
  private held = 0;

  constructor(private readonly keys: Uint8Array) {}

  /** This chunk's bytes for the container, and whether the sequence was completed (what follows it is dropped). */
  push(chunk: Uint8Array): { forward: Uint8Array; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { forward: Uint8Array.from(out), detached: true };
        continue;
      }
      // not the sequence after all: what was held goes through, and this byte may start it again
      out.push(...this.keys.subarray(0, this.held));
      this.held = b === this.keys[0] ? 1 : 0; // (a one-key sequence never gets here holding anything)
      if (this.held === 0) out.push(b);
    }
    return { forward: Uint8Array.from(out), detached: false };
  }
}
