import { describe, expect, test } from "bun:test";
import { criExit, dockerExit, podmanExit, podmanRecord } from "./engine-exits.ts";

const ID = "0b80955e599bba3867a9716619de204e0e40999d49adf45593b77452b419190c";
const OTHER = "1f299f99fd6dd9a7a1113076e719388454a11882cba10e1a0b5e7a39a206e4a4";

describe("dockerExit (config.v2.json State)", () => {
  const state = (s: Record<string, unknown>) => JSON.stringify({ ID, Name: "/web", State: { Running: false, Paused: false, Restarting: false, Pid: 0, StartedAt: "2026-11-24T01:00:00.1Z", ...s } });

  test("an exit: code, the time, the file", () => {
    expect(dockerExit(state({ ExitCode: 3, OOMKilled: false, Error: "", FinishedAt: "2026-11-24T01:00:01.5Z" }), "/d/config.v2.json"))
      .toEqual({ code: 3, finishedAt: "2026-11-24T01:00:01.5Z", startedAt: "2026-11-24T01:00:00.1Z", source: "/d/config.v2.json" });
  });

  test("an OOM kill docker saw, and docker's own error text", () => {
    expect(dockerExit(state({ ExitCode: 137, OOMKilled: true, Error: "", FinishedAt: "2026-11-24T01:00:01Z" }), "f")).toMatchObject({ code: 137, oomKilled: true });
    expect(dockerExit(state({ ExitCode: 127, Error: "exec: \"nope\": executable file not found in $PATH", FinishedAt: "2026-11-24T01:00:01Z" }), "f"))
      .toMatchObject({ code: 127, detail: "exec: \"nope\": executable file not found in $PATH" });
  });

  test("running, restarting, never started, or not docker's JSON: no exit", () => {
    expect(dockerExit(state({ Running: true, ExitCode: 0, FinishedAt: "0001-01-01T00:00:00Z" }), "f")).toBeUndefined();
    expect(dockerExit(state({ Restarting: true, ExitCode: 1, FinishedAt: "2026-11-24T01:00:01Z" }), "f")).toBeUndefined();
    expect(dockerExit(state({ ExitCode: 0, FinishedAt: "0001-01-01T00:00:00Z" }), "f")).toBeUndefined();
    expect(dockerExit("{", "f")).toBeUndefined();
    expect(dockerExit("[]", "f")).toBeUndefined();
    expect(dockerExit('{"State":null}', "f")).toBeUndefined();
  });
});

describe("criExit (containerd CRI status, versioned v1)", () => {
  // the shape containerd's pkg/cri/store/container/status.go encodes: Version + the Status fields
  const status = (s: Record<string, unknown>) => JSON.stringify({ Version: "v1", Pid: 4242, CreatedAt: 1795480000000000000, StartedAt: 1795480001000000000, FinishedAt: 0, ExitCode: 0, Reason: "", Message: "", Resources: null, ...s });

  test("an exit: code, reason, the finish time from nanoseconds", () => {
    expect(criExit(status({ FinishedAt: 1795480002000000000, ExitCode: 3, Reason: "Error" }), "/c/status"))
      .toEqual({ code: 3, detail: "Error", finishedAt: new Date(1795480002000).toISOString(), startedAt: new Date(1795480001000).toISOString(), source: "/c/status" });
  });

  test("no stored reason: Error or Completed, as the plugin's ContainerStatus reports it", () => {
    expect(criExit(status({ FinishedAt: 1795480002000000000, ExitCode: 3 }), "f")).toMatchObject({ code: 3, detail: "Error" });
    expect(criExit(status({ FinishedAt: 1795480002000000000, ExitCode: 0 }), "f")).toMatchObject({ code: 0, detail: "Completed" });
  });

  test("reason OOMKilled is an OOM kill; the message joins the reason", () => {
    expect(criExit(status({ FinishedAt: 1795480002000000000, ExitCode: 137, Reason: "OOMKilled" }), "f")).toMatchObject({ code: 137, oomKilled: true, detail: "OOMKilled" });
    expect(criExit(status({ FinishedAt: 1795480002000000000, ExitCode: 128, Reason: "StartError", Message: "exec: no such file" }), "f"))
      .toMatchObject({ code: 128, detail: "StartError: exec: no such file" });
  });

  test("created or running (FinishedAt 0), or garbage: no exit", () => {
    expect(criExit(status({}), "f")).toBeUndefined();
    expect(criExit("not json", "f")).toBeUndefined();
    expect(criExit('{"Version":"v1","FinishedAt":5}', "f")).toBeUndefined();
  });
});

