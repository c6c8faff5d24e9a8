/**
 * `berth cp` (both directions, tar streams to and from `-`) and `berth port`.
 *
 * cp runs the image's own tar inside the container's view of its files, confined as the
 * container's processes are (engine/container/copy-tar.ts says how): an image without
 * tar cannot be copied from or to, and the error says so.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { tarInContainer } from "../../engine/container/copy-tar.ts";
import { engineFor } from "./engine-open.ts";
import { portLines } from "../../engine/network/ports.ts";
import { writeOut } from "../stdio.ts";
import { listDir, mkdirPath, renamePath, statPath } from "../../sys/libc.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import { copyPlan, firstEntryKind, renameTopExpression, splitPath, type PathKind } from "../../engine/container/copy-plan.ts";
import type { Engine } from "../../engine/container/engine.ts";
import type { ContainerRecord } from "../../engine/container/records.ts";
import { startProgram } from "../../sys/program.ts";

type Opts = Record<string, unknown>;

/** `NAME:PATH` → [container ref, path]; a host path otherwise. */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const colon = arg.indexOf(":");
  if (colon > 0 && !arg.slice(0, colon).includes("/")) return { container: arg.slice(0, colon), path: arg.slice(colon + 1) || "/" };
  return { path: arg };
}

async function run(argv: string[], stdin: "inherit" | "ignore", stdout: "inherit" | "ignore", what: string): Promise<number> {
  let p;
  try {
    p = startProgram(argv, { stdin, stdout, stderr: "pipe" });
  } catch (err) {
    throw new BerthError(`${what}: cannot start ${argv[0]}: ${(err as Error).message}`);
  }
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) {
    const line = err.trim().split("\n").at(-1) ?? "";
    if (code === 127 || (/not found|No such file/.test(line) && /tar/.test(line))) throw new BerthError(`${what}: the container has no tar to copy with (${line}); add tar (busybox has one) to the image`);
    throw new BerthError(`${what}: ${line || `tar exited ${code}`}`);
  }
  return code;
}

/** `producer | consumer`, one tar writing what the other reads; either failing fails the copy with its words. */
async function pipeTar(producer: string[], consumer: string[], what: string): Promise<void> {
  const from = startProgram(producer, { stdout: "pipe", stderr: "pipe" });
  const to = startProgram(consumer, { stdin: from.stdout, stderr: "pipe" });
  const [a, b] = await Promise.all([from.exited, to.exited]);
  if (a === 0 && b === 0) return;
  // one line: the producer's reason, else the consumer's (GNU tar adds "Exiting with failure status…" after it)
  const firstLine = async (s: ReadableStream<Uint8Array> | undefined) => (await new Response(s).text()).trim().split("\n")[0] ?? "";
  throw new ExitError(1, `${what}: ${(await firstLine(from.stderr)) || (await firstLine(to.stderr))}`);
}

/**
 * The host's tar that unpacks a container's archive of `path` in `into`: only the entry
 * asked for (the archive's top name, `.` for a directory's contents). The archive is the
 * container's own tar's output — the image's, which the container may replace — so what
 * else it holds (a `.ssh/authorized_keys` beside the file asked for) must not land in the
 * host's directory; GNU tar refuses `..` and absolute names and defers symlinks that
 * lead out itself.
 */
function hostUnpack(into: string, path: string): string[] {
  // docker's CLI unpacks with NoLchown: the files are the invoking user's, not the container's uids (-a is not berth's)
  return ["tar", "-C", into, "-xf", "-", "--no-same-owner", "--no-wildcards", "--no-unquote", "--", archiveArgs(path).at(-1)!];
}

