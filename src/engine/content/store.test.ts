import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContentStore, DigestMismatchError, IngestRestartedError, sha256Digest } from "./store.ts";

const base = mkdtempSync(join(tmpdir(), `berth-content-${process.pid}-`));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const fresh = () => new ContentStore(join(base, `s${n++}`));
const bytes = (s: string) => new TextEncoder().encode(s);

describe("content store", () => {
  test("a blob is visible under its digest only after commit, and verified", () => {
    const store = fresh();
    const data = bytes("hello");
    const digest = sha256Digest(data);
    const ingest = store.ingest({ digest, size: 5 }, "blob x");
    ingest.write(data);
    expect(store.has(digest)).toBe(false);
    expect(ingest.commit()).toBe(digest);
    expect(new TextDecoder().decode(store.readBytes(digest))).toBe("hello");
    expect(readdirSync(store.ingestDir)).toEqual([]);
  });

  test("a mismatch, or more bytes than announced, is refused naming the blob, and nothing stays", () => {
    const store = fresh();
    const digest = sha256Digest("right");
    const wrong = store.ingest({ digest, size: 5 }, "layer 2 of img");
    wrong.write(bytes("wrong"));
    expect(() => wrong.commit()).toThrow(new RegExp(`^layer 2 of img: digest mismatch, expected ${digest} but its bytes hash to sha256:`));
    const long = store.ingest({ digest, size: 3 }, "layer 3 of img");
    expect(() => long.write(bytes("right"))).toThrow(DigestMismatchError);
    expect(store.list()).toEqual([]);
    expect(readdirSync(store.ingestDir)).toEqual([]);
  });

  test("kept bytes are resumed: the next ingest of the digest starts after them", () => {
    const store = fresh();
    const data = bytes("0123456789");
    const digest = sha256Digest(data);
    const first = store.ingest({ digest, size: 10 }, "b");
    first.write(data.subarray(0, 4));
    first.keep();
    const second = store.ingest({ digest, size: 10 }, "b");
    expect(second.offset).toBe(4);
    second.write(data.subarray(4));
    expect(second.commit()).toBe(digest);
  });

  test("follow() gives the bytes as they are written and ends at commit; an abort or a restart errors it", async () => {
    const store = fresh();
    const data = bytes("abcdef");
    const digest = sha256Digest(data);
    const ingest = store.ingest({ digest, size: 6 }, "b");
    const reader = ingest.follow().getReader();
    ingest.write(data.subarray(0, 3));
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("abc");
    const pending = reader.read();
    ingest.write(data.subarray(3));
    expect(new TextDecoder().decode((await pending).value)).toBe("def");
    ingest.commit();
    expect((await reader.read()).done).toBe(true);

    const other = store.ingest({ digest: sha256Digest("zz"), size: 2 }, "c");
    const r2 = other.follow().getReader();
    other.write(bytes("z"));
    await r2.read();
    other.truncate();
    await expect(r2.read()).rejects.toBeInstanceOf(IngestRestartedError);
    const r3 = other.follow().getReader();
    other.abort();
    await expect(r3.read()).rejects.toThrow("c: the download failed");
    expect(existsSync(store.blobPath(sha256Digest("zz")))).toBe(false);
  });
});
