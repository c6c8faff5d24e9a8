/**
 * docker's pull output: `TAG: Pulling from REPO`, a line per layer with its status
 * (`Pulling fs layer`, `Downloading [==>   ] 1.2MB/3.4MB`, `Pull complete`…), `Digest:`,
 * `Status:`, then the full reference. On a terminal the layer lines are redrawn in place
 * with a bar, the rate and the time left; otherwise each status change is one plain line
 * (logs stay readable); with -q only the reference is printed.
 */
import type { PullEvent } from "../../engine/image/pull.ts";
import { familiarString, parseReference } from "../../engine/image/reference.ts";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { writeOut } from "../stdio.ts";

interface LayerLine {
  status: string;
  current?: number;
  total?: number;
  started?: number;
}

const BAR = 50;

/** `[=====>     ]` for current/total, as docker's jsonmessage. */
export function progressBar(current: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR, Math.floor((current / total) * BAR)) : 0;
  return `[${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? ">" : ""}${" ".repeat(BAR - filled)}]`;
}

/** A layer's line: `ID: STATUS` with the bar, sizes, rate and time left while it downloads. */
export function layerLine(id: string, l: LayerLine, now: number): string {
  if (l.status !== "Downloading" || l.total === undefined || l.current === undefined) return `${id}: ${l.status}`;
  const elapsed = (now - (l.started ?? now)) / 1000;
  const rate = elapsed > 0 ? l.current / elapsed : 0;
  const eta = rate > 0 ? Math.ceil((l.total - l.current) / rate) : undefined;
  return `${id}: Downloading ${progressBar(l.current, l.total)} ${formatDecimalBytes(l.current)}/${formatDecimalBytes(l.total)}` +
    (rate > 0 ? ` ${formatDecimalBytes(rate)}/s${eta !== undefined ? ` ${eta}s` : ""}` : "");
}

export function pullReporter(mode: "terminal" | "plain" | "quiet"): (e: PullEvent) => void {
  const layers = new Map<string, LayerLine>();
  let drawn = 0;
  let lastDraw = 0;
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    let text = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const [id, l] of layers) text += `\x1b[2K${layerLine(id, l, now)}\n`;
    drawn = layers.size;
    writeOut(text);
  };
  return (e) => {
    if (e.kind === "start") {
      if (mode === "quiet") return;
      const r = parseReference(e.reference);
      writeOut(`${r.tag ?? r.digest}: Pulling from ${familiarString(`${r.domain}/${r.path}`)}\n`);
    } else if (e.kind === "layer") {
      if (mode === "quiet") return;
      const prev = layers.get(e.id);
      const changed = prev?.status !== e.status;
      const line: LayerLine = { status: e.status, current: e.current, total: e.total, started: e.status === "Downloading" ? (prev?.status === "Downloading" || prev?.status === "Retrying" ? prev.started : Date.now()) : prev?.started };
      layers.set(e.id, line);
      if (mode === "terminal") redraw(changed);
      else if (changed) writeOut(`${layerLine(e.id, { status: e.status }, 0)}\n`);
    } else {
      if (mode === "terminal") redraw(true);
      if (mode !== "quiet") {
        writeOut(`Digest: ${e.digest}\nStatus: ${e.upToDate ? "Image is up to date for" : "Downloaded newer image for"} ${familiarString(e.reference)}\n`);
      }
      writeOut(`${e.reference}\n`);
    }
  };
}
