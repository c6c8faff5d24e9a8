import { describe, expect, test } from "bun:test";
import { localDriverOptions, mountArgs, needsMount } from "./local-options.ts";

describe("localDriverOptions: moby's validateOpts", () => {
  test("type, device and o as given; a key without = has an empty value, as docker's MapOpts", () => {
    expect(localDriverOptions(["type=tmpfs", "device=tmpfs", "o=size=64m,uid=1000"])).toEqual({ type: "tmpfs", device: "tmpfs", o: "size=64m,uid=1000" });
    expect(localDriverOptions(["type=nfs", "device=:/export", "o=addr=10.0.0.1,rw"])).toEqual({ type: "nfs", device: ":/export", o: "addr=10.0.0.1,rw" });
    expect(localDriverOptions(["type=none", "device=/srv", "o"])).toEqual({ type: "none", device: "/srv", o: "" });
    expect(localDriverOptions([])).toEqual({});
  });
  test("a later value of a key wins", () => {
    expect(localDriverOptions(["type=ext4", "device=/dev/a", "device=/dev/b"]).device).toBe("/dev/b");
  });
  test("an unknown key, size (no quota support), and each key without the ones it needs are refused naming them", () => {
    expect(() => localDriverOptions(["colour=red"])).toThrow('--opt: invalid option "colour" for the local driver; use type=, device= and o=');
    expect(() => localDriverOptions(["size=1g"])).toThrow("--opt: size=1g: a volume size needs the local driver's quota support, which berth lacks; leave it out (a tmpfs volume takes o=size=1g)");
    expect(() => localDriverOptions(["type=tmpfs"])).toThrow("--opt: type= needs device= too");
    expect(() => localDriverOptions(["device=/dev/sdb1"])).toThrow("--opt: device= needs type= too");
    expect(() => localDriverOptions(["o=bind"])).toThrow("--opt: o= needs device= too");
    expect(() => localDriverOptions(["type=none", "device="])).toThrow("--opt: device= is empty");
  });
});

describe("needsMount and mountArgs", () => {
  test("a volume is a mount when it has a device or a type", () => {
    expect(needsMount({})).toBe(false);
    expect(needsMount(undefined)).toBe(false);
    expect(needsMount({ type: "tmpfs", device: "tmpfs" })).toBe(true);
  });
  test("mount(8)'s arguments: the type, o when given, the device and the volume's _data after --", () => {
    expect(mountArgs({ type: "tmpfs", device: "tmpfs", o: "size=64m" }, "/v/_data")).toEqual(["-n", "-t", "tmpfs", "-o", "size=64m", "--", "tmpfs", "/v/_data"]);
    expect(mountArgs({ type: "ext4", device: "/dev/loop3" }, "/v/_data")).toEqual(["-n", "-t", "ext4", "--", "/dev/loop3", "/v/_data"]);
  });
});
