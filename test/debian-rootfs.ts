/**
 * A real Debian root filesystem for the image tests and bench: `mmdebstrap
 * --variant=minbase bookworm` from the machine's apt sources (no other network), as a
 * tar, built once per machine boot under /tmp (about three minutes) and shared.
 */
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireCommands, runCommand } from "./clients/client-env.ts";

export function debianRootfsTar(): string {
  requireCommands({ mmdebstrap: "mmdebstrap" });
  const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 8);
  const out = join(tmpdir(), `berth-debian-minbase-bookworm-${bootId}.tar`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    const r = runCommand(["mmdebstrap", "--variant=minbase", "--quiet", "bookworm", tmp], { timeoutMs: 900_000 });
    if (r.code !== 0) throw new Error(`mmdebstrap failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}
