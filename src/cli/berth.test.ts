import { describe, expect, test } from "bun:test";
import { dockerVerbForm } from "./berth.ts";

describe("docker's `container VERB` forms", () => {
  test("container ls/list/ps are ps, container remove is rm, the other verbs are themselves; global flags stay in front", () => {
    expect(dockerVerbForm(["container", "ls", "-a"])).toEqual(["ps", "-a"]);
    expect(dockerVerbForm(["--root", "/r", "container", "list", "-q"])).toEqual(["--root", "/r", "ps", "-q"]);
    expect(dockerVerbForm(["container", "remove", "-f", "web"])).toEqual(["rm", "-f", "web"]);
    expect(dockerVerbForm(["container", "stop", "-t", "1", "web"])).toEqual(["stop", "-t", "1", "web"]);
    expect(dockerVerbForm(["container", "inspect", "web"])).toEqual(["inspect", "web"]);
  });
  test("container's own verbs, other commands and a verb docker's container has not are left as they are", () => {
    expect(dockerVerbForm(["container", "prune", "-f"])).toEqual(["container", "prune", "-f"]);
    expect(dockerVerbForm(["container", "cleanup", "ID"])).toEqual(["container", "cleanup", "ID"]);
    expect(dockerVerbForm(["container", "pull", "busybox"])).toEqual(["container", "pull", "busybox"]);
    expect(dockerVerbForm(["ps", "container", "ls"])).toEqual(["ps", "container", "ls"]);
    expect(dockerVerbForm(["--runroot", "container", "ls"])).toEqual(["--runroot", "container", "ls"]);
  });
});
