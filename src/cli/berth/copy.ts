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
import { engineFor } from "./run-options.ts";
import { portLines } from "../../engine/network/ports.ts";
import { writeOut } from "../stdio.ts";
import { mkdirParents } from "../../sys/libc.ts";
import { startProgram } from "../../sys/program.ts";

type Opts = Record<string, unknown>;

/** `NAME:PATH` → [container ref, path]; a host path otherwise. */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const colon = arg.indexOf(":");
  if (colon > 0 && !arg.slice(0, colon).includes("/")) return { container: arg.slice(0, colon), path: arg.slice(colon + 1) || "/" };
  return { path: arg };
}

const split = (p: string) => {
  const clean = p.replace(/\/+$/, "") || "/";
  const slash = clean.lastIndexOf("/");
  return { dir: slash <= 0 ? "/" : clean.slice(0, slash), base: clean === "/" ? "." : clean.slice(slash + 1) };
};

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
  if (a !== 0 || b !== 0) throw new ExitError(1, `${what}: ${(await new Response(from.stderr).text()).trim() || (await new Response(to.stderr).text()).trim()}`);
}

export function registerCp(program: Command): void {
  program.command("cp").argument("<src>", "CONTAINER:PATH, a host path, or - (a tar stream on stdin)").argument("<dest>", "CONTAINER:PATH, a host path, or - (a tar stream on stdout)")
    .description("copy files between a container and the host (tar streams with -)")
    .action(async (src: string, dest: string, opts: Opts) => {
      const engine = engineFor(opts);
      const s = src === "-" ? { path: "-" } : parseCopyArg(src);
      const d = dest === "-" ? { path: "-" } : parseCopyArg(dest);
      if ((s.container === undefined) === (d.container === undefined)) throw new BerthError("one side must be CONTAINER:PATH and the other a host path or -", { field: "cp" });
      const r = engine.store.resolve((s.container ?? d.container)!);
      if (s.container !== undefined) {
        const { dir, base } = split(s.path);
        const tar = tarInContainer(engine, r, ["-C", dir, "-cf", "-", base]);
        try {
          if (d.path === "-") {
            await run(tar.argv, "ignore", "inherit", `cp ${src}`);
            return;
          }
          // into a host directory (made if missing), as docker cp does
          try {
            mkdirParents(d.path, 0o755);
          } catch (err) {
            throw new BerthError(`cp ${src}: cannot make ${d.path}: ${(err as Error).message}; give a directory you can write`, { field: "DEST" });
          }
          await pipeTar(tar.argv, ["tar", "-C", d.path, "-xf", "-"], `cp ${src}`);
        } finally {
          tar.release();
        }
        return;
      }
      const tar = tarInContainer(engine, r, ["-C", d.path || "/", "-xf", "-"]);
      try {
        if (s.path === "-") await run(tar.argv, "inherit", "ignore", `cp - ${dest}`);
        else {
          const { dir, base } = split(s.path);
          await pipeTar(["tar", "-C", dir, "-cf", "-", base], tar.argv, `cp ${src} ${dest}`);
        }
      } finally {
        tar.release();
      }
    });
}

export function registerPort(program: Command): void {
  program.command("port").argument("<container>", "name or id").argument("[port]", "PORT[/PROTO]").description("the container's published ports: 80/tcp -> 0.0.0.0:8080")
    .action((ref: string, port: string | undefined, opts: Opts) => {
      const engine = engineFor(opts);
      const r = engine.store.resolve(ref);
      // host ports are given at start: a container that does not run has none (docker prints nothing either)
      const lines = portLines(r.Network?.settings?.PortMappings ?? [], port);
      if (port !== undefined && !lines.length) throw new BerthError(`no public port '${port}' published for ${r.Name}`);
      writeOut(lines.map((l) => `${l}\n`).join(""));
    });
}
