/**
 * The CNI plugins' top-level iptables chains — portmap's CNI-HOSTPORT-* (nat) and the
 * firewall plugin's CNI-FORWARD / CNI-ADMIN (filter) — are shared by every CNI user on
 * the host, and the plugins never remove them: they stay after the last container goes.
 * A test run removes them only where it made them (absent when it began) and no
 * container's rule is left in them (another user's mapping or firewall rule is live).
 */
import { runCommand, type ChainSnapshot } from "./clients/client-env.ts";

function rules(table: string): string[] {
  const r = runCommand(["iptables", "-t", table, "-S"]);
  return r.code === 0 ? r.stdout.split("\n") : [];
}

function iptables(table: string, args: string[]): void {
  runCommand(["iptables", "-t", table, ...args]);
}

/** `-A CHAIN …` as iptables -S prints it → the argv that deletes that rule. */
function deletion(rule: string): string[] {
  return rule.replace(/^-A /, "-D ").match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ""));
}

/** Remove the CNI plugins' top-level chains that were not in `before` (client-env's iptablesChains, taken when the test process began) and hold no container's rule. */
export function removeUnusedCniChains(before: ChainSnapshot): void {
  const nat = rules("nat");
  if (!before.nat?.has("CNI-HOSTPORT-DNAT") && nat.includes("-N CNI-HOSTPORT-DNAT") && !nat.some((r) => r.startsWith("-A CNI-HOSTPORT-DNAT "))) {
    for (const rule of nat.filter((r) => /^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-HOSTPORT-(DNAT|MASQ)$/.test(r))) iptables("nat", deletion(rule));
    for (const chain of ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ"]) {
      if (before.nat?.has(chain)) continue;
      iptables("nat", ["-F", chain]);
      iptables("nat", ["-X", chain]);
    }
  }
  const filter = rules("filter");
  // CNI-FORWARD holds only its jump to CNI-ADMIN when no container's firewall rules are left; CNI-ADMIN is the admin's
  const live = filter.some((r) => (r.startsWith("-A CNI-FORWARD ") && !r.endsWith("-j CNI-ADMIN")) || r.startsWith("-A CNI-ADMIN "));
  if (!before.filter?.has("CNI-FORWARD") && filter.includes("-N CNI-FORWARD") && !live) {
    for (const rule of filter.filter((r) => /^-A FORWARD .*-j CNI-FORWARD$/.test(r))) iptables("filter", deletion(rule));
    iptables("filter", ["-F", "CNI-FORWARD"]);
    iptables("filter", ["-X", "CNI-FORWARD"]);
    if (!before.filter?.has("CNI-ADMIN")) iptables("filter", ["-X", "CNI-ADMIN"]);
  }
}
