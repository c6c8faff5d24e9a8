/**
 * `berth network create|ls|inspect|rm|prune|connect|disconnect`: docker's bridge networks, each a CNI
 * conflist (engine/network/networks.ts). A network a container uses is not removed;
 * prune also sweeps the attachments of containers that are gone.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { ExitError } from "../exit.ts";
import { writeErr, writeOut } from "../stdio.ts";
import { alignColumns, inspectTemplate, type GoShape, parseTemplate } from "../../observe/template.ts";
import type { Engine } from "../../engine/container/engine.ts";
import { connectContainer, disconnectContainer } from "../../engine/container/network-connect.ts";
import { DEFAULT_NETWORK, NetworkStore, type NetworkFile } from "../../engine/network/networks.ts";
import { engineFor } from "./engine-open.ts";
import { confirmPrune, formatPruneReport, NETWORK_HEADINGS, networkMatches, networkRow, parseNetworkFilter, parsePruneFilters } from "../../engine/container/views.ts";
import { networkUsers, pruneNetworks, removeNetwork } from "../../engine/prune.ts";
import { recordEvent } from "../../engine/event-journal.ts";
import { parseLabels } from "../../engine/labels.ts";
import { parseKeyValues } from "../../key-value.ts";

type Opts = Record<string, unknown>;

/** docker's network inspect object. */
function inspectView(engine: Engine, n: NetworkFile): Record<string, unknown> {
  const m = n.berth;
  const containers: Record<string, unknown> = {};
  for (const r of networkUsers(engine, n.name)) {
    const ep = r.Network?.settings?.Networks[n.name];
    if (!ep) continue;
    containers[r.Id] = { Name: r.Name, EndpointID: ep.EndpointID, MacAddress: ep.MacAddress, IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`, IPv6Address: "" };
  }
  return {
    Name: n.name, Id: m.id, Created: m.created, Scope: "local", Driver: "bridge", EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: m.subnet, Gateway: m.gateway, ...(m.ipRange && { IPRange: m.ipRange }) }] },
    Internal: m.internal, Attachable: false, Ingress: false, ConfigFrom: { Network: "" }, ConfigOnly: false, Containers: containers,
    Options: { "com.docker.network.bridge.name": m.bridge, ...(m.mtu && { "com.docker.network.driver.mtu": String(m.mtu) }) }, Labels: m.labels,
  };
}

/** docker's network.Inspect for templates: its maps (a missing key prints `<no value>`) */
const NETWORK_SHAPE: GoShape = { maps: ["IPAM.Options", "Containers", "Options", "Labels"] };

export function registerNetwork(program: Command): void {
  const net = program.command("network").description("manage networks");
  net.command("create").argument("<name>", "network name").description("create a bridge network")
    .option("-d, --driver <driver>", "bridge (the only driver)")
    .option("--subnet <cidr>", "the subnet, e.g. 10.91.0.0/24 (default: a free /24 from 10.90.0.0)")
    .option("--gateway <ip>", "the gateway (default: the subnet's first address)")
    .option("--ip-range <cidr>", "give containers addresses from this part of the subnet")
    .option("--internal", "no route out of the network and no masquerading")
    .option("-o, --opt <k=v>", "driver option: mtu=N (or com.docker.network.driver.mtu=N)", collect)
    .option("--label <k=v>", "a label", collect)
    .action(async (name: string, opts: Opts) => {
      if (opts.driver !== undefined && opts.driver !== "bridge") throw new BerthError(`driver ${JSON.stringify(opts.driver)} is not available; use bridge`, { field: "--driver" });
      const store = new NetworkStore((await engineFor(opts)).paths);
      const n = store.create(name, {
        ...(opts.subnet !== undefined && { subnet: opts.subnet as string }),
        ...(opts.gateway !== undefined && { gateway: opts.gateway as string }),
        ...(opts.ipRange !== undefined && { ipRange: opts.ipRange as string }),
        internal: opts.internal === true,
        options: Object.fromEntries(parseKeyValues(opts.opt as string[] | undefined, "--opt")),
        labels: parseLabels((opts.label as string[] | undefined) ?? [], "--label"),
      });
      recordEvent(store.paths, "network", "create", n.berth.id, { name: n.name, type: "bridge" });
      writeOut(`${n.berth.id}\n`);
    });
  net.command("ls").alias("list").description("list networks").option("-q, --quiet", "only ids").option("--no-trunc", "whole ids")
    .option("-f, --filter <k=v>", "dangling=true|false, driver=bridge, id=PREFIX, label=KEY[=VALUE], name=PART, scope=local, type=custom|builtin", collect)
    .option("--format <format>", "table, json, or a Go template such as '{{.Name}} {{.ID}}'")
    .action(async (opts: Opts) => {
      const engine = await engineFor(opts);
      const store = new NetworkStore(engine.paths);
      store.ensureDefault();
      const filters = ((opts.filter as string[] | undefined) ?? []).map(parseNetworkFilter);
      const rows = store.list()
        .filter((n) => networkMatches({ id: n.berth.id, name: n.name, labels: n.berth.labels }, n.name === DEFAULT_NETWORK, filters.some((f) => f.key === "dangling") && networkUsers(engine, n.name).length > 0, filters))
        .map((n) => networkRow({ ...n.berth, name: n.name }, opts.trunc === false));
      const format = (opts.format as string | undefined) || undefined;
      if (opts.quiet) writeOut(rows.map((r) => `${r.ID}\n`).join(""));
      else if (format === "json") writeOut(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      else {
        const template = parseTemplate(format === undefined || format === "table" ? "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}" : format, Object.keys(NETWORK_HEADINGS));
        const lines = rows.map((r) => template.render(r, r));
        if (template.table) writeOut(`${alignColumns([template.header(NETWORK_HEADINGS), ...lines])}\n`);
        else if (lines.length) writeOut(`${lines.join("\n")}\n`);
      }
    });
  net.command("inspect").argument("<names...>", "network names or ids").description("docker's JSON of networks")
    .option("-f, --format <template>", "a Go template ({{.Name}}, {{json .IPAM.Config}}) instead of JSON")
    .action(async (names: string[], opts: Opts) => {
      const format = (opts.format as string | undefined) || undefined;
      const template = inspectTemplate(format);
      const engine = await engineFor(opts);
      const store = new NetworkStore(engine.paths);
      const out = names.map((n) => inspectView(engine, store.resolve(n)));
      if (template) writeOut(out.map((o) => `${template.render(o, NETWORK_SHAPE)}\n`).join(""));
      else writeOut(`${JSON.stringify(out, null, 4)}\n`);
    });
  net.command("rm").alias("remove").argument("<names...>", "network names or ids").description("remove networks no container uses")
    .action(async (names: string[], opts: Opts) => {
      const engine = await engineFor(opts);
      const store = new NetworkStore(engine.paths);
      let failed = 0;
      for (const name of names) {
        try {
          if (name === DEFAULT_NETWORK) throw new BerthError(`${name} is a pre-defined network and cannot be removed`);
          removeNetwork(engine, store, store.resolve(name));
          writeOut(`${name}\n`);
        } catch (err) {
          if (names.length === 1) throw err;
          writeErr(`berth: ${(err as Error).message}\n`);
          failed++;
        }
      }
      if (failed) throw new ExitError(1);
    });
  net.command("connect").argument("<network>", "network name or id").argument("<container>", "container name or id")
    .description("attach a container to another network (now when it runs, else at its next start)")
    .option("--alias <name>", "another name for the container on this network", collect)
    .action(async (network: string, container: string, opts: Opts) => {
      connectContainer(await engineFor(opts), container, network, (opts.alias as string[] | undefined) ?? []);
    });
  net.command("disconnect").argument("<network>", "network name or id").argument("<container>", "container name or id")
    .description("detach a container from a network").option("-f, --force", "accepted (docker's)")
    .action(async (network: string, container: string, opts: Opts) => {
      disconnectContainer(await engineFor(opts), container, network);
    });
  net.command("prune").description("remove networks no container uses, and the network leftovers of containers that are gone")
    .option("-f, --force", "remove without asking (needed: berth does not prompt)")
    .option("--filter <k=v>", "until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE]", collect)
    .action(async (opts: Opts) => {
      const filter = parsePruneFilters((opts.filter as string[] | undefined) ?? [], Date.now());
      confirmPrune(opts.force, ["all networks not used by at least one container"]);
      const engine = await engineFor(opts);
      writeOut(formatPruneReport([["Networks", pruneNetworks(engine, filter)]]));
    });
}

