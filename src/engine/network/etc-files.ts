/**
 * What a container's /etc/hosts and /etc/resolv.conf say about the network: its own
 * address under its hostname, name and aliases; `--add-host`; the other containers on
 * its networks (rewritten as containers come and go — berth runs no DNS server, so
 * names resolve through /etc/hosts); `--dns`, `--dns-search`, `--dns-option`. Pure.
 */
import { BerthError } from "../../errors.ts";
import { parseIpv4 } from "./subnet.ts";

export interface HostsEntry {
  ip: string;
  names: string[];
}

/** `--add-host NAME:IP` (or NAME=IP); `host-gateway` is the container's gateway. */
export function parseAddHost(text: string, gateway: string | undefined): HostsEntry {
  const sep = text.includes("=") ? "=" : ":";
  const i = text.indexOf(sep);
  const name = text.slice(0, i);
  let ip = text.slice(i + 1);
  if (i <= 0 || !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name)) throw new BerthError(`invalid host ${JSON.stringify(text)}; use NAME:IP`, { field: "--add-host" });
  if (ip === "host-gateway") {
    if (!gateway) throw new BerthError("host-gateway needs a bridge network (the container's gateway is the host)", { field: "--add-host" });
    ip = gateway;
  } else parseIpv4(ip, "--add-host");
  return { ip, names: [name] };
}

/** The hosts file: `base` (localhost lines, and `127.0.1.1 hostname`), its own line given its address, then --add-host's and the peers'. */
export function hostsText(base: string, self: HostsEntry | undefined, extra: HostsEntry[]): string {
  const lines = base.replace(/\n+$/, "").split("\n").filter((l) => !(self && l.startsWith("127.0.1.1\t")));
  if (self) lines.push(`${self.ip}\t${[...new Set(self.names)].join(" ")}`);
  for (const e of extra) lines.push(`${e.ip}\t${[...new Set(e.names)].join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** resolv.conf with --dns (replacing the nameservers), --dns-search (the search line), --dns-option (the options line). */
export function resolvConfWith(text: string, dns: string[], search: string[], options: string[]): string {
  for (const d of dns) if (!/^[0-9.]+$/.test(d) && !d.includes(":")) throw new BerthError(`invalid nameserver ${JSON.stringify(d)}; use an IP address`, { field: "--dns" });
  let lines = text.replace(/\n+$/, "").split("\n");
  if (dns.length) lines = [...lines.filter((l) => !/^\s*nameserver\s/.test(l)), ...dns.map((d) => `nameserver ${d}`)];
  if (search.length) lines = [...lines.filter((l) => !/^\s*(search|domain)\s/.test(l)), `search ${search.join(" ")}`];
  if (options.length) lines = [...lines.filter((l) => !/^\s*options\s/.test(l)), `options ${options.join(" ")}`];
  return `${lines.filter((l) => l !== "").join("\n")}\n`;
}
