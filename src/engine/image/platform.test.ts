import { describe, expect, test } from "bun:test";
import { hostPlatform, offeredPlatforms, parsePlatform, selectManifest } from "./platform.ts";
import type { Descriptor } from "../../spec/image-spec.ts";
import { errorOf } from "../../../test/berth-error.ts";

const d = (arch: string, variant?: string, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${arch.padEnd(64, "0").slice(0, 64).replace(/[^a-f0-9]/g, "0")}`, size: 1,
  platform: { os: "linux", architecture: arch, ...(variant && { variant }) }, ...extra,
});

describe("platforms", () => {
  test("the host in Go's names", () => {
    expect(hostPlatform("x64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(hostPlatform("arm64")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
  });
  test("--platform forms", () => {
    expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/x86_64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/arm/v7")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(errorOf(() => parsePlatform("amd64")).message).toContain("must be OS/ARCH[/VARIANT]");
    expect(errorOf(() => parsePlatform("amd64")).field).toBe("--platform");
  });
  test("selection: exact variant, arm64 without variant is v8, attestations never", () => {
    const att = d("unknown", undefined, { platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest" } });
    const list = [att, d("arm", "v6"), d("arm", "v7"), d("arm64"), d("amd64")];
    expect(selectManifest(list, { os: "linux", architecture: "amd64" })).toBe(list[4]);
    expect(selectManifest(list, { os: "linux", architecture: "arm", variant: "v7" })).toBe(list[2]);
    expect(selectManifest(list, { os: "linux", architecture: "arm64", variant: "v8" })).toBe(list[3]);
    expect(selectManifest(list, { os: "linux", architecture: "s390x" })).toBeUndefined();
    expect(selectManifest([att], { os: "unknown", architecture: "unknown" })).toBeUndefined();
    expect(offeredPlatforms(list)).toEqual(["linux/arm/v6", "linux/arm/v7", "linux/arm64", "linux/amd64"]);
  });
});
