/**
 * `berth system df` (docker's table: images, containers, local volumes, build cache;
 * sizes, and what removing the unused would reclaim) and `berth system prune` (stopped
 * containers, then with -a unused images, with --volumes unused anonymous volumes).
 */
import type { Command } from "../command.ts";
import { writeOut } from "../stdio.ts";
import { alignColumns } from "../../observe/template.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { liveStatus, removeContainer } from "../../engine/container/lifecycle.ts";
import { ImageStore } from "../../engine/image/image-store.ts";
import { ContainerSizes } from "../../engine/container/disk-usage.ts";
import { treeSize } from "../../sys/tree-size.ts";
import { engineFor } from "./run-options.ts";

type Opts = Record<string, unknown>;

const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : "");

export function registerSystem(program: Command): void {
  const s = program.command("system").description("the engine's disk use and clean-up");
  s.command("df").description("disk used by images, containers and volumes").option("--format <format>", "json (one object per line) or table")
    .action((opts: Opts) => {
      const engine = engineFor(opts);
      const images = new ImageStore(engine.paths);
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
      if (opts.format === "json") {
        writeOut(table.map(([Type, TotalCount, Active, Size, Reclaimable]) => `${JSON.stringify({ Active: String(Active), Reclaimable: `${formatDecimalBytes(Reclaimable)}${pct(Reclaimable, Size)}`, Size: formatDecimalBytes(Size), TotalCount: String(TotalCount), Type })}\n`).join(""));
        return;
      }
      writeOut(`${alignColumns(["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE", ...table.map(([t, n, a, size, rec]) => `${t}\t${n}\t${a}\t${formatDecimalBytes(size)}\t${formatDecimalBytes(rec)}${pct(rec, size)}`)])}\n`);
    });
  s.command("prune").description("remove stopped containers (-a: and unused images; --volumes: and unused anonymous volumes)")
    .option("-a, --all", "unused images too, not only dangling ones").option("--volumes", "unused anonymous volumes too").option("-f, --force", "do not ask (berth never asks)")
    .action((opts: Opts) => {
      const engine = engineFor(opts);
      const removed: string[] = [];
      for (const r of engine.store.list()) {
        const st = liveStatus(engine, r).status;
        if (st === "running" || st === "paused" || st === "restarting") continue;
        removeContainer(engine, r.Id);
        removed.push(r.Id);
      }
      if (removed.length) writeOut(`Deleted Containers:\n${removed.map((id) => `${id}\n`).join("")}\n`);
      if (opts.volumes) {
        const used = new Set(engine.store.list().flatMap((r) => r.Volumes.map((v) => v.name)));
        const gone = engine.volumes.list().filter((v) => v.Anonymous && !used.has(v.Name));
        for (const v of gone) engine.volumes.remove(v.Name, { force: true });
        if (gone.length) writeOut(`Deleted Volumes:\n${gone.map((v) => `${v.Name}\n`).join("")}\n`);
      }
      const images = new ImageStore(engine.paths);
      const inUse = images.containersByImage();
      const lines: string[] = [];
      for (const img of images.list()) {
        if ((inUse.get(img.id) ?? []).length > 0) continue;
        if (!opts.all && img.names.length > 0) continue;
        lines.push(...images.removeImage(img.id));
      }
      images.collectGarbage();
      if (lines.length) writeOut(`Deleted Images:\n${lines.map((l) => `${l}\n`).join("")}\n`);
    });
}
