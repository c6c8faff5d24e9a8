import { describe, expect, test } from "bun:test";
import { chooseImageRows, matchesImageFilter, rowsOf, type ImageRow } from "./image-list.ts";
import type { ImageRecord } from "./index-store.ts";

const image = (id: string, names: string[], repoDigests: string[] = []): ImageRecord =>
  ({ id: `sha256:${id.repeat(64 / id.length)}`, manifest: "", manifestMediaType: "", layers: [], chainIds: [], names, repoDigests, stored: "" }) as ImageRecord;
const base = (created: string, labels: Record<string, string> = {}) => ({ created, size: 1000, labels });

describe("images rows", () => {
  test("a row per name, docker's short repository; an untagged image one <none> row, with the repository it was pulled from", () => {
    const tagged = rowsOf(image("a", ["docker.io/library/busybox:latest", "localhost:5000/team/app:1"]), base("2026-01-01T00:00:00Z"));
    expect(tagged.map((r) => [r.repository, r.tag, r.digest])).toEqual([["busybox", "latest", "<none>"], ["localhost:5000/team/app", "1", "<none>"]]);
    const pulled = rowsOf(image("b", [], ["docker.io/library/alpine@sha256:" + "c".repeat(64)]), base(""));
    expect(pulled.map((r) => [r.repository, r.tag, r.digest])).toEqual([["alpine", "<none>", "sha256:" + "c".repeat(64)]]);
    expect(rowsOf(image("d", []), base("")).map((r) => [r.repository, r.tag, r.digest])).toEqual([["<none>", "<none>", "<none>"]]);
  });

  const rows: ImageRow[] = [
    ...rowsOf(image("a", ["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"]), base("2026-01-01T00:00:00Z", { tier: "base" })),
    ...rowsOf(image("b", ["localhost:5000/team/app:1"]), base("2026-03-01T00:00:00Z", { tier: "app", "com.example.x": "y=z" })),
    ...rowsOf(image("d", []), base("2026-02-01T00:00:00Z")),
  ];
  const chosen = (opts: { repository?: string; filters: string[] }) => chooseImageRows(rows, opts).map((r) => `${r.repository}:${r.tag}`);

  test("newest first, then by repository and tag", () => {
    expect(chosen({ filters: [] })).toEqual(["localhost:5000/team/app:1", "<none>:<none>", "busybox:1.36", "busybox:latest"]);
  });
  test("repository[:tag], short or full", () => {
    expect(chosen({ repository: "busybox", filters: [] })).toEqual(["busybox:1.36", "busybox:latest"]);
    expect(chosen({ repository: "docker.io/library/busybox:latest", filters: [] })).toEqual(["busybox:latest"]);
    expect(chosen({ repository: "busybox:2", filters: [] })).toEqual([]);
  });
  test("dangling, reference globs within a path component, label KEY and KEY=VALUE; every filter must match", () => {
    expect(chosen({ filters: ["dangling=true"] })).toEqual(["<none>:<none>"]);
    expect(chosen({ filters: ["dangling=false"] })).toHaveLength(3);
    expect(chosen({ filters: ["reference=busy*"] })).toEqual(["busybox:1.36", "busybox:latest"]);
    expect(chosen({ filters: ["reference=busybox:1.*"] })).toEqual(["busybox:1.36"]);
    // * does not cross a /
    expect(chosen({ filters: ["reference=localhost*"] })).toEqual([]);
    expect(chosen({ filters: ["reference=localhost:5000/*/app"] })).toEqual(["localhost:5000/team/app:1"]);
    // regular-expression characters in a pattern are themselves
    expect(chosen({ filters: ["reference=busybox.1"] })).toEqual([]);
    expect(chosen({ filters: ["label=tier"] })).toHaveLength(3);
    expect(chosen({ filters: ["label=com.example.x=y=z"] })).toEqual(["localhost:5000/team/app:1"]);
    expect(chosen({ filters: ["label=tier=base", "reference=*:latest"] })).toEqual(["busybox:latest"]);
  });
  test("a bad filter is one line naming it and the filters there are", () => {
    expect(() => matchesImageFilter(rows[0]!, "dangling=maybe")).toThrow("--filter dangling=maybe: must be true or false");
    expect(() => matchesImageFilter(rows[0]!, "color=red")).toThrow('--filter "color=red": unknown filter "color"; use dangling=true|false, reference=PATTERN or label=KEY[=VALUE]');
    expect(() => matchesImageFilter(rows[0]!, "dangling")).toThrow("must be true or false");
  });
});
