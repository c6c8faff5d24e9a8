import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { parseResourcesJson } from "./update.ts";

describe("parseResourcesJson: the --resources body", () => {
  test("an OCI LinuxResources object, checked", () => {
    expect(parseResourcesJson('{"memory":{"limit":1048576},"cpu":{"shares":512,"cpus":""},"pids":{"limit":10}}', "-"))
      .toEqual({ memory: { limit: 1048576 }, cpu: { shares: 512, cpus: "" }, pids: { limit: 10 } });
  });

  test("devices are dropped, as runc skips them: the caller's list lacks the defaults create added", () => {
    expect(parseResourcesJson('{"devices":[{"allow":false,"access":"rwm"}],"pids":{"limit":5}}', "f.json")).toEqual({ pids: { limit: 5 } });
  });

  test("broken JSON names --resources and where it came from", () => {
    const err = errorOf(() => parseResourcesJson("{memory", "standard input"));
    expect(err.message).toStartWith("--resources: standard input is not valid JSON");
  });

  test("a bad field names its linux.resources path", () => {
    expect(errorOf(() => parseResourcesJson('{"pids":{"limit":"x"}}', "-")).message).toBe('linux.resources.pids.limit: got "x"; use a whole number');
    expect(errorOf(() => parseResourcesJson("[1]", "-")).message).toBe("linux.resources: got [1]; use a JSON object");
  });
});
