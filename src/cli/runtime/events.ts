/**
 * `events [--stats] [--interval 5s] ID`: the container's cgroup statistics as runc's
 * JSON events, one per line — once with --stats, else every interval until the
 * container stops, with an `oom` event whenever the OOM killer strikes in it.
 */
import { BerthError } from "../../errors.ts";
import { eventLine, openRunning, readRuncStats, streamEvents } from "../../runtime/events.ts";
import { parseGoDuration } from "../../go-duration.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";
import { writeOut } from "../stdio.ts";

export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, { stats: { type: "boolean" }, interval: { type: "string" } });
  const target = { root: g.root, id: idArg(positionals, "events [--stats] [--interval 5s] ID") };
  const intervalMs = parseGoDuration(v.interval ?? "5s", "--interval");
  // runc's wording
  if (intervalMs <= 0) throw new BerthError("duration interval must be greater than 0", { field: "--interval" });
  try {
    if (v.stats) {
      const { cg } = openRunning(target);
      writeOut(eventLine("stats", target.id, readRuncStats(cg)));
      return 0;
    }
    await streamEvents(target, {
      intervalMs,
      write: writeOut,
      onError: (err) => log.error(`reading stats: ${(err as Error).message}`),
    });
  } catch (err) {
    // whoever read the stream has gone: nothing is left to report to
    if ((err as { code?: string }).code === "EPIPE") return 0;
    throw err;
  }
  return 0;
}
