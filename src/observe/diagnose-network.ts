/**
 * The network runbook of `berth diagnose` (the seed's "from the workload namespace, check
 * ip addr, ip route, /etc/resolv.conf and DNS resolution … compare route and firewall
 * behavior"): what the host's own tools say when run inside the container's network
 * namespace — its links, its routes, its iptables rules with their counters — and
 * whether each nameserver of its resolv.conf answers a query sent from there. Said as
 * one of: an interface down, no route out, packets dropped by a rule, DNS unreachable;
 * each with the evidence and the fix. Pure: the script, its output's parser, the findings.
 */
/** How a nameserver took a query sent from the container's namespace. */
export type DnsProbeResult = "answered" | "refused" | "timeout" | "no-route" | "blocked";

export interface NetnsEvidence {
  pid: number;
  /** the container's interfaces other than lo */
  links: { name: string; up: boolean; operstate: string }[];
  /** its main routing table, IPv4 */
  routes: { dst: string; dev?: string; gateway?: string }[];
  /** DROP/REJECT rules and DROP policies of its iptables with the packets they took (undefined: iptables-save missing) */
  firewall?: { table: string; chain: string; rule: string; packets: number }[];
  /** the container's /etc/resolv.conf as seen from the host */
  resolvConf: { file: string; nameservers: string[] };
  dns: { server: string; result: DnsProbeResult }[];
  /** the engine's network is --internal (no gateway, by design) */
  internal?: string[];
  /** the gateway the engine gave it (berth's own containers) */
  gateway?: string;
}

/** A finding of this runbook (diagnose.ts's Finding, which imports this file). */
export interface NetworkFinding {
  kind: "link-down" | "no-route" | "packet-drops" | "dns-unreachable";
  severity: "fail" | "warn";
  summary: string;
  evidence: string[];
  fix: string[];
  data?: Record<string, unknown>;
}

/** How long a nameserver has to answer (a resolver's own first timeout is 5 s; 2 s tells "none" from "slow" well enough). */
export const DNS_PROBE_SECONDS = 2;

/**
 * The bash script run in the namespace, each section after a `@@name` line: `ip -j link`,
 * `ip -j -4 route`, one DNS query per nameserver (its arguments), all at once, then
 * `iptables-save -c` (after the queries: a rule that drops them has counted them). A query: bash's /dev/udp, a root NS query (any server answers it, if only to refuse),
 * and the first byte of an answer awaited for DNS_PROBE_SECONDS. `send` failing with
 * EPERM is netfilter dropping it on the way out; reading ECONNREFUSED is the ICMP port
 * unreachable of a host where nothing listens on 53.
 */
export const NETNS_SCRIPT = `
echo @@links; ip -j link show 2>/dev/null
echo @@routes; ip -j -4 route show table main 2>/dev/null
echo @@dns
probe() {
  if ! ip route get "$1" >/dev/null 2>&1; then echo "$1 no-route"; return; fi
  exec 3<>"/dev/udp/$1/53" || { echo "$1 no-route"; return; }
  printf '\\022\\064\\001\\000\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000\\002\\000\\001' >&3 || { echo "$1 blocked"; return; }
  IFS= read -r -N 1 -t ${DNS_PROBE_SECONDS} _ <&3
  case $? in 0) echo "$1 answered" ;; 1) echo "$1 refused" ;; *) echo "$1 timeout" ;; esac
}
for ns in "$@"; do probe "$ns" 2>/dev/null & done
wait
echo @@iptables; iptables-save -c 2>/dev/null
`;

/** resolv.conf's nameservers (at most three count, as glibc's resolver). Pure. */
export function resolvNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+([0-9A-Fa-f.:]+)\s*$/.exec(line);
    if (m && out.length < 3) out.push(m[1]!);
  }
  return out;
}

function sections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name = "";
  for (const line of text.split("\n")) {
    const m = /^@@(\w+)$/.exec(line);
    if (m) {
      name = m[1]!;
      out[name] = "";
    } else if (name) out[name] += `${line}\n`;
  }
  return out;
}

