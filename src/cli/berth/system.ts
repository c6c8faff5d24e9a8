/**
 * `berth system df` (docker's table: images, containers, local volumes, build cache;
 * sizes, and what removing the unused would reclaim) and `berth system prune` (docker's:
 * stopped containers, unused networks, with --volumes unused anonymous volumes, dangling
 * images or with -a every unused one — each by the prune its own command runs).
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { writeOut } from "../stdio.ts";
import { registerInfo } from "./info.ts";
import { pruneContainers, pruneImages, pruneNetworks, pruneVolumes } from "../../engine/prune.ts";
import { alignColumns, parseTemplate } from "../../observe/template.ts";
import { quoteInput } from "../../key-value.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { liveStatus } from "../../engine/container/live-status.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { ContainerSizes } from "../../engine/container/disk-usage.ts";
import { treeSize } from "../../sys/tree-size.ts";
import { engineFor } from "./engine-open.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { confirmPrune, formatPruneReport, parsePruneFilters, psRow } from "../../engine/container/views.ts";
import { familiarRepository, parseReference, repositoryName } from "../../engine/image/reference.ts";
import { humanDuration } from "../../human-duration.ts";

type Opts = Record<string, unknown>;

const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : "");

/**
 * docker's `system df -v`: images with the size they share with other images (layers
 * in more than one) and their own, containers with what they wrote, volumes with the
 * containers that use them.
 */
function verboseDf(engine: Engine, images: ImageStore): string {
  const imageList = images.list();
  const users = images.containersByImage();
  const layerUsers = new Map<string, number>();
  for (const i of imageList) for (const c of new Set(i.chainIds)) layerUsers.set(c, (layerUsers.get(c) ?? 0) + 1);
  const now = Date.now();
  const imageRows = imageList.map((i) => {
    const shared = i.layers.reduce((n, l, k) => n + ((layerUsers.get(i.chainIds[k]!) ?? 0) > 1 ? (l.unpackedSize ?? l.size) : 0), 0);
    const size = images.unpackedSize(i);
    const name = i.names[0] ? parseReference(i.names[0]) : undefined;
    const created = images.config(i).created;
    return [name ? familiarRepository(repositoryName(name)) : "<none>", name?.tag ?? "<none>", i.id.slice(7, 19), created ? `${humanDuration(now - Date.parse(created))} ago` : "N/A",
      formatDecimalBytes(size), formatDecimalBytes(shared), formatDecimalBytes(size - shared), String((users.get(i.id) ?? []).length)].join("\t");
  });
  const sizes = new ContainerSizes(engine);
  const records = engine.store.list().sort((a, b) => b.Created.localeCompare(a.Created));
  const containerRows = records.map((r) => {
    const row = psRow(r, liveStatus(engine, r), now, false);
    return [row.ID, row.Image, row.Command, String(r.Volumes.length), formatDecimalBytes(sizes.rw(r)), row.RunningFor, row.Status, row.Names].join("\t");
  });
  const links = (name: string) => records.filter((r) => r.Volumes.some((v) => v.name === name)).length;
  const volumeRows = engine.volumes.list().map((v) => [v.Name, String(links(v.Name)), formatDecimalBytes(treeSize(v.Mountpoint))].join("\t"));
  return [
    "Images space usage:\n", `${alignColumns(["REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS", ...imageRows])}\n`,
    "Containers space usage:\n", `${alignColumns(["CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES", ...containerRows])}\n`,
    "Local Volumes space usage:\n", `${alignColumns(["VOLUME NAME\tLINKS\tSIZE", ...volumeRows])}\n`,
    "Build cache usage: 0B\n", "CACHE ID   CACHE TYPE   SIZE   CREATED   LAST USED   USAGE   SHARED\n",
  ].join("\n");
}

