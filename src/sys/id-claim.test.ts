/**
 * src/sys/id-claim.ts on real files: of several processes claiming one name at the same
 * moment, exactly one wins — for a directory (mkdir) and for a record (link).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimDir, claimFile } from "./id-claim.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-id-claim-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLAIMERS = 8;

// Each claimer waits for the go file, so the claims meet in the kernel at about one moment.
const CLAIMER = `
const [mod, kind, path, go, me] = process.argv.slice(1);
const { claimDir, claimFile } = await import(mod);
while (!(await Bun.file(go).exists())) await Bun.sleep(1);
const won = kind === "dir" ? claimDir(path) : claimFile(path, "claimed by " + me + "\\n");
process.stdout.write(won ? "won" : "lost");
`;

/** Start CLAIMERS processes claiming `path`, let them go at once: each one's answer. */
async function race(kind: "dir" | "file", path: string): Promise<string[]> {
  const go = `${path}.go`;
  const procs = Array.from({ length: CLAIMERS }, (_, i) =>
    Bun.spawn([process.execPath, "-e", CLAIMER, join(import.meta.dir, "id-claim.ts"), kind, path, go, String(i)], { stdout: "pipe", stderr: "inherit" }),
  );
  writeFileSync(go, "");
  const answers = await Promise.all(procs.map(async (p) => `${await new Response(p.stdout).text()}:${await p.exited}`));
  rmSync(go);
  return answers;
}

describe("claimDir", () => {
  test("of several processes claiming one directory at once, exactly one wins", async () => {
    const path = join(dir, "race-dir");
    const answers = await race("dir", path);
    expect(answers.filter((a) => a === "won:0")).toHaveLength(1);
    expect(answers.filter((a) => a === "lost:0")).toHaveLength(CLAIMERS - 1);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  test("a second claim of one directory is refused; mode and missing parents as asked", () => {
    const path = join(dir, "a", "b", "c");
    expect(claimDir(path, { mode: 0o711, parentMode: 0o700 })).toBe(true);
    expect(claimDir(path, { mode: 0o711, parentMode: 0o700 })).toBe(false);
    expect(statSync(path).mode & 0o777).toBe(0o711 & ~process.umask());
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o700);
  });

  test("a failure other than 'exists' is raised, not reported as a lost claim", () => {
    writeFileSync(join(dir, "plain"), "");
    expect(() => claimDir(join(dir, "plain", "x"))).toThrow(`ENOTDIR: not a directory, mkdir '${join(dir, "plain", "x")}'`);
    expect(() => claimDir(join(dir, "missing", "x"))).toThrow("ENOENT");
  });
});

describe("claimFile", () => {
  test("of several processes claiming one record at once, exactly one wins and its data is what the file holds", async () => {
    const path = join(dir, "race-record");
    const answers = await race("file", path);
    expect(answers.filter((a) => a === "won:0")).toHaveLength(1);
    expect(answers.filter((a) => a === "lost:0")).toHaveLength(CLAIMERS - 1);
    expect(readFileSync(path, "utf8")).toMatch(/^claimed by [0-7]\n$/);
    // the losers' and the winner's temporary files are gone
    expect(readdirSync(dir).filter((n) => n.includes("race-record"))).toEqual(["race-record"]);
  });

  test("a taken name keeps its first data; mode as asked", () => {
    const path = join(dir, "rec", "one");
    expect(claimFile(path, "first", { mode: 0o640, parentMode: 0o700 })).toBe(true);
    expect(claimFile(path, "second", { parentMode: 0o700 })).toBe(false);
    expect(readFileSync(path, "utf8")).toBe("first");
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(readdirSync(join(dir, "rec"))).toEqual(["one"]);
  });

  test("a directory that cannot be written to raises with the path, and leaves nothing", () => {
    expect(() => claimFile(join(dir, "nowhere", "x"), "data")).toThrow(join(dir, "nowhere"));
    expect(existsSync(join(dir, "nowhere"))).toBe(false);
  });
});
