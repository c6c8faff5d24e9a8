/** `berth metrics --listen HOST:PORT`: a Prometheus endpoint with cAdvisor's names for every container on the host. */
import type { Command } from "./command.ts";
import { BerthError } from "../errors.ts";
import { BERTH_ROOT } from "../observe/host-scan.ts";
import { serveMetrics } from "../observe/metrics-server.ts";
import { writeOut } from "./stdio.ts";

/** HOST:PORT, [V6]:PORT or :PORT → the parts; port 0 picks a free one. */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new BerthError(`invalid address ${JSON.stringify(text)}; use HOST:PORT, e.g. 127.0.0.1:9338`, { field: "--listen" });
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export function registerMetrics(program: Command): void {
  program.command("metrics")
    .description("serve every container's cgroup metrics at /metrics in the Prometheus text format, with cAdvisor's names and labels")
    .option("--listen <host:port>", "where to listen (port 0: any free port, printed on start)", "127.0.0.1:9338")
    .option("--root <dir>", "berth-runtime's state directory", BERTH_ROOT)
    .action(async (opts: { listen: string; root: string }) => {
      const { hostname, port } = parseListen(opts.listen);
      let server;
      try {
        server = serveMetrics({ hostname, port, root: opts.root });
      } catch (err) {
        throw new BerthError(`cannot listen on ${opts.listen}: ${(err as Error).message}`, { field: "--listen", cause: err });
      }
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      writeOut(`serving http://${host}:${server.port}/metrics\n`);
      // serve until a signal ends the process
      await new Promise(() => {});
    });
}
