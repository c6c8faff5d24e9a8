import { describe, expect, test } from "bun:test";
import { familiarString, formatReference, looksLikeId, parseReference } from "./reference.ts";
import { errorOf } from "../../../test/berth-error.ts";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference normalises as docker's", () => {
  test.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["user/app", "docker.io/user/app:latest"],
    ["index.docker.io/user/app:v1", "docker.io/user/app:v1"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/a/b/c:tag", "localhost:5000/a/b/c:tag"],
    ["127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"],
    ["quay.io/podman/hello", "quay.io/podman/hello:latest"],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ["a__b/c-d.e_f", "docker.io/a__b/c-d.e_f:latest"],
  ])("%s → %s", (input, full) => {
    expect(formatReference(parseReference(input))).toBe(full);
  });

  test("the registry is the first component only with a dot, a colon, or localhost", () => {
    expect(parseReference("myhost/app").domain).toBe("docker.io");
    expect(parseReference("myhost/app").path).toBe("myhost/app");
    expect(parseReference("my.host/app").domain).toBe("my.host");
  });

  test.each([
    ["", "is empty"],
    ["Busybox", "upper-case"],
    ["busybox:", "tag"],
    ["busybox:-x", "tag"],
    ["busybox@sha256:abc", "digest"],
    ["a//b", "repository name"],
    ["a/", "repository name"],
    ["-a", "repository name"],
    ["bad host:1/x", "registry"],
  ])("%j is refused (%s)", (input, why) => {
    const err = errorOf(() => parseReference(input));
    expect(err.message).toContain("invalid reference format");
    expect(err.message).toContain(why);
    expect(err.field).toBe("IMAGE");
  });

  test("no tag by default only when asked", () => {
    expect(parseReference("busybox", { defaultTag: false }).tag).toBeUndefined();
  });
});

describe("familiar forms", () => {
  test("docker.io/library is dropped, other registries kept", () => {
    expect(familiarString("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarString("docker.io/user/app:1")).toBe("user/app:1");
    expect(familiarString("localhost/busybox:latest")).toBe("localhost/busybox:latest");
    expect(familiarString(`docker.io/library/busybox@${D}`)).toBe(`busybox@${D}`);
  });
  test("ids and prefixes", () => {
    expect(looksLikeId("57e35e63a4b0")).toBe(true);
    expect(looksLikeId(`sha256:${"b".repeat(64)}`)).toBe(true);
    expect(looksLikeId("busybox")).toBe(false);
  });
});
