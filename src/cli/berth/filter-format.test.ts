/**
 * Bad `--filter` and `--format` input, through the `berth` a user types: every docker-style
 * command refuses it before doing anything, with one line naming the flag and the fix,
 * exit 125 (docs/engine.md), the same words everywhere, never a stack trace. A private
 * engine root holds one volume (something to inspect) and nothing else.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dirname, join } from "node:path";
import { busyboxImageLayout } from "../../../test/clients/registry.ts";
import { engineRoot } from "../../../test/image-fixture.ts";

setDefaultTimeout(60_000);

const store = engineRoot("filter-format");
const volume = `ff-vol-${process.pid}`;
const container = `ff-ctr-${process.pid}`;
beforeAll(() => {
  for (const args of [["load", "-i", join(dirname(busyboxImageLayout()), "busybox-docker.tar")], ["volume", "create", "-l", "tier=data", volume], ["create", "--name", container, "-l", "tier=web", "busybox", "true"]]) {
    expect(store.berth(args)).toMatchObject({ code: 0, stderr: "" });
  }
});
afterAll(() => {
  // the created container's rootfs is an overlay mount: rm takes it down before the directory goes
  store.berth(["rm", "-f", container]);
  store.remove();
});

/** `berth ARGS…` refused: exit 125, nothing on stdout, one line on stderr (returned) */
function refused(args: string[]): string {
  const r = store.berth(args);
  expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 125, stdout: "" });
  expect(r.stderr).toMatch(/^berth: [^\n]+\n$/);
  expect(r.stderr).not.toContain("internal error");
  return r.stderr.trimEnd();
}

describe("--filter", () => {
  const keysOf: [string[], string][] = [
    [["ps", "-a"], "id, name, label, status, exited, ancestor, before, since, volume, network, publish, expose"],
    [["images"], "dangling, reference, label"],
    [["volume", "ls"], "dangling, name, label, driver"],
    [["network", "ls"], "dangling, driver, id, label, name, scope, type"],
    [["events", "--until", "0s"], "event, type, container, image, volume, network, cgroup"],
    [["container", "prune", "-f"], "until, label, label!"],
    [["image", "prune", "-f"], "until, label, label!"],
    [["network", "prune", "-f"], "until, label, label!"],
    [["system", "prune", "-f"], "until, label, label!"],
    [["volume", "prune", "-f"], "label, label!"],
  ];
  test("an unknown key, no =, no key: one line naming the filter and the keys the command takes", () => {
    for (const [cmd, keys] of keysOf) {
      for (const bad of ["nope=1", "label", "=x", "", "until=1h"].filter((b) => !keys.split(", ").includes(b.split("=")[0]!))) {
        expect(refused([...cmd, "--filter", bad])).toBe(`berth: --filter: invalid filter ${JSON.stringify(bad)}; use KEY=VALUE with KEY one of ${keys}`);
      }
    }
  });
  test("a prune's bad filter is named before it asks for -f", () => {
    expect(refused(["container", "prune", "--filter", "nope=1"])).toStartWith('berth: --filter: invalid filter "nope=1"');
    expect(refused(["volume", "prune", "--filter", "until=1h"])).toStartWith('berth: --filter: invalid filter "until=1h"');
  });
  test("a known key with a value it cannot take: the key, the value and the form to use", () => {
    for (const cmd of [["images"], ["volume", "ls"], ["network", "ls"]]) {
      expect(refused([...cmd, "--filter", "dangling=maybe"])).toBe('berth: --filter: invalid dangling "maybe"; use dangling=true or dangling=false');
    }
    expect(refused(["images", "--filter", "reference=busy[box"])).toStartWith('berth: --filter: invalid reference "busy[box"; use reference=PATTERN');
    expect(refused(["ps", "-a", "--filter", "name=["])).toStartWith('berth: --filter: invalid name "["; use name=PATTERN');
    expect(refused(["ps", "-a", "--filter", "exited=x"])).toBe('berth: --filter: invalid exited "x"; use exited=CODE, a number');
    expect(refused(["ps", "-a", "--filter", "status=asleep"])).toStartWith('berth: --filter: invalid status "asleep"; use status=STATUS with STATUS one of created');
    expect(refused(["container", "prune", "-f", "--filter", "until=notatime"])).toStartWith('berth: --filter: invalid until "notatime"; use until=TIME: RFC 3339');
  });
  test("a very long value is quoted short, control characters escaped: still one line", () => {
    const line = refused(["images", "--filter", `nope\n${"x".repeat(100_000)}=1`]);
    expect(line).toStartWith('berth: --filter: invalid filter "nope\\nxxx');
    expect(line.length).toBeLessThan(250);
  });
  test("good filters still list (empty here)", () => {
    for (const args of [["images", "--filter", "dangling=1"], ["volume", "ls", "-q", "--filter", "dangling=FALSE"], ["ps", "-aq", "--filter", "exited=0"]]) {
      expect(store.berth(args)).toMatchObject({ code: 0, stderr: "" });
    }
  });
});

