import { expect, test } from "bun:test";
import { nativeBuildCandidates } from "./native-path.ts";

test("the compiled executable's own checkout first, then the build-time directory's", () => {
  const c = nativeBuildCandidates("x.node", "/opt/b/native/build/bin/berth-runtime", "/src/repo/src/sys");
  // the executable's own layout first: the one place it is, for every call
  expect(c.slice(0, 4)).toEqual([
    "/opt/b/native/build/x.node",
    "/opt/b/native/build/bin/native/build/x.node",
    "/opt/b/native/build/native/build/x.node",
    "/opt/b/native/native/build/x.node",
  ]);
  expect(c.slice(4)).toEqual([
    "/src/repo/src/sys/native/build/x.node",
    "/src/repo/src/native/build/x.node",
    "/src/repo/native/build/x.node",
    "/src/native/build/x.node",
  ]);
});

test("from the sources: Bun's place in node_modules finds the checkout; walking up stops at /", () => {
  const c = nativeBuildCandidates("berth-init", "/r/node_modules/bun/bin/bun.exe", "/r/src/sys");
  expect(c).toContain("/r/native/build/berth-init");
  expect(nativeBuildCandidates("y", "/bin/bun", "/src")).toEqual(["/bin/native/build/y", "/native/build/y", "/src/native/build/y"]);
});