describe("podmanExit (events.log, file backend)", () => {
  // lines as podman 4.3 writes them (captured on this machine)
  const log = [
    `{"ID":"${ID}","Name":"pe1","Status":"create","Time":"2026-11-24T01:16:18.570494783Z","Type":"container","Attributes":{}}`,
    `{"ID":"${ID}","Name":"pe1","Status":"start","Time":"2026-11-24T01:16:18.681475854Z","Type":"container","Attributes":{}}`,
    `{"ContainerExitCode":3,"ID":"${ID}","Name":"pe1","Status":"died","Time":"2026-11-24T01:16:18.716367429Z","Type":"container","Attributes":{}}`,
    `{"ID":"${ID}","Name":"pe1","Status":"cleanup","Time":"2026-11-24T01:16:18.724983416Z","Type":"container","Attributes":{}}`,
    // exit code 0 is omitted (Go's omitempty)
    `{"ID":"${OTHER}","Name":"pe2","Status":"died","Time":"2026-11-24T01:17:11.166914768Z","Type":"container","Attributes":{}}`,
    "",
  ].join("\n");

  test("by name, by id, by a 12-character prefix", () => {
    const want = { code: 3, finishedAt: "2026-11-24T01:16:18.716367429Z", startedAt: "2026-11-24T01:16:18.681475854Z", source: "/e", id: ID, name: "pe1" };
    expect(podmanExit(log, "pe1", "/e")).toEqual(want);
    expect(podmanExit(log, ID, "/e")).toEqual(want);
    expect(podmanExit(log, ID.slice(0, 12), "/e")).toEqual(want);
    expect(podmanExit(log, ID.slice(0, 6), "/e")).toBeUndefined(); // too short to be sure
  });

  test("no ContainerExitCode means 0", () => {
    expect(podmanExit(log, "pe2", "/e")).toMatchObject({ code: 0, id: OTHER });
  });

  test("the last death counts (a restarted container)", () => {
    const again = `${log}{"ContainerExitCode":137,"ID":"${ID}","Name":"pe1","Status":"died","Time":"2026-11-24T02:00:00Z","Type":"container","Attributes":{}}\n`;
    expect(podmanExit(again, "pe1", "/e")).toMatchObject({ code: 137, finishedAt: "2026-11-24T02:00:00Z" });
  });

  test("the record: id, name, the last status and when it started — a container left in Created has no exit", () => {
    const created = `{"ID":"${OTHER}","Name":"pe3","Status":"create","Time":"2026-11-24T03:00:00Z","Type":"container","Attributes":{}}\n`;
    expect(podmanRecord(created, "pe3", "/e")).toEqual({ id: OTHER, name: "pe3", status: "create" });
    expect(podmanRecord(log, "pe1", "/e")).toMatchObject({ id: ID, name: "pe1", status: "cleanup", startedAt: "2026-11-24T01:16:18.681475854Z", exit: { code: 3 } });
    // a name reused by a later container: the later one
    expect(podmanRecord(log + created.replace("pe3", "pe1"), "pe1", "/e")).toEqual({ id: OTHER, name: "pe1", status: "create" });
  });

  test("no died event, or a torn last line: nothing", () => {
    expect(podmanExit(log, "nosuch", "/e")).toBeUndefined();
    expect(podmanExit(`{"ContainerExitCode":3,"ID":"${ID}","Name":"x","Status":"died"`, "x", "/e")).toBeUndefined();
  });
});
