/**
 * Peak RSS of each runtime CLI call, for bench/runtime.sh (see bench/README.md).
 *
 *   bun bench/rss.ts CONFIG.json
 *
 * CONFIG: { reps, bun, out, evict?, runtimes: [{ name, bin, root, bundle }] } where `bundle`
 * runs /bin/true and `evict` names more files to drop from the page cache (what a wrapper
 * script execs). Each repetition, for every runtime in turn (interleaved, so all see the same
 * machine state), measures one call of each kind:
 *
 *   --version · run · create · state (of the created container) · start · delete
 *
 * plus `bun -e 0`, Bun's own floor. Each call runs under GNU time (`/usr/bin/time -f %M`),
 * which reports ru_maxrss from wait4(2): the peak resident set of the process itself and of
 * any children it reaped (for `run`, the container's init), the max of them, not the sum.
 * Bun's own `resourceUsage.maxRSS` is no use here: the kernel folds the RSS a process had
 * before execve into its ru_maxrss, so every child of this ~28 MiB Bun process would
 * report at least that. GNU time forks from ~1 MiB, which is therefore the floor of
 * these numbers (it is printed as "`/bin/true`").
 * Waiting for the container to stop between `start` and `delete` polls `state` unmeasured.
 *
 * Each executable is dropped from the page cache first (see below for why).
 * Prints a markdown table (median and max, MiB) and writes the raw numbers to CONFIG.out.
 */
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface Runtime { name: string; bin: string; root: string; bundle: string }
interface Config { reps: number; bun: string; out: string; evict?: string[]; runtimes: Runtime[] }

const KINDS = ["--version", "run", "create", "state", "start", "delete"] as const;
type Kind = (typeof KINDS)[number];

const config = JSON.parse(readFileSync(process.argv[2] ?? die("usage: bun bench/rss.ts CONFIG.json"), "utf8")) as Config;
const MiB = 1024 * 1024;
const TIME = "/usr/bin/time";
if (!existsSync(TIME)) die(`rss: ${TIME} not found (apt-get install -y time)`);
const timeOut = join(dirname(config.out), "time.out");

function die(msg: string): never {
  console.error(msg);
  process.exit(2);
}

/**
 * Run argv to completion; return its peak RSS in bytes and (with `capture`) its stdout.
 * Only `state` is captured: after `create` the container's init holds
 * the runtime's stdio, so a pipe there would not see EOF until the container is gone.
 * stderr goes to ours, so a failing call explains itself.
 */
function call(argv: string[], capture = false): { rss: number; stdout: string } {
  const r = Bun.spawnSync([TIME, "-q", "-f", "%M", "-o", timeOut, ...argv], { stdin: "ignore", stdout: capture ? "pipe" : "ignore", stderr: "inherit" });
  if (r.exitCode !== 0) die(`rss: \`${argv.join(" ")}\` exited ${r.exitCode ?? r.signalCode}`);
  const kib = Number(readFileSync(timeOut, "utf8").trim().split("\n").pop());
  if (!Number.isFinite(kib) || kib <= 0) die(`rss: ${TIME} gave no peak RSS for \`${argv.join(" ")}\``);
  return { rss: kib * 1024, stdout: capture ? (r.stdout?.toString() ?? "") : "" };
}

function statusOf(stdout: string): string {
  return (JSON.parse(stdout) as { status: string }).status;
}

const samples: Record<string, Record<Kind, number[]>> = {};
for (const rt of config.runtimes) samples[rt.name] = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
const floor: number[] = [];
const timeFloor: number[] = [];

// Every executable measured is first dropped from the page cache (its dirty pages written
// back first), so each maps pages read back by readahead rather than whatever folios its
// build or package install wrote. Measured: berth-runtime --version peaks at 31.6 MiB
// right after `bun build` wrote it and at 26.5 MiB once read back from disk — each fault
// maps a whole large folio of the file, pages the process never touches included.
for (const bin of new Set([config.bun, ...config.runtimes.map((r) => r.bin), ...(config.evict ?? []).filter((f) => existsSync(f))])) {
  const real = realpathSync(bin);
  Bun.spawnSync(["sync", real]);
  const dd = Bun.spawnSync(["dd", `if=${real}`, "iflag=nocache", "count=0", "status=none"]);
  if (dd.exitCode !== 0) die(`rss: dropping ${real} from the page cache failed: ${dd.stderr.toString().trim()}`);
}

for (let i = 0; i < config.reps; i++) {
  floor.push(call([config.bun, "-e", "0"]).rss);
  timeFloor.push(call(["/bin/true"]).rss);
  for (const rt of config.runtimes) {
    const s = samples[rt.name]!;
    const g = [rt.bin, "--root", rt.root];
    const id = `rss-${i}`;
    s["--version"].push(call([rt.bin, "--version"]).rss);
    s.run.push(call([...g, "run", "--bundle", rt.bundle, `${id}-run`]).rss);
    s.create.push(call([...g, "create", "--bundle", rt.bundle, id]).rss);
    const st = call([...g, "state", id], true);
    if (statusOf(st.stdout) !== "created") die(`rss: ${rt.name} state ${id} after create: ${statusOf(st.stdout)}`);
    s.state.push(st.rss);
    s.start.push(call([...g, "start", id]).rss);
    for (let n = 0; statusOf(call([...g, "state", id], true).stdout) !== "stopped"; n++) {
      if (n > 500) die(`rss: ${rt.name} container ${id} did not stop`);
      Bun.sleepSync(2);
    }
    s.delete.push(call([...g, "delete", id]).rss);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const mib = (b: number) => (b / MiB).toFixed(1);
const floorMedian = median(floor);
const berth = config.runtimes.find((r) => r.name === "berth-runtime");

const head = ["call", ...config.runtimes.map((r) => `${r.name} (MiB)`)];
if (berth) head.push("berth-runtime ÷ `bun -e 0`");
const rows: string[][] = [];
for (const k of KINDS) {
  const row = [`\`${k}\``, ...config.runtimes.map((r) => `${mib(median(samples[r.name]![k]))} (max ${mib(Math.max(...samples[r.name]![k]))})`)];
  if (berth) row.push(`${(median(samples[berth.name]![k]) / floorMedian).toFixed(2)}×`);
  rows.push(row);
}
console.log(`Peak RSS per CLI call, median (max) of ${config.reps}, MiB:\n`);
console.log(`| ${head.join(" | ")} |`);
console.log(`|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(`\nBun's floor, \`bun -e 0\`: ${mib(floorMedian)} MiB (max ${mib(Math.max(...floor))}); the measurement's own floor, \`/bin/true\`: ${mib(median(timeFloor))} MiB.`);

writeFileSync(config.out, JSON.stringify({ unit: "bytes", reps: config.reps, bunFloor: floor, binTrue: timeFloor, runtimes: samples }, null, 2) + "\n");
