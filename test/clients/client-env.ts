/**
 * What the client integration tests (podman, docker, the registry fixture) share: a
 * check that the real client binaries are installed, naming the apt package when one is
 * not; a synchronous command runner whose output goes through files; and a record of the
 * host's iptables chains, so a test can remove exactly the chains its daemons added.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type HeldLock, lockPath, LockBusyError } from "../../src/sys/lock-file.ts";

export const REPO = join(import.meta.dir, "..", "..");
/**
 * The runtime the clients are pointed at. BERTH_CLIENT_RUNTIME=/usr/sbin/runc runs the
 * same tests against runc, to check that a test asks only what runc gives.
 */
export const RUNTIME = process.env.BERTH_CLIENT_RUNTIME || join(REPO, "bin", "berth-runtime");

/** Client tests run real daemons and containers: root only. Everything else is a failure, not a skip. */
export const isRoot = process.getuid?.() === 0;

// Clients exec what users run: the compiled executable, rebuilt from the current sources
// once per test process unless already built (as test/runtime-harness.ts does).
if (isRoot && !process.env.BERTH_PREBUILT) Bun.spawnSync(["sh", join(REPO, "scripts", "build-runtime.sh")], { stdout: "ignore", stderr: "inherit" });

/** Daemons and CNI plugins live in sbin directories that a test's PATH may lack. */
export const TOOL_PATH = [...new Set([...(process.env.PATH ?? "").split(":").filter(Boolean), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])].join(":");

/** Where `name` is on TOOL_PATH, or undefined. */
export function findCommand(name: string): string | undefined {
  return Bun.which(name, { PATH: TOOL_PATH }) ?? undefined;
}

/**
 * Throw unless every command is installed. `commands` maps a command (or an absolute
 * path) to the Debian package that provides it; the message names what to install.
 */
export function requireCommands(commands: Record<string, string>): void {
  const missing = Object.entries(commands).filter(([cmd]) => (cmd.startsWith("/") ? !existsSync(cmd) : !findCommand(cmd)));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  throw new Error(`${missing.map(([cmd]) => cmd).join(", ")} not installed: apt-get install -y --no-install-recommends ${packages.join(" ")}`);
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `argv` to completion. Output goes through files, not pipes: a daemon or a
 * container started by the command may keep inherited pipe ends open long after it
 * returns. `timeoutMs` only stops a hung client (it is not a measurement).
 */
export function runCommand(argv: string[], opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string } = {}): CommandResult {
  const dir = mkdtempSync(join(tmpdir(), "berth-client-cmd-"));
  const outFd = openSync(join(dir, "out"), "w");
  const errFd = openSync(join(dir, "err"), "w");
  let inFd: number | "ignore" = "ignore";
  if (opts.input !== undefined) {
    writeFileSync(join(dir, "in"), opts.input);
    inFd = openSync(join(dir, "in"), "r");
  }
  try {
    const p = Bun.spawnSync(argv, {
      stdin: inFd,
      stdout: outFd,
      stderr: errFd,
      cwd: opts.cwd,
      env: { ...process.env, PATH: TOOL_PATH, ...opts.env },
      timeout: opts.timeoutMs ?? 180_000,
      killSignal: "SIGKILL",
    });
    const stdout = readFileSync(join(dir, "out"), "utf8");
    const stderr = readFileSync(join(dir, "err"), "utf8");
    const code = p.exitCode ?? 128 + (p.signalCode ? 9 : 0);
    return { code, stdout, stderr: p.exitCode === null ? `${stderr}\n(killed: ${argv.join(" ")} did not finish)` : stderr };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    if (typeof inFd === "number") closeSync(inFd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Like runCommand, but throws with the command line and its stderr unless it exits 0. */
export function mustRun(argv: string[], opts: Parameters<typeof runCommand>[1] = {}): string {
  const r = runCommand(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Poll until `check` holds or `tries` polls (10 ms apart) have passed; never a fixed sleep. */
export async function until(check: () => boolean | Promise<boolean>, tries = 1000): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await Bun.sleep(10);
  }
  return await check();
}

/** GET http://ADDRESS/PATH over loopback; the body, or undefined when nothing answers. */
export async function httpGet(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return await res.text();
  } catch {
    return undefined;
  }
}

/** The chains of each iptables table (legacy or nft, whichever `iptables` is), by table. */
export type ChainSnapshot = Record<string, Set<string>>;
const TABLES = ["filter", "nat", "mangle"];

export function iptablesChains(): ChainSnapshot {
  const snap: ChainSnapshot = {};
  for (const table of TABLES) {
    const r = runCommand(["iptables", "-t", table, "-S"]);
    snap[table] = new Set(r.code === 0 ? r.stdout.split("\n").filter((l) => l.startsWith("-N ")).map((l) => l.slice(3).trim()) : []);
  }
  return snap;
}

/**
 * Remove the chains named `prefix`… that exist now but were not in `before`, with every
 * rule that jumps to them. Only a prefix the caller owns: other tests' daemons (CNI)
 * may be adding chains of their own at the same time.
 */
export function removeNewChains(before: ChainSnapshot, prefix: string): string[] {
  const removed: string[] = [];
  const now = iptablesChains();
  for (const table of TABLES) {
    const added = [...(now[table] ?? [])].filter((c) => c.startsWith(prefix) && !before[table]?.has(c));
    if (added.length === 0) continue;
    const addedSet = new Set(added);
    // first the rules, in any chain, that jump to a chain we remove
    const rules = runCommand(["iptables", "-t", table, "-S"]).stdout.split("\n");
    for (const rule of rules) {
      const m = rule.match(/^-A (\S+) (.*)-j (\S+)/);
      if (m && addedSet.has(m[3]!) && !addedSet.has(m[1]!)) runCommand(["iptables", "-t", table, ...splitRule(rule.replace(/^-A /, "-D "))]);
    }
    for (const chain of added) runCommand(["iptables", "-t", table, "-F", chain]);
    for (const chain of added) {
      if (runCommand(["iptables", "-t", table, "-X", chain]).code === 0) removed.push(`${table}/${chain}`);
    }
  }
  return removed;
}

/** Delete every rule of `table` whose text contains `needle` (e.g. a bridge name or subnet). */
export function removeRulesMatching(table: string, needle: string): void {
  const rules = runCommand(["iptables", "-t", table, "-S"]).stdout.split("\n").filter((r) => r.startsWith("-A ") && r.includes(needle));
  for (const rule of rules) runCommand(["iptables", "-t", table, ...splitRule(rule.replace(/^-A /, "-D "))]);
}

/** iptables -S prints rules with shell-style quoting of comments; split them back into argv. */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  return out;
}

/** Delete a network link if it exists (a bridge a daemon or CNI made). */
export function deleteLink(name: string): void {
  if (existsSync(`/sys/class/net/${name}`)) runCommand(["ip", "link", "delete", name]);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The directory of `pid`'s cgroup for a v1 `controller` (e.g. "memory", "freezer"), or
 * its unified (v2) cgroup when the controller has no v1 hierarchy.
 */
export function cgroupDirOf(pid: number, controller: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  for (const line of lines) {
    const [, controllers, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (controllers && controllers.split(",").includes(controller)) return join("/sys/fs/cgroup", controllers, path!);
  }
  const unified = lines.find((l) => l.startsWith("0::"))!.slice(3);
  return existsSync("/sys/fs/cgroup/cgroup.controllers") ? join("/sys/fs/cgroup", unified) : join("/sys/fs/cgroup/unified", unified);
}

/** Every mount point at or under `dir`, deepest first (for unmounting before rm -rf). */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, " "));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmount everything under `dir` (lazily: a daemon may still hold it) and remove it. */
export function removeTree(dir: string): void {
  for (const m of mountsUnder(dir)) runCommand(["umount", "-l", m]);
  rmSync(dir, { recursive: true, force: true });
}

/** PIDs of processes whose command line mentions `needle` (e.g. a test's temp dir). */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Send SIGKILL to each pid and wait until it is gone (or is a zombie of someone else). */
export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await until(() => pids.every((pid) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true), 500);
}

