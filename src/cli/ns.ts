/**
 * `berth ns TARGET [--json]`: the namespaces of a container's process — each type's
 * inode, whether it is the host's, and which other containers are in it.
 */
import type { Command } from "./command.ts";
import { BerthError } from "../errors.ts";
import { BERTH_ROOT, resolveOnHost, scanHost } from "../observe/host-scan.ts";
import { currentEnginePaths } from "./berth/globals.ts";
import { formatNamespaces, hostNamespaces, namespaceRows } from "../observe/namespaces.ts";
import { readNamespaces } from "../runtime/process-namespaces.ts";
import { cgroupPathFromArg } from "./cgroup/target.ts";
import { writeOut } from "./stdio.ts";

export function registerNs(program: Command): void {
  program.command("ns").argument("<target>", "container id or name, PID or cgroup path")
    .description("show a container's namespaces: inode, the host's or its own, shared with which containers")
    .option("--json", "print the namespaces as JSON")
    .option("--root <dir>", "berth-runtime's state directory", BERTH_ROOT)
    .action((target: string, opts: { json?: boolean; root: string }) => {
      const host = scanHost({ root: opts.root, engine: currentEnginePaths() });
      const s = resolveOnHost(target, host, { cgroupPath: cgroupPathFromArg });
      if (s.pid <= 0) throw new BerthError(`${s.name} has no process, so no namespaces to show`, { field: "TARGET" });
      const own = readNamespaces(s.pid);
      if (Object.keys(own).length === 0) throw new BerthError(`process ${s.pid} is gone`, { field: "TARGET" });
      const others = host.containers
        .filter((c) => c.pid > 0 && !(s.container && c.runtime === s.container.runtime && c.id === s.container.id))
        .map((container) => ({ container, ns: readNamespaces(container.pid) }));
      const rows = namespaceRows(own, hostNamespaces(), others);
      if (opts.json) {
        const { kind, id, name, runtime, pid, cgroup } = s;
        writeOut(`${JSON.stringify({ kind, id, name, ...(runtime && { runtime }), pid, cgroup, namespaces: rows })}\n`);
      } else {
        writeOut(`${formatNamespaces(s, rows)}\n`);
      }
    });
}
