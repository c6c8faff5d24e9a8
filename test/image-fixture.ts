/**
 * Test support for the image commands: a private engine root per test file, `berth`
 * run against it, and what a store holds on disk (so a test can say "nothing was left").
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BERTH } from "./observe-fixture.ts";

export interface BerthResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface EngineRoot {
  root: string;
  runroot: string;
  /** run `berth --root ROOT --runroot RUNROOT ARGS…` (stdin: `input`, or nothing; `env` added to this process's) */
  berth(args: string[], input?: Uint8Array | Blob, env?: Record<string, string>): BerthResult;
  /** the same, not waiting: for servers that answer from the test's own process */
  berthAsync(args: string[], env?: Record<string, string>, input?: string): Promise<BerthResult>;
  /** what the store holds: blobs, committed/active snapshots, ingests, images */
  contents(): { blobs: string[]; snapshots: string[]; ingest: string[]; images: string[] };
  remove(): void;
}

export function engineRoot(name: string): EngineRoot {
  const base = mkdtempSync(join(tmpdir(), `berth-${name}-${process.pid}-`));
  const root = join(base, "root");
  const runroot = join(base, "run");
  const argv = (args: string[]) => [BERTH, "--root", root, "--runroot", runroot, ...args];
  const decode = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : "");
  return {
    root,
    runroot,
    berth(args, input, env) {
      const r = Bun.spawnSync(argv(args), { stdin: input ?? "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
      return { code: r.exitCode ?? 128, stdout: decode(r.stdout), stderr: decode(r.stderr) };
    },
    async berthAsync(args, env, input) {
      const p = Bun.spawn(argv(args), { stdin: input === undefined ? "ignore" : new Blob([input]), stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, stdout, stderr };
    },
    contents() {
      const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
      const md = join(root, "snapshots", "metadata.json");
      const index = join(root, "images", "index.json");
      return {
        blobs: ls(join(root, "content", "blobs", "sha256")),
        snapshots: existsSync(md) ? Object.keys(JSON.parse(readFileSync(md, "utf8")).snapshots).sort() : [],
        ingest: ls(join(root, "content", "ingest")),
        images: existsSync(index) ? Object.keys(JSON.parse(readFileSync(index, "utf8")).images).sort() : [],
      };
    },
    remove() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}
