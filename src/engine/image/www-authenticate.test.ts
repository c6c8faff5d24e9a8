import { expect, test } from "bun:test";
import { parseChallenges } from "./www-authenticate.ts";

test("Docker Hub's bearer challenge", () => {
  expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
    { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
  ]);
});

test("basic, unquoted values, escapes, several challenges", () => {
  expect(parseChallenges('Basic realm="Registry \\"Realm\\""')).toEqual([{ scheme: "basic", params: { realm: 'Registry "Realm"' } }]);
  expect(parseChallenges("Bearer realm=http://127.0.0.1:1/token, service=reg, Basic realm=x")).toEqual([
    { scheme: "bearer", params: { realm: "http://127.0.0.1:1/token", service: "reg" } },
    { scheme: "basic", params: { realm: "x" } },
  ]);
  expect(parseChallenges("")).toEqual([]);
});
