import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { resolvePath } from "./host-path.ts";

test("resolvePath agrees with node:path's resolve", () => {
  const cases: string[][] = [
    ["."], [""], ["bundle"], ["/b/bundle"], ["/b/bundle", "rootfs"], ["/b/bundle", "/abs/rootfs"], ["/b/bundle", "../shared/rootfs/"],
    ["/b//x/./y/"], ["/.."], ["/a/b", "../../../c"], ["rel", "x/../y"], ["/b", ""], ["/b", "."], ["a", "/b", "c"],
  ];
  for (const c of cases) expect(resolvePath(...c)).toBe(resolve(...c));
});
