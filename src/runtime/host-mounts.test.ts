import { describe, expect, test } from "bun:test";
import { parseMountinfo } from "../cgroups/mountinfo.ts";
import { addedMounts } from "./host-mounts.ts";

const TABLE = parseMountinfo(`22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 0:40 / /b/rootfs rw - overlay overlay rw
31 30 0:41 / /b/rootfs/proc rw - proc proc rw
32 30 0:42 / /b/rootfs/dev rw - tmpfs tmpfs rw
33 32 0:43 / /b/rootfs/dev/pts rw - devpts devpts rw
34 22 0:44 / /b/rootfs-other rw - tmpfs tmpfs rw
35 22 0:45 / /b/rootfs\\040x/proc rw - proc proc rw
`);

describe("addedMounts: what a container without a mount namespace of its own added below its root", () => {
  test("every mount at or below the root that was not there before, newest first", () => {
    expect(addedMounts(TABLE, { root: "/b/rootfs", keep: [30] }).map((m) => m.mountPoint)).toEqual(["/b/rootfs/dev/pts", "/b/rootfs/dev", "/b/rootfs/proc"]);
  });

  test("the root itself when the container bound it, never a sibling that shares the prefix", () => {
    expect(addedMounts(TABLE, { root: "/b/rootfs", keep: [] }).map((m) => m.mountId)).toEqual([33, 32, 31, 30]);
    expect(addedMounts(TABLE, { root: "/b/rootfs x", keep: [] }).map((m) => m.mountPoint)).toEqual(["/b/rootfs x/proc"]);
  });
});