function json<T>(text: string | undefined): T[] {
  try {
    return text?.trim() ? (JSON.parse(text) as T[]) : [];
  } catch {
    return [];
  }
}

/**
 * `iptables-save -c`: the rules that drop (`-j DROP`, `-j REJECT`) and the built-in chains
 * whose policy is DROP, each with its packet counter. Pure.
 *
 * @example parseIptablesDrops("*filter\n:OUTPUT ACCEPT [0:0]\n[3:180] -A OUTPUT -j DROP\nCOMMIT\n")
 * // → [{ table: "filter", chain: "OUTPUT", rule: "-A OUTPUT -j DROP", packets: 3 }]
 */
export function parseIptablesDrops(text: string): NonNullable<NetnsEvidence["firewall"]> {
  const out: NonNullable<NetnsEvidence["firewall"]> = [];
  let table = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1).trim();
    const policy = /^:(\S+) DROP \[(\d+):\d+\]/.exec(line);
    if (policy) out.push({ table, chain: policy[1]!, rule: `-P ${policy[1]} DROP`, packets: Number(policy[2]) });
    const rule = /^\[(\d+):\d+\] (-A (\S+) .*-j (?:DROP|REJECT)\b.*)$/.exec(line);
    if (rule) out.push({ table, chain: rule[3]!, rule: rule[2]!, packets: Number(rule[1]) });
  }
  return out;
}

/** The script's output → the evidence (the nameservers and resolv.conf come from the host's side). Pure. */
export function parseNetnsOutput(pid: number, stdout: string, resolv: NetnsEvidence["resolvConf"]): NetnsEvidence {
  const s = sections(stdout);
  const links = json<{ ifname?: string; flags?: string[]; operstate?: string }>(s.links)
    .filter((l) => l.ifname && l.ifname !== "lo")
    .map((l) => ({ name: l.ifname!, up: (l.flags ?? []).includes("UP"), operstate: l.operstate ?? "UNKNOWN" }));
  const routes = json<{ dst?: string; dev?: string; gateway?: string }>(s.routes).map((r) => ({ dst: r.dst ?? "", ...(r.dev && { dev: r.dev }), ...(r.gateway && { gateway: r.gateway }) }));
  const dns: NetnsEvidence["dns"] = [];
  for (const line of (s.dns ?? "").split("\n")) {
    const [server, result] = line.trim().split(" ");
    if (server && resolv.nameservers.includes(server) && ["answered", "refused", "timeout", "no-route", "blocked"].includes(result ?? "")) dns.push({ server, result: result as DnsProbeResult });
  }
  // the order of resolv.conf, not of the probes' finishing
  dns.sort((a, b) => resolv.nameservers.indexOf(a.server) - resolv.nameservers.indexOf(b.server));
  return { pid, links, routes, ...(s.iptables?.trim() && { firewall: parseIptablesDrops(s.iptables) }), resolvConf: resolv, dns };
}

const DNS_WHY: Record<DnsProbeResult, string> = {
  answered: "answered",
  refused: "refused: nothing listens on port 53 there (ICMP port unreachable)",
  timeout: `no answer in ${DNS_PROBE_SECONDS}s`,
  "no-route": "no route to it",
  blocked: "the send was refused by a firewall rule in its namespace",
};

/**
 * The network findings, the cause first: an interface down (its routes go with it), no
 * route out, packets dropped by a rule, then DNS (often a consequence of the others).
 * `enter` is how the reader runs a command in the namespace (`berth enter -n NAME --`).
 */
