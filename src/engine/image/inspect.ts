/**
 * `image inspect` and `image history` data in docker's shapes (docker's
 * api/types/image.InspectResponse and HistoryResponseItem): what scripts parse. Pure
 * over a record and its config; paths of the layers' directories are passed in.
 */
import type { HistoryEntry, ImageConfig } from "../../spec/image-spec.ts";
import type { ImageRecord } from "./index-store.ts";
import { familiarString } from "./reference.ts";

export interface GraphDriverDirs {
  /** the layers' fs dirs, top first */
  lowerDirs: string[];
}

/** docker's container-config defaults an image's Config shows (fields docker always prints). */
function dockerConfig(config: ImageConfig): Record<string, unknown> {
  const c = config.config ?? {};
  return {
    Hostname: "", Domainname: "", User: c.User ?? "", AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ...(c.ExposedPorts && { ExposedPorts: c.ExposedPorts }),
    Tty: false, OpenStdin: false, StdinOnce: false,
    Env: c.Env ?? null, Cmd: c.Cmd ?? null, ...(c.Healthcheck !== undefined && { Healthcheck: c.Healthcheck }),
    Image: "", Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? "", Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? null, ...(c.StopSignal && { StopSignal: c.StopSignal }), ...(c.Shell && { Shell: c.Shell }),
  };
}

export function inspectImage(image: ImageRecord, config: ImageConfig, size: number, dirs: GraphDriverDirs): Record<string, unknown> {
  return {
    Id: image.id,
    RepoTags: image.names.map(familiarString),
    RepoDigests: image.repoDigests.map(familiarString),
    Parent: "",
    Comment: config.comment ?? config.history?.at(-1)?.comment ?? "",
    Created: config.created ?? "",
    DockerVersion: config.docker_version ?? "",
    Author: config.author ?? "",
    Config: dockerConfig(config),
    Architecture: config.architecture,
    ...(config.variant && { Variant: config.variant }),
    Os: config.os,
    Size: size,
    GraphDriver: { Data: dirs.lowerDirs.length ? { LowerDir: dirs.lowerDirs.join(":") } : null, Name: "overlay" },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: image.stored },
    Descriptor: { mediaType: image.manifestMediaType, digest: image.manifest },
  };
}

export interface HistoryRow {
  id: string;
  created: string;
  createdBy: string;
  size: number;
  comment: string;
}

/** The history newest first, each entry with the size of the layer it made (0 for an empty_layer one); the top row carries the image id, the rest `<missing>`, as docker's. */
export function imageHistory(image: ImageRecord, config: ImageConfig): HistoryRow[] {
  const history: HistoryEntry[] = config.history ?? image.layers.map(() => ({}));
  let layer = 0;
  const rows = history.map((h) => {
    const size = h.empty_layer ? 0 : image.layers[layer++]?.unpackedSize ?? 0;
    return { id: "<missing>", created: h.created ?? "", createdBy: h.created_by ?? "", size, comment: h.comment ?? "" };
  }).reverse();
  if (rows[0]) rows[0].id = image.id;
  return rows;
}