/** What is at a host path (a symlink followed, as docker's cp follows one on the host). */
function hostKind(path: string): PathKind {
  try {
    return statPath(path).isDirectory ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/**
 * What is at `path` in the container: the first entry of its own tar's archive of it
 * (a directory, or anything else taken as a file), "missing" when its tar finds nothing.
 */
async function containerKind(engine: Engine, r: ContainerRecord, path: string): Promise<PathKind> {
  const { dir, base } = splitPath(path);
  const tar = tarInContainer(engine, r, ["-C", dir, "-cf", "-", base]);
  try {
    const p = startProgram(tar.argv, { stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout!.getReader();
    let got = new Uint8Array(0);
    let kind: ReturnType<typeof firstEntryKind>;
    while ((kind = firstEntryKind(got)) === undefined) {
      const { done, value } = await reader.read();
      if (done) break;
      const more = new Uint8Array(got.length + value.length);
      more.set(got);
      more.set(value, got.length);
      got = more;
    }
    // the header is all it takes: the tar ends on its closed pipe
    await reader.cancel();
    await p.exited;
    return kind === undefined || kind === "none" ? "missing" : kind === "dir" ? "dir" : "file";
  } finally {
    tar.release();
  }
}

export function registerCp(program: Command): void {
  program.command("cp").argument("<src>", "CONTAINER:PATH, a host path, or - (a tar stream on stdin)").argument("<dest>", "CONTAINER:PATH, a host path, or - (a tar stream on stdout)")
    .description("copy files between a container and the host (tar streams with -)")
    .action(async (src: string, dest: string, opts: Opts) => {
      const engine = await engineFor(opts);
      const s = src === "-" ? { path: "-" } : parseCopyArg(src);
      const d = dest === "-" ? { path: "-" } : parseCopyArg(dest);
      if ((s.container === undefined) === (d.container === undefined)) throw new BerthError("one side must be CONTAINER:PATH and the other a host path or -", { field: "cp" });
      const r = engine.store.resolve((s.container ?? d.container)!);
      if (s.container !== undefined) await copyOut(engine, r, s.path, d.path, src);
      else await copyIn(engine, r, s.path, d.path, src, dest);
    });
}

/** The tar arguments that archive `path`: the entry itself by its name, or with `/.` at its end, what the directory holds. */
function archiveArgs(path: string): string[] {
  if (path.endsWith("/.")) return ["-C", path.slice(0, -2) || "/", "-cf", "-", "."];
  const { dir, base } = splitPath(path);
  return ["-C", dir, "-cf", "-", base];
}

/** Container → host (docker's rules, engine/container/copy-plan.ts) or a tar stream on stdout. */
async function copyOut(engine: Engine, r: ContainerRecord, path: string, dest: string, src: string): Promise<void> {
  const tar = tarInContainer(engine, r, archiveArgs(path));
  try {
    if (dest === "-") {
      await run(tar.argv, "ignore", "inherit", `cp ${src}`);
      return;
    }
    const destKind = hostKind(dest);
    if (destKind === "dir") {
      await pipeTar(tar.argv, hostUnpack(dest, path), `cp ${src}`);
      return;
    }
    // what the source is shows once it has arrived: unpacked beside the destination, then moved into place
    const { dir } = splitPath(dest);
    if (hostKind(dir) !== "dir") throw new BerthError(`cp ${src}: the directory ${dir} does not exist; make it first`, { field: "DEST" });
    const landing = `${dir}/.berth-cp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    mkdirPath(landing, 0o700);
    try {
      await pipeTar(tar.argv, hostUnpack(landing, path), `cp ${src}`);
      const arrived = path.endsWith("/.") ? landing : `${landing}/${splitPath(path).base}`;
      const plan = copyPlan(path, hostKind(arrived) === "dir" ? "dir" : "file", dest, destKind);
      if (path.endsWith("/.")) {
        mkdirPath(`${plan.into}/${plan.name}`, 0o755);
        for (const e of listDir(landing)) renamePath(`${landing}/${e.name}`, `${plan.into}/${plan.name}/${e.name}`);
      } else renamePath(arrived, `${plan.into}/${plan.name}`);
    } finally {
      removeTree(landing);
    }
  } finally {
    tar.release();
  }
}

/** Host (or a tar stream on stdin) → container, by docker's rules. */
async function copyIn(engine: Engine, r: ContainerRecord, path: string, dest: string, src: string, destArg: string): Promise<void> {
  const what = `cp ${src} ${destArg}`;
  if (path === "-") {
    // a tar stream is unpacked into the destination directory, as docker's
    const tar = tarInContainer(engine, r, ["-C", dest || "/", "-xf", "-"]);
    try {
      await run(tar.argv, "inherit", "ignore", what);
    } finally {
      tar.release();
    }
    return;
  }
  let srcKind: "file" | "dir";
  try {
    srcKind = statPath(path, { follow: false }).isDirectory ? "dir" : "file";
  } catch (err) {
    throw new BerthError(`${what}: ${path}: ${(err as { code?: string }).code ?? (err as Error).message}; give a file or directory that exists`, { field: "SRC" });
  }
  const plan = copyPlan(path, srcKind, dest, await containerKind(engine, r, dest));
  // the archive's top entry under the name the rules give it (the host's GNU tar renames; busybox's in the container cannot)
  const { base } = splitPath(path);
  const rename = !plan.contents && plan.name !== undefined && plan.name !== base ? ["--transform", renameTopExpression(base, plan.name)] : [];
  const tar = tarInContainer(engine, r, ["-C", plan.into, "-xf", "-"]);
  try {
    // GNU tar reads a backslash in a name given to it as an escape (a\\tb as a tab) unless told not to
    await pipeTar(["tar", "--no-unquote", ...rename, ...archiveArgs(path)], tar.argv, what);
  } finally {
    tar.release();
  }
}

export function registerPort(program: Command): void {
  program.command("port").argument("<container>", "name or id").argument("[port]", "PORT[/PROTO]").description("the container's published ports: 80/tcp -> 0.0.0.0:8080")
    .action(async (ref: string, port: string | undefined, opts: Opts) => {
      const engine = await engineFor(opts);
      const r = engine.store.resolve(ref);
      // host ports are given at start: a container that does not run has none (docker prints nothing either)
      const lines = portLines(r.Network?.settings?.PortMappings ?? [], port);
      if (port !== undefined && !lines.length) throw new BerthError(`no public port '${port}' published for ${r.Name}`);
      writeOut(lines.map((l) => `${l}\n`).join(""));
    });
}