export function networkFindings(n: NetnsEvidence, enter: string): NetworkFinding[] {
  const out: NetworkFinding[] = [];
  // only lo (--network none): no network, by design, so nothing can be missing from it
  if (n.links.length === 0) return out;
  const routeLines = n.routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`);
  const routesEvidence = `ip route (in its namespace): ${routeLines.length ? routeLines.join("; ") : "none"}`;
  const down = n.links.filter((l) => !l.up);
  if (down.length > 0) {
    out.push({
      kind: "link-down", severity: "fail",
      summary: `${down.map((l) => l.name).join(", ")} ${down.length === 1 ? "is" : "are"} down in its network namespace: nothing goes in or out there (the kernel took ${down.length === 1 ? "its" : "their"} routes with ${down.length === 1 ? "it" : "them"})`,
      evidence: [...down.map((l) => `ip link (in its namespace): ${l.name} state ${l.operstate}, flags without UP`), routesEvidence],
      fix: [`bring it up and give back its routes: ${enter} ip link set ${down[0]!.name} up (then ip route add default via ${n.gateway || "the gateway"}), or restart the container: the engine sets the network up at start`],
      data: { links: down.map((l) => l.name) },
    });
  }
  const defaultRoute = n.routes.find((r) => r.dst === "default" || r.dst === "0.0.0.0/0");
  if (!defaultRoute && down.length === 0) {
    const internal = n.internal?.length ? n.internal : undefined;
    out.push({
      kind: "no-route", severity: "fail",
      summary: internal
        ? `no route out: its network ${internal.join(", ")} is --internal (no gateway, by design): it reaches only the containers on it`
        : "no route out: its network namespace has no default route, so only its own subnets are reachable",
      evidence: [routesEvidence],
      fix: internal
        ? ["to reach outside, connect it to a network that is not internal: berth network connect NETWORK CONTAINER"]
        : [`add the route back (${enter} ip route add default via ${n.gateway || "GATEWAY"}), or restart the container: the engine's CNI set-up gives it one`],
      data: { routes: routeLines, ...(internal && { internal }) },
    });
  }
  const dropping = (n.firewall ?? []).filter((r) => r.packets > 0);
  if (dropping.length > 0) {
    const total = dropping.reduce((a, r) => a + r.packets, 0);
    out.push({
      kind: "packet-drops", severity: "fail",
      summary: `packets dropped by its own firewall: ${total} by ${dropping.map((r) => `\`${r.rule}\` (${r.table})`).join(", ")}`,
      evidence: dropping.map((r) => `iptables-save -c (in its namespace): [${r.packets} packets] ${r.rule} in table ${r.table}`),
      fix: dropping.map((r) => r.rule.startsWith("-P ")
        ? `accept by default again: ${enter} iptables -t ${r.table} -P ${r.chain} ACCEPT`
        : `remove the rule if it is not meant: ${enter} iptables -t ${r.table} ${r.rule.replace(/^-A /, "-D ")}`),
      data: { rules: dropping },
    });
  }
  const failing = n.dns.filter((d) => d.result !== "answered");
  if (n.resolvConf.nameservers.length === 0) {
    out.push({
      kind: "dns-unreachable", severity: "fail", summary: `DNS unreachable: ${n.resolvConf.file} names no nameserver`,
      evidence: [`${n.resolvConf.file}: no nameserver line`], fix: ["give one: --dns IP at run (or fix the host's /etc/resolv.conf, which the engine copies)"],
    });
  } else if (failing.length > 0) {
    const none = failing.length === n.dns.length;
    out.push({
      kind: "dns-unreachable", severity: none ? "fail" : "warn",
      summary: `${none ? "DNS unreachable" : "a nameserver does not answer"}: ${failing.map((d) => `${d.server} ${DNS_WHY[d.result]}`).join("; ")}${none ? "" : " (each lookup waits for it before the next)"}`,
      evidence: [`${n.resolvConf.file}: nameserver ${n.resolvConf.nameservers.join(", ")}`, ...n.dns.map((d) => `a DNS query to ${d.server}:53 from its namespace: ${DNS_WHY[d.result]}`)],
      fix: [
        failing.some((d) => d.result === "no-route" || d.result === "blocked") ? "first the route or the firewall rule above: DNS goes the same way" : "",
        `give nameservers that answer from the container's network: --dns IP at run (berth, docker, podman), or start the DNS server at ${failing[0]!.server}`,
      ].filter(Boolean),
      data: { dns: n.dns },
    });
  }
  return out;
}