/**
 * A CNI conflist for a bridge of the test's own, with host-local IPAM state in `ipamDir`
 * and no masquerade (nothing needs to leave the host); `portmap` when -p is tested.
 * `prefix` is the /24's first three octets with the dot: "10.79.0.".
 */
export function bridgeConflist(o: { name: string; bridge: string; prefix: string; ipamDir: string; portmap?: boolean }): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: o.name,
    plugins: [
      {
        type: "bridge", bridge: o.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: "host-local", dataDir: o.ipamDir, routes: [{ dst: "0.0.0.0/0" }], ranges: [[{ subnet: `${o.prefix}0/24`, gateway: `${o.prefix}1` }]] },
      },
      ...(o.portmap ? [{ type: "portmap", capabilities: { portMappings: true } }] : []),
    ],
  });
}

/** rmdir that leaves a directory alone when it is absent, or not empty because something else still uses it. */
export function tryRmdir(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // absent, or still in use by someone else
  }
}

/**
 * Hold the machine-wide lock of one client's test file (podman, docker, cri…) until
 * release. Their daemons use fixed host resources — a named bridge and subnet, podman's
 * CNI cache, /run/docker — so two runs of the same file at once (two checkouts tested
 * side by side) would tear each other's network down; with the lock the second waits.
 * Polls without blocking the event loop, up to `waitMs`.
 */
export async function holdClientLock(client: string, waitMs = 600_000): Promise<HeldLock> {
  const path = join(tmpdir(), `berth-client-test-${client}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return lockPath(path, { create: true, timeoutMs: 0 });
    } catch (err) {
      if (!(err instanceof LockBusyError) || Date.now() > deadline) throw err;
      await Bun.sleep(250);
    }
  }
}

/** beforeAll's timeout for files that first wait for holdClientLock: the wait plus the set-up. */
export const CLIENT_LOCK_HOOK_TIMEOUT = 900_000;
