/**
 * `ps`: the host PIDs in the container's cgroup (containerd's task pids), and runc's
 * table mode: ps(1) run on the host with the caller's options, keeping the header and
 * the rows whose PID column names a process of the container (go-runc's Top parses it).
 */
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { BerthError } from "../errors.ts";
import { runProgram } from "../sys/program.ts";
import { notExist, readState, type Target } from "./state.ts";

/** Every process in the container's cgroup and below it, as host PIDs; empty once it is gone. */
export function containerPids(t: Target): number[] {
  const s = readState(t.root, t.id);
  if (!s) throw notExist(t.id);
  return openCgroup(s.cgroupsPath, { systemd: s.systemdCgroup }).pids();
}

/**
 * Keep ps(1)'s header and the rows whose PID is one of `pids`. The PID column is found
 * by name in the header, as runc does, so any ps options that print it work.
 *
 * @example filterPsTable("  PID CMD\n    1 init\n  42 sh\n", [42]) // → "  PID CMD\n  42 sh\n"
 */
export function filterPsTable(output: string, pids: number[]): string {
  const lines = output.split("\n");
  const header = lines[0] ?? "";
  const column = header.trim().split(/\s+/).indexOf("PID");
  if (column < 0) throw new BerthError("couldn't find PID field in ps output; pass ps options that print a PID column (e.g. -ef or -o pid,comm)", { field: "ps" });
  const wanted = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const field = line.trim().split(/\s+/)[column];
    if (field === undefined || !/^\d+$/.test(field)) throw new BerthError(`unable to parse pid ${JSON.stringify(field ?? "")} in ps output line ${JSON.stringify(line)}`, { field: "ps" });
    if (wanted.has(Number(field))) out.push(line);
  }
  return out.join("\n") + "\n";
}

/** Run ps(1) on the host with `args` (runc's default: -ef) and return what it printed. */
export function runPs(args: string[]): string {
  const argv = ["ps", ...(args.length > 0 ? args : ["-ef"])];
  let p;
  try {
    p = runProgram(argv);
  } catch (err) {
    throw new BerthError(`cannot run ps: ${(err as Error).message}; install procps`, { field: "ps" });
  }
  const out = p.stdout;
  if (p.code !== 0) {
    const why = (p.stderr + out).trim().split("\n")[0] ?? "";
    throw new BerthError(`${argv.join(" ")} failed (exit ${p.code}): ${why}`, { field: "ps" });
  }
  return out;
}
