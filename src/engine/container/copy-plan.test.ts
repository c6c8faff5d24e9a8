import { afterAll, describe, expect, test } from "bun:test";
import { archiveArgs, copyPlan, firstEntryKind, fromContainerRoot, hostUnpackArgv, renameTopExpression, splitPath } from "./copy-plan.ts";

describe("copyPlan: docker cp's rules", () => {
  test("a file: to a missing path it becomes that file; to a file it replaces it; to a directory it goes in by its name", () => {
    expect(copyPlan("/etc/hostname", "file", "/tmp/hn", "missing")).toEqual({ into: "/tmp", name: "hn", contents: false });
    expect(copyPlan("/etc/hostname", "file", "/tmp/hn", "file")).toEqual({ into: "/tmp", name: "hn", contents: false });
    expect(copyPlan("/etc/hostname", "file", "/tmp/", "dir")).toEqual({ into: "/tmp", contents: false });
    expect(copyPlan("f", "file", "rel", "missing")).toEqual({ into: ".", name: "rel", contents: false });
  });
  test("a file to a missing path ending in /, or to a file named with a trailing /: an error naming it", () => {
    expect(() => copyPlan("/a", "file", "/nowhere/", "missing")).toThrow(/the destination directory \/nowhere\/ does not exist/);
    expect(() => copyPlan("/a", "file", "/b/", "file")).toThrow(/\/b\/ is a file, not a directory/);
  });
  test("a directory: to a missing path it is made there with the source's contents; into a directory by its name, or its contents with /.; never onto a file", () => {
    expect(copyPlan("/srv", "dir", "/tmp/out", "missing")).toEqual({ into: "/tmp", name: "out", contents: false });
    expect(copyPlan("/srv", "dir", "/tmp/out/", "missing")).toEqual({ into: "/tmp", name: "out", contents: false });
    expect(copyPlan("/srv", "dir", "/tmp", "dir")).toEqual({ into: "/tmp", contents: false });
    expect(copyPlan("/srv/.", "dir", "/tmp", "dir")).toEqual({ into: "/tmp", contents: true });
    expect(() => copyPlan("/srv", "dir", "/tmp/f", "file")).toThrow(/cannot copy a directory to a file/);
  });
  test("splitPath: the directory and the last name, trailing slashes dropped", () => {
    expect(splitPath("/a/b/")).toEqual({ dir: "/a", base: "b" });
    expect(splitPath("/a")).toEqual({ dir: "/", base: "a" });
    expect(splitPath("a")).toEqual({ dir: ".", base: "a" });
    expect(splitPath("/")).toEqual({ dir: "/", base: "." });
  });
  test("fromContainerRoot: a container path is from its /, the leading slash optional", () => {
    expect(fromContainerRoot("tmp/f")).toBe("/tmp/f");
    expect(fromContainerRoot("/tmp/f")).toBe("/tmp/f");
    expect(fromContainerRoot("")).toBe("/");
    expect(fromContainerRoot("/srv/sub/..")).toBe("/srv");
    expect(fromContainerRoot("srv//./x/")).toBe("/srv/x/");
    expect(fromContainerRoot("/srv/sub/../.")).toBe("/srv/.");
    expect(fromContainerRoot("/..")).toBe("/");
    expect(fromContainerRoot("/.")).toBe("/.");
  });
});

