import { describe, expect, test } from "bun:test";
import { committedConfig } from "./commit.ts";
import type { ContainerRecord } from "./records.ts";

const record = (over: Partial<ContainerRecord>): ContainerRecord => ({
  Id: "a".repeat(64), Name: "c", Hostname: "aaaaaaaaaaaa", Env: [], WorkingDir: "/", User: "", Labels: {}, Path: "sh", Args: [], Flags: {},
  ...over,
}) as unknown as ContainerRecord;

describe("committedConfig: the container's config as the new image's, as docker's commit takes Config", () => {
  test("HOSTNAME and -t's TERM=xterm are the engine's, added at start: not in the image", () => {
    const r = record({ Env: ["PATH=/bin", "HOSTNAME=aaaaaaaaaaaa", "TERM=xterm", "A=1"], Flags: { tty: true, env: ["A=1"] } });
    expect(committedConfig(r, { Env: ["PATH=/bin"] }).Env).toEqual(["PATH=/bin", "A=1"]);
  });
  test("a TERM or HOSTNAME the image or -e set stays", () => {
    expect(committedConfig(record({ Env: ["TERM=xterm"], Flags: { tty: true } }), { Env: ["TERM=xterm"] }).Env).toEqual(["TERM=xterm"]);
    expect(committedConfig(record({ Env: ["TERM=xterm"], Flags: { tty: true, env: ["TERM=xterm"] } }), {}).Env).toEqual(["TERM=xterm"]);
    expect(committedConfig(record({ Env: ["HOSTNAME=aaaaaaaaaaaa"], Flags: { env: ["HOSTNAME"] } }), {}).Env).toEqual(["HOSTNAME=aaaaaaaaaaaa"]);
  });
  test("without -t a TERM=xterm is the user's", () => {
    expect(committedConfig(record({ Env: ["TERM=xterm"] }), {}).Env).toEqual(["TERM=xterm"]);
  });
});
