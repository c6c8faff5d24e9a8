/** `create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID` */
import { BerthError } from "../../errors.ts";
import { createContainer } from "../../runtime/create.ts";
import { close, writeAll } from "../../sys/libc.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";

export const CREATE_OPTIONS = {
  bundle: { type: "string", short: "b" },
  "pid-file": { type: "string" },
  "console-socket": { type: "string" },
  "pidfd-socket": { type: "string" },
  "no-pivot": { type: "boolean" },
  "no-new-keyring": { type: "boolean" },
  "preserve-fds": { type: "string" },
} as const;

export function preserveFds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw)) throw new BerthError(`${JSON.stringify(raw)} is not a count; use a whole number`, { field: "--preserve-fds" });
  return Number(raw);
}

export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, CREATE_OPTIONS);
  const id = idArg(positionals, "create [flags] ID");
  const created = createdFd();
  await createContainer({
    root: g.root, id, bundle: v.bundle, pidFile: v["pid-file"], noPivot: v["no-pivot"], noNewKeyring: v["no-new-keyring"],
    preserveFds: preserveFds(v["preserve-fds"]), systemdCgroup: g.systemdCgroup, consoleSocket: v["console-socket"], warn: log.warn, trace: log.trace,
  });
  if (created !== undefined) tellCreated(created);
  return 0;
}

/**
 * berth-monitor's created pipe (native/berth-monitor/PROTOCOL.md), when it asked
 * ($BERTH_CREATED_FD): taken out of the environment, which hooks and helpers this
 * process starts do not get.
 */
function createdFd(): number | undefined {
  const raw = process.env.BERTH_CREATED_FD;
  delete process.env.BERTH_CREATED_FD;
  return raw !== undefined && /^\d+$/.test(raw) && Number(raw) >= 3 ? Number(raw) : undefined;
}

/**
 * One byte on the created pipe once the container is created and the pid file written,
 * so that the monitor reports the pid without waiting out this process's exit — Bun's
 * teardown, ≈1 ms of every `run`. An fd that is not there is no one to tell.
 */
function tellCreated(fd: number): void {
  try {
    writeAll(fd, "1");
    close(fd);
  } catch {
    // the monitor went away, or the fd was never given: its wait for this process's exit tells it
  }
}
