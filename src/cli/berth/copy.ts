/**
 * `berth cp` (both directions, tar streams to and from `-`) and `berth port`. The copy
 * itself, by the image's own tar confined as the container's processes are, is
 * engine/container/copy-tar.ts's.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { copyFromContainer, CopyFailed, copyToContainer } from "../../engine/container/copy-tar.ts";
import { engineFor } from "./engine-open.ts";
import { portLines } from "../../engine/network/ports.ts";
import { writeOut } from "../stdio.ts";

type Opts = Record<string, unknown>;

/** `NAME:PATH` → [container ref, path]; a host path otherwise. */
export function parseCopyArg(arg: string): { container?: string; path: string } {
  const colon = arg.indexOf(":");
  if (colon > 0 && !arg.slice(0, colon).includes("/")) return { container: arg.slice(0, colon), path: arg.slice(colon + 1) || "/" };
  return { path: arg };
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
      try {
        if (s.container !== undefined) await copyFromContainer(engine, r, { path: s.path, dest: d.path, what: `cp ${src}` });
        else await copyToContainer(engine, r, { path: s.path, dest: d.path, what: `cp ${src} ${dest}` });
      } catch (err) {
        if (err instanceof CopyFailed) throw new ExitError(1, err.message);
        throw err;
      }
    });
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
