/**
 * The operator's tools on the engine's own containers, with nothing but the engine's
 * BERTH_ROOT/BERTH_RUNROOT (no berth-runtime --root): `top`, `stats` and `events` find
 * them and name them by their current name, from berth's records (after `rename` too);
 * `ps -s` gives docker's SIZE column.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDecimalBytes } from "../../cgroups/units.ts";
import { BERTH, canRunContainers, canRunConmon, EngineFixture, until } from "../../../test/engine-harness.ts";
import { LineStream } from "../../../test/line-stream.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon;
// made in beforeAll, not while the file is collected: a run whose filter skips every test here runs no afterAll
let fx = undefined as unknown as EngineFixture;
beforeAll(() => {
  if (ok) fx = new EngineFixture("obs");
});
const watchers: Bun.Subprocess[] = [];
afterAll(() => {
  for (const w of watchers) w.kill("SIGKILL");
  fx?.cleanup();
});

/** `berth events --format json ARGS` with the fixture's engine paths, once it says it is watching. */
async function watch(...args: string[]): Promise<{ events: () => Record<string, unknown>[]; lines: () => string[]; errors: () => string[] }> {
  const proc = Bun.spawn([BERTH, "events", "--format", "json", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
  watchers.push(proc);
  const out = new LineStream(proc.stdout);
  const err = new LineStream(proc.stderr);
  const ready = await until(() => err.lines.includes("berth: watching for events"), 60_000);
  expect(ready ? "" : `not watching after 60 s: ${JSON.stringify({ stdout: out.lines, stderr: err.lines })}`).toBe("");
  return { events: () => out.lines.map((l) => JSON.parse(l)), lines: () => out.lines, errors: () => err.lines };
}

describe.skipIf(!ok)("top, stats and events on the engine's containers, by their current names", () => {
  test("stats and top find a container in its own --cgroup-parent by name, and by its new name after rename; stats of a stopped one is docker's row of zeros", async () => {
    const name = `obs-${process.pid}`;
    const id = fx.runDetached(["--name", name], ["sleep", "600"]);
    const stats = fx.berth(["stats", "--no-stream", "--interval", "0", "--format", "{{.Name}} {{.PIDs}}", name]);
    expect(stats).toMatchObject({ code: 0, stdout: `${name} 1\n` });
    // the runtime's start returns once the init is told to exec (runc's too): a look at once may still see berth-init
    expect(await until(() => fx.berth(["top", name]).stdout.includes("sleep 600"), 30_000)).toBe(true);
    expect(fx.berth(["rename", name, `${name}-new`]).code).toBe(0);
    const all = fx.berth(["stats", "--no-stream", "--interval", "0", "--format", "{{.Name}} {{.ID}}"]);
    expect(all.stdout).toContain(`${name}-new ${id.slice(0, 12)}\n`);
    expect(fx.berth(["top", `${name}-new`]).stdout).toContain("sleep 600");
    const old = fx.berth(["top", name]);
    expect(old.code).toBe(125);
    expect(old.stderr).toContain(`no container, process or cgroup "${name}"`);
    // stopped: docker's "is not running" for top and ns, not "no such container"
    expect(fx.berth(["stop", "-t", "0", `${name}-new`]).code).toBe(0);
    for (const verb of [["top"], ["ns"]]) {
      const stopped = fx.berth([...verb, `${name}-new`]);
      expect(stopped.code).toBe(125);
      expect(stopped.stderr).toBe(`berth: TARGET: container ${name}-new is not running; start it first (berth start ${name}-new)\n`);
    }
    // …and for stats the row of zeros docker's CLI prints from its daemon's empty stats of a stopped container
    const row = new RegExp(`^CONTAINER ID\\s+NAME\\s+CPU %\\s+MEM USAGE / LIMIT\\s+MEM %\\s+NET I/O\\s+BLOCK I/O\\s+PIDS\n${id.slice(0, 12)}\\s+${name}-new\\s+0\\.00%\\s+0B / 0B\\s+0\\.00%\\s+0B / 0B\\s+0B / 0B\\s+0\n$`);
    const stopped = fx.berth(["stats", "--no-stream", `${name}-new`]);
    expect(stopped).toMatchObject({ code: 0, stderr: "" });
    expect(stopped.stdout).toMatch(row);
    expect(fx.berth(["stats", "--no-stream", "--interval", "0", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}} {{.ThrottledPerc}}", id]).stdout).toBe(`${name}-new 0.00% 0B / 0B 0 -\n`);
    expect(JSON.parse(fx.berth(["stats", "--no-stream", "--interval", "0", "--format", "json", id]).stdout)).toMatchObject({ id, name: `${name}-new`, stopped: true, pids: { current: 0 }, cpu: null });
    // without a name only running ones; -a adds the stopped one, as docker's stats -a
    const listed = (...flags: string[]) => fx.berth(["stats", "--no-stream", "--interval", "0", ...flags, "--format", "{{.Name}}"]).stdout.split("\n");
    expect(listed()).not.toContain(`${name}-new`);
    expect(listed("-a")).toContain(`${name}-new`);
    // streamed: the same row, refreshed (a block per sample when stdout is not a terminal)
    const stream = Bun.spawn([BERTH, "stats", "--interval", "100", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", `${name}-new`], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
    watchers.push(stream);
    const lines = new LineStream(stream.stdout);
    expect(await until(() => lines.lines.length >= 2, 60_000)).toBe(true);
    stream.kill("SIGTERM");
    expect(lines.lines.slice(0, 2)).toEqual([`${name}-new 0.00% 0`, `${name}-new 0.00% 0`]);
    expect(fx.berth(["rm", id]).code).toBe(0);
  });

  test("events: docker's — create and start by name, then after a rename the stop's kill, the exit with the code the engine recorded, stop, and rm's destroy by the new name", async () => {
    const name = `ev-${process.pid}`;
    const w = await watch("--filter", `container=${name}`, "--filter", `container=${name}-new`);
    const t = await watch("--filter", `container=${name}-new`, "--filter", "event=die", "--filter", "event=destroy", "--filter", "type=container", "--format", "{{.type}} {{.name}} {{.exitCode}}");
    // TERM ends it with 3: the code comes from the engine's record (the monitor reaps the init before the runtime can read it)
    const id = fx.runDetached(["--name", name], ["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"]);
    const started = await until(() => w.events().some((e) => e.type === "start"), 60_000);
    expect(started ? "" : JSON.stringify({ events: w.events(), errors: w.errors() })).toBe("");
    expect(fx.berth(["rename", name, `${name}-new`]).code).toBe(0);
    expect(fx.berth(["stop", "-t", "20", `${name}-new`]).code).toBe(0);
    expect(fx.berth(["rm", id]).code).toBe(0);
    const deleted = await until(() => w.events().some((e) => e.type === "delete"), 60_000);
    expect(deleted ? "" : JSON.stringify({ events: w.events(), errors: w.errors(), ps: fx.berth(["ps", "-a"]).stdout })).toBe("");
    const events = w.events();
    expect(events.map((e) => e.type)).toEqual(["create", "start", "rename", "kill", "exit", "stop", "delete"]);
    expect(events.map((e) => e.name)).toEqual([name, name, ...Array(5).fill(`${name}-new`)]);
    expect(events[0]).toMatchObject({ id, engine: "berth" });
    expect(events[2]).toMatchObject({ oldName: `/${name}` });
    expect(events[3]).toMatchObject({ signal: 15 });
    expect(events[4]!.exitCode).toBe(3);
    const both = await until(() => t.lines().length === 2, 60_000);
    expect(both ? "" : JSON.stringify({ lines: t.lines(), errors: t.errors() })).toBe("");
    expect(t.lines()).toEqual([`exit ${name}-new 3`, `delete ${name}-new <no value>`]);
  });
  test("events --until: the stream ends at that time (exit 0); a bad template or time is one line, 125", async () => {
    // its own container only: the host's other containers (other tests, other users, their OOM kills) come and go meanwhile
    const name = `until-${process.pid}`;
    const id = fx.runDetached(["--name", name], ["sleep", "600"]);
    const endAt = Math.ceil(Date.now() / 1000) + 6;
    const p = Bun.spawn([BERTH, "events", "--until", String(endAt), "--format", "{{.type}} {{.name}} {{.exitCode}}", "--filter", `container=${name}`], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
    watchers.push(p);
    const out = new LineStream(p.stdout);
    const err = new LineStream(p.stderr);
    expect(await until(() => err.lines.includes("berth: watching for events"), 60_000)).toBe(true);
    expect(fx.berth(["kill", name]).code).toBe(0);
    const killedAt = Date.now();
    expect(await p.exited).toBe(0);
    await out.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(endAt * 1000);
    expect(fx.berth(["rm", id]).code).toBe(0);
    // every line is this container's: the kill and its exit (the code the engine recorded) — both unless the host was
    // so slow that the kill came at the very end
    const own = [`kill ${name} <no value>`, `exit ${name} 137`];
    expect(own.slice(0, out.lines.length)).toEqual(out.lines);
    if (killedAt < endAt * 1000 - 3000) expect(out.lines).toEqual(own);
    const bad = fx.berth(["events", "--format", "{{.type | upper}}"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --format: \{\{.type \| upper\}\}: unsupported action; use /);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    const badTime = fx.berth(["events", "--until", "tomorrow"]);
    expect(badTime.code).toBe(125);
    expect(badTime.stderr).toMatch(/^berth: --until: invalid time "tomorrow"/);
  });
});

describe.skipIf(!ok)("events --since: the engine's journal replayed", () => {
  test("--since/--until in the past replays and exits; --since alone replays, then follows; RFC 3339, Unix seconds and durations; volumes and networks too", async () => {
    const name = `since-${process.pid}`;
    const t0 = new Date(Date.now() - 1000).toISOString();
        // a shell that lets USR1 end it (PID 1 ignores a signal it has no handler for)
    const id = fx.runDetached(["--name", name], ["sh", "-c", "trap 'exit 138' USR1; while true; do sleep 0.1; done"]);
    expect(fx.berth(["exec", id, "true"]).code).toBe(0);
    expect(fx.berth(["pause", name]).code).toBe(0);
    expect(fx.berth(["unpause", name]).code).toBe(0);
    expect(fx.berth(["kill", "-s", "USR1", name]).code).toBe(0);
    expect(fx.berth(["wait", name]).stdout).toBe("138\n");
    expect(fx.berth(["rm", name]).code).toBe(0);
    const vol = `since-vol-${process.pid}`;
    expect(fx.berth(["volume", "create", vol]).code).toBe(0);
    expect(fx.berth(["volume", "rm", vol]).code).toBe(0);
    const net = `since-net-${process.pid}`;
    const netId = fx.berth(["network", "create", net]).stdout.trim();
    expect(fx.berth(["network", "rm", net]).code).toBe(0);
    const tar = join(fx.dir, `since-${process.pid}.tar`);
    expect(Bun.spawnSync(["tar", "--numeric-owner", "-C", fx.rootfs, "-cf", tar, "."]).exitCode).toBe(0);
    const imageId = fx.berth(["import", tar, `since-img-${process.pid}:1`]).stdout.trim();
    expect(fx.berth(["tag", `since-img-${process.pid}:1`, `since-img-${process.pid}:2`]).code).toBe(0);
    expect(fx.berth(["rmi", `since-img-${process.pid}:1`, `since-img-${process.pid}:2`]).code).toBe(0);
    const t1 = Date.now() / 1000;
    const replay = (...args: string[]) => fx.berth(["events", "--format", "{{.type}} {{.name}} {{.exitCode}}", ...args]);
    const past = replay("--since", t0, "--until", String(t1), "--filter", `container=${name}`);
    expect(past).toMatchObject({ code: 0, stderr: "" });
    const none = "<no value>";
    expect(past.stdout).toBe([
      `create ${name} ${none}`, `start ${name} ${none}`, `exec_create ${name} ${none}`, `exec_start ${name} ${none}`, `exec_die ${name} 0`,
      `pause ${name} ${none}`, `resume ${name} ${none}`, `kill ${name} ${none}`, `exit ${name} 138`, `delete ${name} ${none}`, "",
    ].join("\n"));
    // docker's own keys, for docker's templates
    const docker = fx.berth(["events", "--since", t0, "--until", String(t1), "--filter", `container=${name}`, "--filter", "event=die", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}"]);
    expect(docker.stdout).toBe(`container die ${name} 138\n`);
    // docker's other objects, by their own filters
    expect(replay("--since", "10m", "--until", "0s", "--filter", `volume=${vol}`).stdout).toBe(`create ${vol} ${none}\ndelete ${vol} ${none}\n`);
    expect(replay("--since", "10m", "--until", "0s", "--filter", `network=${net}`, "--filter", "event=destroy").stdout).toBe(`delete ${net} ${none}\n`);
    expect(fx.berth(["events", "--since", "10m", "--until", "0s", "--format", "json", "--filter", "type=network"]).stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: "create", object: "network", id: netId, name: net }), expect.objectContaining({ type: "delete", object: "network", id: netId, name: net }),
    ]);
    // images: import, tag, then rmi's untag of each name and the delete
    expect(replay("--since", t0, "--until", String(t1), "--filter", "type=image").stdout).toBe([
      `import ${imageId} ${none}`, `tag since-img-${process.pid}:2 ${none}`, `untag since-img-${process.pid}:1 ${none}`,
      `untag since-img-${process.pid}:2 ${none}`, `delete ${imageId} ${none}`, "",
    ].join("\n"));
    // --until before --since: nothing; a later --since leaves the earlier out
    expect(replay("--since", String(t1), "--until", "0s", "--filter", `container=${name}`).stdout).toBe("");
    // --since alone: the past first, then what happens
    const p = Bun.spawn([BERTH, "events", "--since", t0, "--format", "{{.type}} {{.name}}", "--filter", "type=volume"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
    watchers.push(p);
    const out = new LineStream(p.stdout);
    const err = new LineStream(p.stderr);
    expect(await until(() => err.lines.includes("berth: watching for events"), 60_000)).toBe(true);
    expect(fx.berth(["volume", "create", `${vol}-2`]).code).toBe(0);
    expect(await until(() => out.lines.length === 3, 60_000)).toBe(true);
    expect(out.lines).toEqual([`create ${vol}`, `delete ${vol}`, `create ${vol}-2`]);
    p.kill("SIGTERM");
    expect(fx.berth(["volume", "rm", `${vol}-2`]).code).toBe(0);
    const bad = fx.berth(["events", "--since", "yesterday-ish"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --since: invalid time "yesterday-ish"; use RFC 3339/);
  });
});

describe.skipIf(!ok)("ps -s, inspect -s: what the container wrote, and with its image", () => {
  test("12 bytes written over an imported image: SIZE '12B (virtual …)', the image's size the difference; a --rootfs container's own size is 0B", () => {
    const tar = join(fx.dir, "rootfs.tar");
    expect(Bun.spawnSync(["tar", "--numeric-owner", "-C", fx.rootfs, "-cf", tar, "."]).exitCode).toBe(0);
    const image = `sized-${process.pid}:1`;
    expect(fx.berth(["import", tar, image]).code).toBe(0);
    const imageSize = JSON.parse(fx.berth(["image", "inspect", image]).stdout)[0].Size as number;
    expect(imageSize).toBeGreaterThan(0);
    const id = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, image, "sh", "-c", "printf 123456789012 > /written; sleep 600"]).stdout.trim();
    const written = () => fx.berth(["exec", id, "cat", "/written"]).stdout === "123456789012";
    expect(written()).toBe(true);
    const c = JSON.parse(fx.berth(["inspect", "-s", id]).stdout)[0];
    expect({ SizeRw: c.SizeRw, SizeRootFs: c.SizeRootFs }).toEqual({ SizeRw: 12, SizeRootFs: 12 + imageSize });
    expect(JSON.parse(fx.berth(["inspect", id]).stdout)[0].SizeRw).toBeUndefined();
    const ps = fx.berth(["ps", "-s", "--filter", `id=${id}`]).stdout.split("\n");
    expect(ps[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s+SIZE$/);
    expect(ps[1]).toEndWith(`   12B (virtual ${formatDecimalBytes(12 + imageSize)})`);
    // a format that shows .Size computes it without -s, as docker's does; json too
    expect(fx.berth(["ps", "--filter", `id=${id}`, "--format", "{{.Names}} {{.Size}}"]).stdout).toEndWith(` 12B (virtual ${formatDecimalBytes(12 + imageSize)})\n`);
    expect(JSON.parse(fx.berth(["ps", "--filter", `id=${id}`, "--format", "json"]).stdout).Size).toBe(`12B (virtual ${formatDecimalBytes(12 + imageSize)})`);
    expect(fx.berth(["ps", "--filter", `id=${id}`]).stdout).not.toContain("virtual");
    // system df -v: the image (nothing shared: one image), the container's 12 bytes
    const df = fx.berth(["system", "df", "-v"]).stdout;
    const [repo, tag] = image.split(":");
    const sizeText = formatDecimalBytes(imageSize);
    expect(df).toMatch(new RegExp(`^Images space usage:\n\nREPOSITORY\\s+TAG\\s+IMAGE ID\\s+CREATED\\s+SIZE\\s+SHARED SIZE\\s+UNIQUE SIZE\\s+CONTAINERS\n${repo}\\s+${tag}\\s+[0-9a-f]{12}\\s+.+ ago\\s+${sizeText}\\s+0B\\s+${sizeText}\\s+1\n`));
    expect(df).toMatch(new RegExp(`\nContainers space usage:\n\nCONTAINER ID\\s+IMAGE\\s+COMMAND\\s+LOCAL VOLUMES\\s+SIZE\\s+CREATED\\s+STATUS\\s+NAMES\n${id.slice(0, 12)}\\s+${image}\\s+".+"\\s+0\\s+12B\\s+`));
    expect(df).toContain("\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n");
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
    const dir = fx.runDetached([], ["sleep", "600"]);
    expect(fx.berth(["ps", "-s", "--filter", `id=${dir}`, "--format", "{{.Size}}"]).stdout).toMatch(/^0B \(virtual \d+(\.\d+)?[kM]B\)\n$/);
    expect(fx.berth(["rm", "-f", dir]).code).toBe(0);
  });
});

describe.skipIf(!ok)("ps --filter expose=/publish=", () => {
  test("--expose 7000/udp: found by expose=7000/udp and a range, not by tcp's 7000 nor by publish=", () => {
    const id = fx.runDetached(["--expose", "7000/udp"], ["sleep", "600"]);
    const ps = (filter: string) => fx.berth(["ps", "-q", "--no-trunc", "--filter", filter]).stdout;
    expect([ps("expose=7000/udp"), ps("expose=6990-7010/udp"), ps("expose=7000"), ps("publish=7000/udp")]).toEqual([`${id}\n`, `${id}\n`, "", ""]);
    const bad = fx.berth(["ps", "--filter", "publish=127.0.0.1:80"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --filter: invalid publish "127\.0\.0\.1:80"/);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
});

describe.skipIf(!ok)("docker's container VERB forms; container prune as docker prints it", () => {
  test("container ls/list/rm are ps/rm; prune removes stopped containers (label and until filters), printing what it reclaimed", () => {
    const keep = fx.runDetached(["-l", "keep=yes"], ["true"]);
    const gone = fx.runDetached([], ["sh", "-c", "true"]);
    const running = fx.runDetached([], ["sleep", "600"]);
    expect(fx.berth(["wait", keep, gone]).stdout).toBe("0\n0\n");
    expect(fx.berth(["container", "ls", "-q", "--no-trunc"]).stdout).toBe(`${running}\n`);
    expect(fx.berth(["container", "list", "-a", "-q", "--no-trunc"]).stdout.trim().split("\n").sort()).toEqual([keep, gone, running].sort());
    // docker asks first, and an unanswered prompt removes nothing; berth does not ask: without -f nothing goes, in one line
    for (const [kind, what] of [["container", "all stopped containers"], ["volume", "all anonymous local volumes not used by at least one container"], ["network", "all networks not used by at least one container"]]) {
      const unasked = fx.berth([kind!, "prune"]);
      expect([unasked.code, unasked.stderr]).toEqual([125, `berth: --force: this removes ${what}; confirm with -f (--force)\n`]);
    }
    expect(fx.berth(["container", "list", "-a", "-q", "--no-trunc"]).stdout.trim().split("\n").sort()).toEqual([keep, gone, running].sort());
    expect(fx.berth(["container", "prune", "-f", "--filter", "until=1h"]).stdout).toBe("Total reclaimed space: 0B\n");
    expect(fx.berth(["container", "prune", "-f", "--filter", "label!=keep"]).stdout).toBe(`Deleted Containers:\n${gone}\n\nTotal reclaimed space: 0B\n`);
    const bad = fx.berth(["container", "prune", "-f", "--filter", "until=soon"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --filter: invalid until "soon"; use until=TIME/);
    expect(fx.berth(["container", "remove", "-f", running]).stdout).toBe(`${running}\n`);
    expect(fx.berth(["container", "prune", "-f"]).stdout).toBe(`Deleted Containers:\n${keep}\n\nTotal reclaimed space: 0B\n`);
    expect(fx.records()).toEqual([]);
  });
});

describe.skipIf(!ok)("system prune as docker prints it: containers, networks, volumes, images, one total", () => {
  test("each kind by its own command's prune, in docker's order; --filter applies to all; until with --volumes is refused", () => {
    const net = `obs-net-${process.pid}`;
    expect(fx.berth(["network", "create", net]).code).toBe(0);
    const labelled = `obs-lnet-${process.pid}`;
    expect(fx.berth(["network", "create", "--label", "keep=1", labelled]).code).toBe(0);
    // network ls as docker's: filters, a template, json, whole ids
    expect(fx.berth(["network", "ls", "-f", "label=keep", "--format", "{{.Name}} {{.Labels}} {{.Driver}} {{.Internal}}"]).stdout).toBe(`${labelled} keep=1 bridge false\n`);
    expect(fx.berth(["network", "ls", "-f", "type=builtin", "-q"]).stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(fx.berth(["network", "ls", "-f", "type=custom", "-f", "dangling=true", "--format", "{{.Name}}"]).stdout.split("\n").filter((l) => l.startsWith("obs-")).sort()).toEqual([labelled, net].sort());
    const full = JSON.parse(fx.berth(["network", "ls", "--no-trunc", "-f", `name=${net}`, "--format", "json"]).stdout);
    expect(full).toMatchObject({ Name: net, Driver: "bridge", Scope: "local", IPv6: "false", Internal: "false", Labels: "" });
    expect(full.ID).toMatch(/^[0-9a-f]{64}$/);
    const badType = fx.berth(["network", "ls", "-f", "type=other"]);
    expect([badType.code, badType.stderr]).toEqual([125, `berth: --filter: invalid type "other"; use type=custom or type=builtin\n`]);
    const stopped = fx.runDetached(["-v", "/data"], ["sh", "-c", "head -c 3000 /dev/zero > /data/f"]);
    expect(fx.berth(["wait", stopped]).stdout).toBe("0\n");
    // without -f: docker's prompt, which berth does not show — refused, nothing removed
    const unasked = fx.berth(["system", "prune", "--volumes"]);
    expect([unasked.code, unasked.stderr]).toEqual([125, "berth: --force: this removes all stopped containers, all networks not used by at least one container, all anonymous volumes not used by at least one container and all dangling images; confirm with -f (--force)\n"]);
    expect(fx.records()).toContain(stopped);
    const bad = fx.berth(["system", "prune", "-f", "--volumes", "--filter", "until=1h"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --filter: the until filter cannot be used with --volumes/);
    // nothing carries the label: nothing goes, and docker still prints the total
    expect(fx.berth(["system", "prune", "-f", "--filter", "label=nothing-has-it"]).stdout).toBe("Total reclaimed space: 0B\n");
    const pruned = fx.berth(["system", "prune", "-f", "--volumes", "--filter", "label!=keep"]);
    expect(pruned.code).toBe(0);
    // the container wrote nothing to its own layer; its anonymous volume held 3000 bytes; busybox is tagged, so not dangling
    expect(pruned.stdout).toMatch(new RegExp(`^Deleted Containers:\n${stopped}\n\nDeleted Networks:\n${net}\n\nDeleted Volumes:\n[0-9a-f]{64}\n\nTotal reclaimed space: 3kB\n$`));
    expect(fx.berth(["network", "ls", "--format", "{{.Name}}"]).stdout).toContain(`${labelled}\n`);
    expect(fx.berth(["network", "prune", "-f"]).stdout).toBe(`Deleted Networks:\n${labelled}\n\n`);
  });
});

describe.skipIf(!ok)("info and version: docker's questions answered by this engine and host", () => {
  test("info counts the engine's containers by state and reports the host as the kernel gives it; --format with docker's keys", () => {
    const running = fx.runDetached([], ["sleep", "600"]);
    const stopped = fx.runDetached([], ["true"]);
    expect(fx.berth(["wait", stopped]).stdout).toBe("0\n");
    const info = JSON.parse(fx.berth(["info", "--format", "json"]).stdout);
    expect(info).toMatchObject({ Containers: 2, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 1, DockerRootDir: fx.root, OSType: "linux", CgroupDriver: "cgroupfs", DefaultRuntime: "berth-runtime" });
    // a hybrid host is cgroup v1 to docker: only a pure v2 host has cgroup.controllers at /sys/fs/cgroup
    expect(info.CgroupVersion).toBe(existsSync("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1");
    expect(info.NCPU).toBe(Number(Bun.spawnSync(["nproc", "--all"]).stdout.toString().trim()));
    expect(info.MemTotal).toBe(Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024);
    expect(info.KernelVersion).toBe(Bun.spawnSync(["uname", "-r"]).stdout.toString().trim());
    expect(info.Architecture).toBe(Bun.spawnSync(["uname", "-m"]).stdout.toString().trim());
    expect(Object.keys(info.Runtimes)).toContain("berth-runtime");
    if (Bun.which("runc")) expect(info.Runtimes.runc.path).toBe(Bun.which("runc"));
    expect(fx.berth(["system", "info", "-f", "{{.ContainersRunning}}/{{.Containers}} {{.CgroupVersion}}"]).stdout).toBe(`1/2 ${info.CgroupVersion}\n`);
    const text = fx.berth(["info"]).stdout;
    expect(text).toContain(`\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n`);
    expect(text).toContain(`\n Cgroup Version: ${info.CgroupVersion}\n`);
    expect(text).toContain(`\n Docker Root Dir: ${fx.root}\n`);
    expect(fx.berth(["rm", "-f", running, stopped]).code).toBe(0);
  });

  test("version: the package's version for client and engine, the runtime's spec; --format", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../../../package.json"), "utf8"));
    expect(fx.berth(["version", "--format", "{{.Server.Version}} {{.Client.Version}}"]).stdout).toBe(`${pkg.version} ${pkg.version}\n`);
    const v = JSON.parse(fx.berth(["version", "-f", "json"]).stdout);
    expect(v.Server.Components.map((c: { Name: string }) => c.Name)).toEqual(["Engine", "berth-runtime"]);
    expect(v.Client.Arch).toBe(process.arch === "x64" ? "amd64" : process.arch);
    expect(fx.berth(["version"]).stdout).toMatch(new RegExp(`^Client:\\n Version:\\s+${pkg.version.replace(/\./g, "\\.")}\\n`));
  });
});
