/**
 * Test support: the real config.json files podman, containerd, docker and the CRI
 * generated (../shared/reference/client-specs, beside the checkout as in CI).
 */
import { readdirSync, readFileSync } from "node:fs";

/** BERTH_SHARED is set by scripts/test-all.sh, for the v2 VM where ../shared may be hidden. */
const SHARED = process.env.BERTH_SHARED || new URL("../../shared", import.meta.url).pathname;
export const CLIENT_SPECS_DIR = `${SHARED}/reference/client-specs/`;

export function clientSpec(name: string): { linux?: { resources?: Record<string, unknown> } } {
  return JSON.parse(readFileSync(`${CLIENT_SPECS_DIR}${name.endsWith(".json") ? name : `${name}.json`}`, "utf8"));
}

export function clientSpecNames(): string[] {
  return readdirSync(CLIENT_SPECS_DIR).filter((f) => f.endsWith(".json")).sort();
}
