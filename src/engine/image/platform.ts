/**
 * Platforms (`linux/amd64`, `linux/arm/v7`): the host's, `--platform`'s, and which entry
 * of an image index fits — containerd's platforms.Only: the exact variant first, then
 * older variants of the same architecture (arm64 runs arm/v8… not covered here). Index
 * entries that are attestations (`vnd.docker.reference.type: attestation-manifest`, or
 * platform unknown/unknown) are never chosen. Pure.
 */
import { BerthError } from "../../errors.ts";
import type { Descriptor, Platform } from "../../spec/image-spec.ts";

const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

/** The platform this process runs on, in Go's names (os linux, arch amd64, arm64 with variant v8). */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = GO_ARCH[arch] ?? arch;
  return { os: "linux", architecture, ...(architecture === "arm64" && { variant: "v8" }), ...(architecture === "arm" && { variant: "v7" }) };
}

/** `os/arch[/variant]`, normalised (x86_64 → amd64, aarch64 → arm64). */
export function parsePlatform(text: string): Platform {
  const parts = text.toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new BerthError(`${JSON.stringify(text)} must be OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8`, { field: "--platform" });
  }
  const arch = ({ x86_64: "amd64", x86: "386", aarch64: "arm64", armhf: "arm", armel: "arm" } as Record<string, string>)[parts[1]!] ?? parts[1]!;
  return { os: parts[0]!, architecture: arch, ...(parts[2] !== undefined && { variant: parts[2] }), ...(parts[2] === undefined && arch === "arm64" && { variant: "v8" }) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" || (d.platform?.os === "unknown" && d.platform.architecture === "unknown");
}

/** The index entry for `want`, or undefined; entries without a platform count only when the index has one entry. */
export function selectManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((d) => !isAttestation(d));
  const fits = (d: Descriptor, variant: string | undefined) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture &&
    (d.platform.variant ?? (d.platform.architecture === "arm64" ? "v8" : undefined)) === variant;
  return candidates.find((d) => fits(d, want.variant)) ??
    (want.variant === undefined ? undefined : candidates.find((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture && d.platform.variant === undefined)) ??
    (candidates.length === 1 && !candidates[0]!.platform ? candidates[0] : undefined);
}

/** The platforms an index offers (for "no manifest for linux/amd64 in …; it has linux/arm64, …"). */
export function offeredPlatforms(manifests: Descriptor[]): string[] {
  return manifests.filter((d) => !isAttestation(d) && d.platform).map((d) => formatPlatform(d.platform!));
}
