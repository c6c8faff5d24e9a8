/**
 * `berth commit`: a new image from a container — its image's layers plus one layer of
 * what the container changed (its overlay upper directory, whiteouts in the OCI form, as
 * docker's overlay2 driver writes a diff), and its image's config with the container's
 * own command, environment, working directory, user, labels and stop signal, then the
 * `--change` instructions (docker's `commit` merges the same way).
 */
import { BerthError } from "../../errors.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";
import { applyChanges } from "../image/change.ts";
import { ImageStore, type ImageRecord } from "../image/image-store.ts";
import { addLayerImage } from "../image/import.ts";
import { openContainerLayers } from "./changes.ts";
import type { Engine } from "./engine.ts";
import { runtimeOf } from "./oci-runtime.ts";
import { liveStatus } from "./live-status.ts";
import { monitorFiles } from "./monitor-files.ts";
import type { ContainerRecord } from "./records.ts";
import { archiveTree } from "./tree-archive.ts";
import { recordContainerEvent } from "../event-journal.ts";

export interface CommitOptions {
  reference?: string;
  changes: string[];
  message?: string;
  author?: string;
  /** freeze a running container while its files are read (docker's default) */
  pause: boolean;
}

/**
 * Whether `entry` of the container's environment is one the engine adds when it starts a
 * container — HOSTNAME, and TERM=xterm with -t (docker's CreateDaemonEnvironment, applied
 * to the spec, never to the container's Config.Env, which commit takes) — rather than the
 * image's or the user's.
 */
function runtimeDefault(r: ContainerRecord, image: ImageProcessConfig, entry: string): boolean {
  if (entry !== `HOSTNAME=${r.Hostname}` && !(r.Flags.tty === true && entry === "TERM=xterm")) return false;
  const name = entry.slice(0, entry.indexOf("="));
  const named = (e: string) => e === name || e.startsWith(`${name}=`);
  // an --env-file's are not known any more: one that set it keeps it only through the image or -e
  return !(image.Env ?? []).some(named) && !(r.Flags.env ?? []).some(named);
}

/** The container's config as the new image's: what it ran with over what its image had (pure). */
export function committedConfig(r: ContainerRecord, image: ImageProcessConfig): ImageProcessConfig {
  const f = r.Flags;
  const entrypoint = f.entrypoint !== undefined ? (f.entrypoint === "" ? undefined : [f.entrypoint]) : image.Entrypoint;
  const cmd = f.args?.length ? f.args : f.entrypoint !== undefined ? undefined : image.Cmd;
  const out: ImageProcessConfig = { ...image };
  delete out.Entrypoint;
  delete out.Cmd;
  return {
    ...out,
    ...(entrypoint && { Entrypoint: entrypoint }),
    ...(cmd && { Cmd: cmd }),
    Env: r.Env.filter((e) => !runtimeDefault(r, image, e)),
    ...(r.WorkingDir !== "/" && { WorkingDir: r.WorkingDir }),
    ...(r.User && { User: r.User }),
    ...(Object.keys(r.Labels).length > 0 && { Labels: r.Labels }),
    ...(r.StopSignal && r.StopSignal !== "SIGTERM" && { StopSignal: r.StopSignal }),
  };
}

export async function commitContainer(engine: Engine, r: ContainerRecord, opts: CommitOptions): Promise<ImageRecord> {
  const images = new ImageStore(engine.paths);
  // a --rootfs container has no layers: refused here, by name
  const layers = openContainerLayers(engine, r);
  const base = images.find(r.ImageID);
  if (!base) {
    layers.close();
    throw new BerthError(`the image of container ${r.Name} (${r.ImageID}) is no longer here (removed with rmi -f); nothing to commit on top of`, { field: "CONTAINER" });
  }
  let processConfig: ImageProcessConfig;
  try {
    processConfig = applyChanges(committedConfig(r, images.config(base).config ?? {}), opts.changes);
  } catch (err) {
    layers.close();
    throw err;
  }
  const runtime = runtimeOf(engine, r);
  const logFile = monitorFiles(engine.store.runDir(r.Id)).runtimeLog;
  const freeze = opts.pause && liveStatus(engine, r).status === "running";
  try {
    if (freeze) {
      runtime.check(["pause", r.Id], logFile);
      recordContainerEvent(engine.paths, r, "pause");
    }
    // the runtime's mount points (an /etc/hostname the image lacks) are not the container's files
    const exclude = (rel: string) => layers.placeholders.has(`/${rel}`) && !layers.inLower(`/${rel}`);
    const image = await addLayerImage(images, archiveTree(layers.upper, { overlayWhiteouts: true, exclude }), {
      base, reference: opts.reference, processConfig, source: `commit of ${r.Name}`,
      history: { created_by: [r.Path, ...r.Args].join(" "), ...(opts.message && { comment: opts.message }), ...(opts.author && { author: opts.author }) },
      author: opts.author, comment: opts.message,
    });
    // docker's commit event (moby's CreateImageFromContainer: comment, imageID, imageRef)
    recordContainerEvent(engine.paths, r, "commit", { comment: opts.message ?? "", imageID: image.id, imageRef: opts.reference ?? "" });
    return image;
  } finally {
    layers.close();
    if (freeze) {
      runtime.check(["resume", r.Id], logFile);
      recordContainerEvent(engine.paths, r, "unpause");
    }
  }
}
