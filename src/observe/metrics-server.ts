/**
 * The reader and HTTP side of `berth metrics`: each scrape re-discovers the host's
 * containers (so new ones appear and gone ones vanish, as with cAdvisor) and reads
 * their cgroups fresh; nothing is cached between scrapes.
 */
import { readText } from "../sys/libc.ts";
import { containerSubject } from "./discovery.ts";
import { hasOwnNetns } from "./diagnose-gather.ts";
import { scanHost } from "./host-scan.ts";
import { renderMetrics, type MetricsContainer } from "./metrics.ts";
import { parseNetDev } from "./netdev.ts";
import { cgroupOfSubject, secondsSinceStart } from "./stats-sample.ts";

/** The content type Prometheus asks for and cAdvisor answers with. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every running container's metrics, now. */
export function collectMetrics(opts: { root: string }): MetricsContainer[] {
  const out: MetricsContainer[] = [];
  for (const c of scanHost({ root: opts.root }).containers) {
    if (c.pids.length === 0) continue;
    try {
      const cg = cgroupOfSubject(containerSubject(c));
      let net;
      if (hasOwnNetns(c.pid)) {
        try {
          net = parseNetDev(readText(`/proc/${c.pid}/net/dev`));
        } catch {
          // the init exited between discovery and here
        }
      }
      const age = secondsSinceStart(c.pid);
      out.push({
        id: c.cgroup, name: c.name ?? c.id, runtime: c.runtime, stats: cg.stats(), processes: c.pids.length,
        ...(net && { net }), ...(age > 0 && { startTime: Math.round(Date.now() / 1000 - age) }),
      });
    } catch {
      // a container removed mid-scrape is simply not in this scrape
    }
  }
  return out;
}

/**
 * Serve /metrics on host:port (port 0: any free port); returns the server.
 *
 * @example const server = serveMetrics({ hostname: "127.0.0.1", port: 9338, root: "/run/berth" });
 */
export function serveMetrics(opts: { hostname: string; port: number; root: string }): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") return new Response(renderMetrics(collectMetrics({ root: opts.root })), { headers: { "content-type": METRICS_CONTENT_TYPE } });
      if (path === "/") return new Response('<html><body><a href="/metrics">/metrics</a></body></html>\n', { headers: { "content-type": "text/html" } });
      return new Response("not found: the metrics are at /metrics\n", { status: 404 });
    },
  });
}