describe("--format", () => {
  const lists = [["ps", "-a"], ["images"], ["volume", "ls"], ["network", "ls"], ["system", "df"], ["image", "history", "busybox"], ["stats", "--no-stream"], ["events", "--until", "0s"], ["info"], ["version"], ["inspect", container], ["image", "inspect", "busybox"], ["volume", "inspect", volume], ["network", "inspect", "bridge"]];
  const flagOf = (cmd: string[]) => (["info", "version", "inspect"].includes(cmd.at(-2) === "inspect" ? "inspect" : cmd[0]!) ? "-f" : "--format");

  test("a template that does not parse: one line naming the action and the fix, on every command", () => {
    for (const cmd of lists) {
      for (const [t, why] of [["{{", "{{: unclosed action; end it with }}"], ["{{.ID", "{{.ID: unclosed action; end it with }}"], ["{{json}}", "{{json}}: json takes one value; use {{json .}} or {{json .Field}}"]]) {
        expect(refused([...cmd, flagOf(cmd), t!])).toBe(`berth: --format: ${why}`);
      }
    }
  });

  test("a field the object does not have: one line naming it and the fields there are, on every command", () => {
    for (const cmd of lists) {
      const line = refused([...cmd, flagOf(cmd), "{{.Nope}}"]);
      expect(line).toStartWith("berth: --format: {{.Nope}}: no field Nope; use ");
      expect(line).toMatch(/ one of \.\w+ \.\w+/);
    }
    expect(refused(["info", "-f", "{{.Nope}}"])).toContain(".NCPU .MemTotal");
    expect(refused(["version", "-f", "{{.Server.Nope}}"])).toBe("berth: --format: {{.Server.Nope}}: .Server has no field Nope; use one of .Server.Version .Server.Os .Server.Arch .Server.KernelVersion .Server.Components");
    expect(refused(["inspect", "-f", "{{.State.Nope}}", container])).toStartWith("berth: --format: {{.State.Nope}}: .State has no field Nope; use one of .State.Status .State.Running");
    expect(refused(["inspect", "-f", "{{.State.Status.Nope}}", container])).toBe("berth: --format: {{.State.Status.Nope}}: .State.Status is text and has no field Nope; use {{json .State.Status}} to see it");
    expect(refused(["image", "inspect", "-f", "{{.Config.Nope}}", "busybox"])).toStartWith("berth: --format: {{.Config.Nope}}: .Config has no field Nope; use one of .Config.Hostname");
    expect(refused(["events", "--until", "0s", "--format", "{{.Actor.Nope}}"])).toBe("berth: --format: {{.Actor.Nope}}: .Actor has no field Nope; use one of .Actor.ID .Actor.Attributes");
  });

  test("a map's missing key prints <no value>, as docker's; its present keys and the struct fields print", () => {
    expect(store.berth(["inspect", "-f", "{{.Config.Labels.nope}}|{{.Config.Labels.tier}}|{{index .Config.Labels \"nope\"}}|{{.State.Status}}|{{.NetworkSettings.Networks.bridge.IPAddress}}|{{.NetworkSettings.Networks.nope}}", container]))
      .toEqual({ code: 0, stdout: "<no value>|web|<no value>|created||<no value>\n", stderr: "" });
    expect(store.berth(["volume", "inspect", "-f", "{{.Labels.tier}} {{.Labels.nope}} {{.Options.nope}} {{.Name}}", volume])).toEqual({ code: 0, stdout: `data <no value> <no value> ${volume}\n`, stderr: "" });
    expect(store.berth(["inspect", "-f", "{{.Labels.tier}}", volume])).toEqual({ code: 0, stdout: "data\n", stderr: "" });
    expect(store.berth(["image", "inspect", "-f", "{{.Config.Labels.nope}} {{.GraphDriver.Data.nope}} {{.RepoTags}}", "busybox"])).toEqual({ code: 0, stdout: "<no value> <no value> [busybox:latest]\n", stderr: "" });
    expect(store.berth(["network", "inspect", "-f", "{{.Name}} {{.Options.nope}} {{.Labels.nope}}", "bridge"])).toEqual({ code: 0, stdout: "bridge <no value> <no value>\n", stderr: "" });
    expect(store.berth(["info", "-f", "{{.Runtimes.nope}} {{.Runtimes.nope.path}}"])).toEqual({ code: 0, stdout: "<no value> <no value>\n", stderr: "" });
    expect(store.berth(["system", "df", "--format", "{{.Type}}={{.TotalCount}}"])).toEqual({ code: 0, stdout: "Images=1\nContainers=1\nLocal Volumes=1\nBuild Cache=0\n", stderr: "" });
  });

  test("inspect's template is checked before the objects are looked for, and one object lacking a field prints nothing", () => {
    expect(refused(["inspect", "-f", "{{", "no-such-object"])).toBe("berth: --format: {{: unclosed action; end it with }}");
    // the container has .Config.Labels; the volume has no .Config: nothing half-printed
    expect(refused(["inspect", "-f", "{{.Config.Labels.tier}}", container, volume])).toStartWith("berth: --format: {{.Config.Labels.tier}}: no field Config; use one of .Name .Driver");
  });
});

test("an empty --format is none given, as docker's: the default table, text or JSON", () => {
  expect(store.berth(["ps", "-a", "--format", ""]).stdout).toStartWith("CONTAINER ID   IMAGE");
  expect(store.berth(["images", "--format", ""]).stdout).toStartWith("REPOSITORY   TAG");
  expect(store.berth(["system", "df", "--format", ""]).stdout).toStartWith("TYPE ");
  expect(store.berth(["version", "-f", ""]).stdout).toStartWith("Client:");
  expect(JSON.parse(store.berth(["inspect", "-f", "", volume]).stdout)[0].Name).toBe(volume);
  expect(JSON.parse(store.berth(["network", "inspect", "-f", "", "bridge"]).stdout)[0].Name).toBe("bridge");
});
