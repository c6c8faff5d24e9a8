/**
 * A container's root filesystem as docker shows it: `diff` (what it changed over its
 * image's layers), `export` (all of it, as a tar) and `commit` (its changes as a new
 * image's top layer).
 */
import { collect, type Command } from "../command.ts";
import { commitContainer } from "../../engine/container/commit.ts";
import { writeOut } from "../stdio.ts";
import { containerChanges, formatChanges } from "../../engine/container/changes.ts";
import { engineFor } from "./engine-open.ts";
import { refuseTerminal, writeArchive } from "./save.ts";
import { archiveTree } from "../../engine/container/tree-archive.ts";
import { mountForReader, snapshotTarget } from "../../engine/container/root-source.ts";

type Opts = Record<string, unknown>;

export function registerDiff(program: Command): void {
  program.command("diff").argument("<container>", "name or id").description("what a container changed in its image's files: C changed, A added, D deleted")
    .action(async (ref: string, opts: Opts) => {
      const engine = await engineFor(opts);
      writeOut(formatChanges(containerChanges(engine, engine.store.resolve(ref))));
    });
}

/**
 * `berth export [-o FILE] CONTAINER`: the container's root filesystem as a tar — its
 * image's files with its changes (the merged overlay), not its volumes or binds, as
 * docker's. A running container is not paused: the tree is read without leaving it.
 */
export function registerExport(program: Command): void {
  program.command("export").argument("<container>", "name or id").description("write a container's filesystem as a tar archive")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (ref: string, opts: Opts) => {
      refuseTerminal(opts.output as string | undefined);
      const engine = await engineFor(opts);
      const r = engine.store.resolve(ref);
      const root = r.RootfsSource === "snapshot" ? snapshotTarget(engine, r.Id) : r.Rootfs;
      const unmount = mountForReader(engine, r);
      try {
        await writeArchive(archiveTree(root), opts.output as string | undefined);
      } finally {
        unmount();
      }
    });
}

/** `berth commit [-a -c -m -p] CONTAINER [REPOSITORY[:TAG]]`: docker's — prints the new image's id. */
export function registerCommit(program: Command): void {
  program.command("commit").argument("<container>", "name or id").argument("[reference]", "REPOSITORY[:TAG] to name the image")
    .description("make an image of a container's changes on top of its image")
    .option("-a, --author <author>", "the image's author (\"Name <email>\")")
    .option("-c, --change <instruction>", "a Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR", collect)
    .option("-m, --message <message>", "the commit message (the layer's history comment)")
    .option("-p, --pause", "freeze the container while its files are read (--pause=false: do not)", true)
    .action(async (ref: string, reference: string | undefined, opts: Opts) => {
      const engine = await engineFor(opts);
      const image = await commitContainer(engine, engine.store.resolve(ref), {
        reference, changes: (opts.change as string[] | undefined) ?? [], message: opts.message as string | undefined,
        author: opts.author as string | undefined, pause: opts.pause !== false,
      });
      writeOut(`${image.id}\n`);
    });
}