describe("the tar command lines", () => {
  test("archiveArgs: an entry by its name from its directory; with /. at the end, the directory's contents", () => {
    expect(archiveArgs("/srv/f")).toEqual(["-C", "/srv", "-cf", "-", "--", "f"]);
    expect(archiveArgs("/srv/")).toEqual(["-C", "/", "-cf", "-", "--", "srv"]);
    expect(archiveArgs("/srv/.")).toEqual(["-C", "/srv", "-cf", "-", "--", "."]);
    expect(archiveArgs("/.")).toEqual(["-C", "/", "-cf", "-", "--", "."]);
    expect(archiveArgs("rel")).toEqual(["-C", ".", "-cf", "-", "--", "rel"]);
    // a name that looks like an option stays a name
    expect(archiveArgs("/tmp/--to-command=id")).toEqual(["-C", "/tmp", "-cf", "-", "--", "--to-command=id"]);
  });
  test("hostUnpackArgv: only the entry asked for, literally (no wildcards, no unquoting), after --, owned by the caller", () => {
    expect(hostUnpackArgv("/dest", "/srv/a*b")).toEqual(["tar", "-C", "/dest", "-xf", "-", "--no-same-owner", "--no-wildcards", "--no-unquote", "--", "a*b"]);
    expect(hostUnpackArgv("/dest", "/srv/.").at(-1)).toBe(".");
    expect(hostUnpackArgv("/dest", "/srv/-x").slice(-2)).toEqual(["--", "-x"]);
  });
});

describe("firstEntryKind and renameTopExpression against GNU tar", () => {
  const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]).stdout;
  const dir = sh("mktemp -d").toString().trim();
  afterAll(() => sh(`rm -rf ${dir}`));
  sh(`mkdir -p ${dir}/d ${dir}/a.b && echo x > ${dir}/f && echo y > ${dir}/a.b/in && echo z > ${dir}/axb && ln -s a.b ${dir}/l && mkdir -p ${dir}/${"n".repeat(120)}/${"m".repeat(120)}`);
  test("a directory, a file, a symlink; a long name's extended header skipped; nothing yet is undefined", () => {
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} -cf - d`)))).toBe("dir");
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} -cf - f`)))).toBe("file");
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} -cf - l`)))).toBe("other");
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} --format=gnu -cf - ${"n".repeat(120)}/${"m".repeat(120)}`)))).toBe("dir");
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} --format=pax -cf - ${"n".repeat(120)}/${"m".repeat(120)}`)))).toBe("dir");
    expect(firstEntryKind(new Uint8Array(100))).toBeUndefined();
    // what a tar that found nothing writes: the end-of-archive blocks
    expect(firstEntryKind(new Uint8Array(sh(`tar -C ${dir} -cf - --files-from /dev/null`)))).toBe("none");
  });
  test("a hostile first header is an entry it cannot read, never a wait for gigabytes: an extended header's size too large, not octal, or base-256", () => {
    // a header block of type `type` with `size` in its size field (12 bytes at 124)
    const header = (type: string, size: Uint8Array | string) => {
      const h = new Uint8Array(512);
      h.set(new TextEncoder().encode("name"), 0);
      h.set(typeof size === "string" ? new TextEncoder().encode(size) : size, 124);
      h[156] = type.charCodeAt(0);
      return h;
    };
    // 8 GiB of pax header declared: the stream that follows was read until its end (containerKind kept all of it)
    expect(firstEntryKind(header("x", "77777777777\0"))).toBe("other");
    // 12abc read as 10 by parseInt, skipping the wrong number of blocks
    expect(firstEntryKind(header("L", "12abc\0"))).toBe("other");
    // base-256 (its first byte's high bit): NaN, and then every read more wanted
    const base256 = new Uint8Array(12);
    base256[0] = 0x80;
    base256[11] = 1;
    expect(firstEntryKind(header("x", base256))).toBe("other");
    // a real one still skipped: 10 bytes of GNU long name, then a directory
    const long = header("L", "00000000012\0");
    const data = new Uint8Array(512);
    expect(firstEntryKind(new Uint8Array([...long, ...data, ...header("5", "00000000000\0")]))).toBe("dir");
  });
  test("the top entry and what is under it renamed; a name that only matches as a pattern, and a symlink's target, left alone", () => {
    const listing = sh(`tar -C ${dir} -cf - --transform '${renameTopExpression("a.b", "x&,y")}' a.b axb l | tar -tvf -`).toString();
    expect(listing).toMatch(/ x&,y\/\n/);
    expect(listing).toMatch(/ x&,y\/in\n/);
    expect(listing).toMatch(/ axb\n/);
    expect(listing).toMatch(/ l -> a\.b\n/);
  });
});
