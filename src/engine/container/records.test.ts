import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enginePaths } from "../paths.ts";
import { ContainerStore, newContainerId } from "./records.ts";

const dir = mkdtempSync(join(tmpdir(), `berth-records-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("container names", () => {
  const store = new ContainerStore(enginePaths({ root: join(dir, "root"), runroot: join(dir, "run") }));
  test("containers without --name each get a free generated name, however many already hold one", () => {
    // 400 of about 19,000 names: drawn once each, several would collide (the birthday problem)
    const names = Array.from({ length: 400 }, () => {
      const id = newContainerId();
      mkdirSync(store.dir(id), { recursive: true }); // a live record: its claim is not stale
      return store.claimGeneratedName(id);
    });
    expect(new Set(names).size).toBe(400);
    expect(readdirSync(join(dir, "root", "containers", ".names")).length).toBe(400);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+\d{0,2}$/);
  }, 60_000); // each claim is an fsynced file
  test("a name given is claimed once; the second container is refused naming the first", () => {
    const first = newContainerId();
    mkdirSync(store.dir(first), { recursive: true });
    store.claimName("web", first);
    expect(() => store.claimName("web", newContainerId())).toThrow(`the container name "/web" is already in use by container "${first}"`);
  });
  test("a claim a crash left empty (a --rm container's, not flushed) is free again; an unflushed claim holds like any other", () => {
    writeFileSync(join(dir, "root", "containers", ".names", "emptied"), "");
    const id = newContainerId();
    mkdirSync(store.dir(id), { recursive: true });
    store.claimName("emptied", id, false);
    expect(readFileSync(join(dir, "root", "containers", ".names", "emptied"), "utf8")).toBe(id);
    expect(() => store.claimName("emptied", newContainerId())).toThrow(`is already in use by container "${id}"`);
  });
});