/** `system df --format` fields, as docker names them and heads their columns */
const DF_HEADINGS: Record<string, string> = { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" };
const DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

export function registerSystem(program: Command): void {
  const s = program.command("system").description("the engine's disk use and clean-up");
  s.command("df").description("disk used by images, containers and volumes").option("--format <format>", "table, json (one object per line), or a Go template such as '{{.Type}} {{.Size}}'")
    .option("-v, --verbose", "a table per kind: each image (shared and unique size), container and volume")
    .action(async (opts: Opts) => {
      const format = (opts.format as string | undefined) || "table";
      if (opts.verbose && format !== "table") throw new BerthError(`-v prints docker's three tables only; leave out --format ${quoteInput(format)} or -v`, { field: "--format" });
      const template = format === "json" ? undefined : parseTemplate(format === "table" ? DF_TABLE : format, Object.keys(DF_HEADINGS));
      const engine = await engineFor(opts);
      const images = new ImageStore(engine.paths);
      if (opts.verbose) {
        writeOut(verboseDf(engine, images));
        return;
      }
      const containers = engine.store.list();
      const inUse = images.containersByImage();
      const imageList = images.list();
      const imageSize = (id: string) => images.unpackedSize(imageList.find((i) => i.id === id)!);
      const imagesTotal = imageList.reduce((n, i) => n + images.unpackedSize(i), 0);
      const activeImages = imageList.filter((i) => (inUse.get(i.id) ?? []).length > 0);
      const sizes = new ContainerSizes(engine);
      const rows = containers.map((r) => ({ running: ["running", "paused"].includes(liveStatus(engine, r).status), size: sizes.rw(r) }));
      const ctrTotal = rows.reduce((n, r) => n + r.size, 0);
      const ctrReclaim = rows.filter((r) => !r.running).reduce((n, r) => n + r.size, 0);
      const used = new Set(containers.flatMap((r) => r.Volumes.map((v) => v.name)));
      const vols = engine.volumes.list().map((v) => ({ name: v.Name, size: treeSize(v.Mountpoint), used: used.has(v.Name) }));
      const volTotal = vols.reduce((n, v) => n + v.size, 0);
      const volReclaim = vols.filter((v) => !v.used).reduce((n, v) => n + v.size, 0);
      const imgReclaim = imagesTotal - activeImages.reduce((n, i) => n + imageSize(i.id), 0);
      const table = [
        ["Images", imageList.length, activeImages.length, imagesTotal, imgReclaim],
        ["Containers", containers.length, rows.filter((r) => r.running).length, ctrTotal, ctrReclaim],
        ["Local Volumes", vols.length, vols.filter((v) => v.used).length, volTotal, volReclaim],
        ["Build Cache", 0, 0, 0, 0],
      ] as const;
      const rowsOut = table.map(([Type, TotalCount, Active, Size, Reclaimable]) => ({ Active: String(Active), Reclaimable: `${formatDecimalBytes(Reclaimable)}${pct(Reclaimable, Size)}`, Size: formatDecimalBytes(Size), TotalCount: String(TotalCount), Type }));
      if (!template) writeOut(rowsOut.map((r) => `${JSON.stringify(r)}\n`).join(""));
      else if (template.table) writeOut(`${alignColumns([template.header(DF_HEADINGS), ...rowsOut.map((r) => template.render(r, r))])}\n`);
      else writeOut(rowsOut.map((r) => `${template.render(r, r)}\n`).join(""));
    });
  registerInfo(s);
  s.command("prune").description("remove stopped containers, unused networks and dangling images (-a: every unused image; --volumes: unused anonymous volumes)")
    .option("-a, --all", "unused images too, not only dangling ones").option("--volumes", "unused anonymous volumes too").option("-f, --force", "remove without asking (needed: berth does not prompt)")
    .option("--filter <k=v>", "until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action(async (opts: Opts) => {
      const engine = await engineFor(opts);
      const filter = parsePruneFilters((opts.filter as string[] | undefined) ?? [], Date.now());
      if (opts.volumes && filter.untilMs !== undefined) throw new BerthError(`the until filter cannot be used with --volumes (volumes keep no creation filter); leave out one of them`, { field: "--filter" });
      confirmPrune(opts.force, ["all stopped containers", "all networks not used by at least one container", ...(opts.volumes ? ["all anonymous volumes not used by at least one container"] : []), opts.all ? "all images without at least one container associated to them" : "all dangling images"]);
      // docker's order: containers first, so that what they held becomes unused
      const containers = pruneContainers(engine, filter);
      const networks = pruneNetworks(engine, filter);
      const volumes = opts.volumes ? pruneVolumes(engine, false, filter) : { removed: [], reclaimed: 0 };
      const images = pruneImages(new ImageStore(engine.paths), opts.all === true, filter);
      writeOut(formatPruneReport(
        [["Containers", containers.removed], ["Networks", networks], ["Volumes", volumes.removed], ["Images", images.lines]],
        formatDecimalBytes(containers.reclaimed + volumes.reclaimed + images.reclaimed),
      ));
    });
}
