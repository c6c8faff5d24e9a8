import { describe, expect, test } from "bun:test";
import { changesOf, formatChanges, type UpperEntry } from "./changes.ts";

const file = (path: string): UpperEntry => ({ path, whiteout: false, dir: false });
const dir = (path: string): UpperEntry => ({ path, whiteout: false, dir: true });
const gone = (path: string): UpperEntry => ({ path, whiteout: true, dir: false });

describe("changesOf: an upper directory's entries over the lower layers, as docker's diff", () => {
  const lower = new Set(["/etc", "/etc/passwd", "/bin", "/bin/ls", "/tmp"]);
  const inLower = (p: string) => lower.has(p);

  test("a whiteout is D, a path the layers have is C, a new one A; sorted by path", () => {
    const changes = changesOf([dir("/tmp"), file("/tmp/new"), dir("/etc"), file("/etc/passwd"), dir("/bin"), gone("/bin/ls")], inLower, new Set());
    expect(formatChanges(changes)).toBe("C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nC /tmp\nA /tmp/new\n");
    expect(changes[1]).toEqual({ Path: "/bin/ls", Kind: 2 });
  });

  test("a mount point the runtime made is not a change, nor the directory copied up only to hold it", () => {
    const placeholders = new Set(["/etc/hostname", "/etc/hosts", "/data"]);
    expect(changesOf([dir("/etc"), file("/etc/hostname"), file("/etc/hosts"), dir("/data")], inLower, placeholders)).toEqual([]);
    // the same directory with a change of the container's own stays, the mount point does not
    expect(formatChanges(changesOf([dir("/etc"), file("/etc/hostname"), file("/etc/mine")], inLower, placeholders))).toBe("C /etc\nA /etc/mine\n");
    // a path the image has is the image's file under a bind, never created by the runtime: a change of the container's
    expect(formatChanges(changesOf([dir("/etc"), file("/etc/passwd")], inLower, new Set(["/etc/passwd"])))).toBe("C /etc\nC /etc/passwd\n");
  });

  test("nothing changed: nothing printed", () => {
    expect(formatChanges(changesOf([], inLower, new Set()))).toBe("");
  });
});
