import { describe, expect, test } from "bun:test";
import { errorOf } from "../../../test/berth-error.ts";
import { chooseImageRows, rowsOf, type ImageRow } from "./image-list.ts";
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
  test("a bad filter is one line naming it and the filters there are, rows or none", () => {
    const keys = "use KEY=VALUE with KEY one of dangling, reference, label";
    expect(() => chooseImageRows([], { filters: ["color=red"] })).toThrow(`--filter: invalid filter "color=red"; ${keys}`);
    expect(() => chooseImageRows([], { filters: ["dangling"] })).toThrow(`--filter: invalid filter "dangling"; ${keys}`);
    expect(() => chooseImageRows([], { filters: ["label"] })).toThrow(`--filter: invalid filter "label"; ${keys}`);
    expect(() => chooseImageRows([], { filters: ["=x"] })).toThrow(`--filter: invalid filter "=x"; ${keys}`);
    expect(() => chooseImageRows([], { filters: [""] })).toThrow(`--filter: invalid filter ""; ${keys}`);
    expect(() => chooseImageRows([], { filters: ["until=1h"] })).toThrow(`--filter: invalid filter "until=1h"; ${keys}`);
    expect(() => chooseImageRows(rows, { filters: ["dangling=maybe"] })).toThrow('--filter: invalid dangling "maybe"; use dangling=true or dangling=false');
    expect(() => chooseImageRows(rows, { filters: ["reference=busy[box"] })).toThrow('--filter: invalid reference "busy[box"; use reference=PATTERN');
    expect(() => chooseImageRows(rows, { filters: ["reference=[z-a]"] })).toThrow("--filter: invalid reference");
    // what a user typed is quoted with its control characters escaped and cut short: the error stays one line
    const err = errorOf(() => chooseImageRows(rows, { filters: [`nope\n\u0000${"x".repeat(10_000)}=1`] })).message;
    expect(err).not.toContain("\n");
    expect(err).toContain('"nope\\n\\u0000xxx');
    expect(err.length).toBeLessThan(250);
  });
  test("dangling takes docker's true, false, 1, 0 in any case; reference's [ ] classes and \\ escapes are path.Match's", () => {
    expect(chosen({ filters: ["dangling=1"] })).toEqual(["<none>:<none>"]);
    expect(chosen({ filters: ["dangling=FALSE"] })).toHaveLength(3);
    expect(chosen({ filters: ["reference=busybox:1.3[0-9]"] })).toEqual(["busybox:1.36"]);
    expect(chosen({ filters: ["reference=busybox:[!l]*"] })).toEqual(["busybox:1.36"]);
    expect(chosen({ filters: ["reference=busybox:1\\.36"] })).toEqual(["busybox:1.36"]);
    expect(chosen({ filters: ["reference=busybox:\\d*"] })).toEqual([]);
  });
});
