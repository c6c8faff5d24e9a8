/**
 * The engine's verbs on real containers: berth run/ps/logs/inspect/exec/stop/rm… with
 * berth-monitor and berth-runtime, a private root pair, a busybox root filesystem (--rootfs).
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { busyboxImageLayout, startRegistryWithBusybox } from "../../../test/clients/registry.ts";
import { BERTH, canRunContainers, canRunConmon, EngineFixture, until } from "../../../test/engine-harness.ts";
import { LineStream } from "../../../test/line-stream.ts";

// each test runs real containers, one berth process per step: in the cgroup v2 VM (QEMU TCG) that is 10-50× slower
setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon;
const fx = ok ? new EngineFixture("ctr") : (undefined as unknown as EngineFixture);
afterAll(() => fx?.cleanup());

const HEX64 = /^[0-9a-f]{64}$/;

/** After each test of a block: remove the containers it left (a failed one's), but `keep`'s, so one failure does not fail the tests after it. */
function removeLeftContainers(keep: () => string[] = () => []): void {
  afterEach(() => {
    const left = fx.records().filter((id) => !keep().includes(id));
    if (left.length) fx.berth(["rm", "-f", "-v", ...left]);
  });
}

describe.skipIf(!ok)("run in the foreground", () => {
  removeLeftContainers();
  test("stdout and stderr apart, the container's exit code, --rm leaves no record, monitor or cgroup", () => {
    const r = fx.run(["--rm"], ["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
  test("a file whose name is not UTF-8 (written by the container) does not keep run --rm from removing its volume and record", () => {
    const r = fx.run(["--rm", "-v", "/data"], ["sh", "-c", "mkdir /data/$(printf 'd\\376') && touch /data/$(printf 'd\\376')/$(printf 'a\\377b') /data/$(printf '\\377')"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(fx.records()).toEqual([]);
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe("");
  });
  test("a command that is not found exits 127, one that cannot run 126; neither leaves a record", () => {
    const missing = fx.run([], ["no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("executable file not found");
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    const noexec = fx.run([], ["/etc/passwd"]);
    expect(noexec.code).toBe(126);
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
  test("-i passes stdin; docker's environment and hostname; -e, -w, -u", () => {
    const r = fx.berth(["run", "--network", "none", "--rm", "-i", "--cgroup-parent", fx.cgroupParent, "-e", "A=1", "-w", "/tmp", "-u", "nobody", "--hostname", "box", "--rootfs", fx.rootfs, "sh", "-c", "read l; echo $l $A $(pwd) $(id -u) $(hostname) $HOSTNAME"], { stdin: "piped\n" });
    expect(r).toMatchObject({ code: 0, stdout: "piped 1 /tmp 65534 box box\n" });
  });
  test("under its monitor, as docker's: its output in logs, running in ps meanwhile; a signal to berth goes to the container", async () => {
    const name = `fg-${process.pid}`;
    const p = Bun.spawn([BERTH, "run", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "trap 'echo term; exit 7' TERM; echo up; echo warn >&2; while true; do sleep 0.1; done"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
    expect(await until(() => fx.berth(["logs", name]).stdout === "up\n", 60_000)).toBe(true);
    expect(fx.berth(["ps", "--format", "{{.Names}} {{.Status}}"]).stdout).toMatch(new RegExp(`^${name} Up `, "m"));
    p.kill("SIGTERM");
    expect(await p.exited).toBe(7);
    expect(await new Response(p.stdout).text()).toBe("up\nterm\n");
    expect(await new Response(p.stderr).text()).toBe("warn\n");
    const logs = fx.berth(["logs", name]);
    expect(logs).toMatchObject({ stdout: "up\nterm\n", stderr: "warn\n" });
    expect(fx.inspect(name).State).toMatchObject({ Status: "exited", ExitCode: 7 });
    expect(fx.berth(["rm", name]).code).toBe(0);
  });
  test("FinishedAt is when the container ended, not when its exit was recorded: a foreground run stopped (Ctrl-Z) records it late", async () => {
    const name = `late-${process.pid}`;
    const p = Bun.spawn([BERTH, "run", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "echo up; sleep 1; exit 5"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: fx.env() });
    expect(await until(() => fx.berth(["logs", name]).stdout === "up\n", 60_000)).toBe(true);
    p.kill("SIGSTOP");
    try {
      expect(await until(() => fx.inspect(name).State.Status === "exited", 60_000)).toBe(true);
      const seen = fx.inspect(name).State;
      expect(seen.ExitCode).toBe(5);
      expect(Date.parse(seen.FinishedAt)).toBeGreaterThan(Date.parse(seen.StartedAt));
      expect(fx.berth(["ps", "-a", "--filter", `name=${name}`, "--format", "{{.Status}}"]).stdout).toMatch(/^Exited \(5\) /);
      await Bun.sleep(1500);
      const resumed = Date.now();
      p.kill("SIGCONT");
      expect(await p.exited).toBe(5);
      const recorded = fx.inspect(name).State;
      expect(recorded.FinishedAt).toBe(seen.FinishedAt);
      expect(Date.parse(recorded.FinishedAt)).toBeLessThan(resumed);
    } finally {
      p.kill("SIGCONT");
    }
    expect(fx.berth(["rm", name]).code).toBe(0);
  });
  test("output without a last newline is printed (run, logs, logs -f), and a prompt shows before its line ends (-i)", async () => {
    const name = `nonl-${process.pid}`;
    const r = fx.berth(["run", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "printf abc; printf def >&2"]);
    expect(r).toMatchObject({ code: 0, stdout: "abc", stderr: "def" });
    expect(fx.berth(["logs", name])).toMatchObject({ stdout: "abc", stderr: "def" });
    expect(fx.berth(["logs", "-f", name])).toMatchObject({ stdout: "abc", stderr: "def" });
    expect(fx.berth(["logs", "--tail", "1", name])).toMatchObject({ stdout: "", stderr: "def" });
    expect(fx.berth(["rm", name]).code).toBe(0);
    const p = Bun.spawn([BERTH, "run", "--rm", "-i", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sh", "-c", "printf 'name: '; read x; echo \"hi $x\""], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: fx.env() });
    const out = new LineStream(p.stdout);
    // the prompt arrives while the container waits for its answer: before the fix it came only with the next newline
    expect(await until(() => out.partial === "name: ", 60_000)).toBe(true);
    p.stdin.write("bob\n");
    p.stdin.end();
    expect(await p.exited).toBe(0);
    expect(await until(() => out.lines.includes("name: hi bob"), 10_000)).toBe(true);
  });
  test("-u NAME reads the root's own /etc/passwd: a symlink to the host's /dev/zero or a FIFO there is no passwd (it hung run)", () => {
    const root = join(fx.dir, "hostile-passwd");
    cpSync(fx.rootfs, root, { recursive: true, verbatimSymlinks: true });
    try {
      rmSync(join(root, "etc/passwd"));
      symlinkSync("/dev/zero", join(root, "etc/passwd"));
      const zero = fx.berth(["run", "--network", "none", "--rm", "--cgroup-parent", fx.cgroupParent, "-u", "nobody", "--rootfs", root, "true"]);
      expect(zero.code).toBe(125);
      expect(zero.stderr).toMatch(/^berth: --user: unable to find user nobody/);
      rmSync(join(root, "etc/passwd"));
      expect(Bun.spawnSync(["mkfifo", join(root, "etc/passwd")]).exitCode).toBe(0);
      const fifo = fx.berth(["run", "--network", "none", "--rm", "--cgroup-parent", fx.cgroupParent, "-u", "nobody", "--rootfs", root, "true"]);
      expect(fifo.code).toBe(125);
      expect(fifo.stderr).toMatch(/^berth: --user: unable to find user nobody/);
      // a symlink climbing out lands inside the root: its own passwd, as docker resolves it
      rmSync(join(root, "etc/passwd"));
      writeFileSync(join(root, "etc/passwd.real"), "web:x:4321:4321::/:/bin/sh\n");
      symlinkSync("../../../../../../etc/passwd.real", join(root, "etc/passwd"));
      expect(fx.berth(["run", "--network", "none", "--rm", "--cgroup-parent", fx.cgroupParent, "-u", "web", "--rootfs", root, "id", "-u"])).toMatchObject({ code: 0, stdout: "4321\n" });
      expect(fx.records()).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!ok || !Bun.which("script"))("run -it on a terminal", () => {
  removeLeftContainers();
  test("the container gets a terminal of its own, TERM=xterm, and its exit code comes back", async () => {
    const cmd = `${BERTH} run --rm -it --network none --cgroup-parent ${fx.cgroupParent} --rootfs ${fx.rootfs} sh -c 'tty; echo $TERM; exit 5'`;
    // script's stdin open and quiet, as a user's terminal (at EOF script would type its EOF character into the container's terminal)
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env: fx.env(), stdin: "pipe", stdout: "pipe" });
    expect(await p.exited).toBe(5);
    expect(await new Response(p.stdout).text()).toMatch(/\/dev\/pts\/\d+\r?\nxterm\r?\n/);
    p.stdin.end();
    expect(fx.records()).toEqual([]);
  });
  test("typed into: the keys reach the container's shell, its terminal's output comes back as it is (\\r\\n, not \\r\\r\\n) and is in logs", async () => {
    const name = `it-${process.pid}`;
    const cmd = `${BERTH} run --name ${name} -it --network none --cgroup-parent ${fx.cgroupParent} --rootfs ${fx.rootfs} sh`;
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env: fx.env(), stdin: "pipe", stdout: "pipe" });
    expect(await until(() => fx.berth(["logs", name]).stdout.includes("built-in shell"), 60_000)).toBe(true);
    p.stdin.write("echo sum=$((40+2))\r");
    p.stdin.flush();
    expect(await until(() => fx.berth(["logs", name]).stdout.includes("sum=42"), 60_000)).toBe(true);
    p.stdin.write("exit 4\r");
    p.stdin.flush();
    expect(await p.exited).toBe(4);
    const out = await new Response(p.stdout).text();
    expect(out).toContain("sum=42\r\n");
    expect(out).not.toContain("\r\r\n");
    expect(fx.berth(["logs", name]).stdout).toContain("sum=42\r\n");
    expect(fx.berth(["rm", name]).code).toBe(0);
  });
});

describe.skipIf(!ok)("a detached container", () => {
  let id = "";
  // web lives through the block; `start again…` removes it
  removeLeftContainers(() => [id]);
  test("run -d prints a 64-hex id; ps shows it running by name; the name is unique (125)", () => {
    id = fx.runDetached(["--name", "web", "-l", "tier=front"], ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line$i; sleep 0.2; done"]);
    expect(id).toMatch(HEX64);
    const ps = fx.berth(["ps"]);
    expect(ps.stdout.split("\n")[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(ps.stdout).toContain(`${id.slice(0, 12)}   `);
    expect(ps.stdout).toMatch(/Up .* web\n/);
    const again = fx.run(["-d", "--name", "web"], ["true"]);
    expect(again.code).toBe(125);
    expect(again.stderr).toMatch(/^berth: --name: the container name "\/web" is already in use by container "[0-9a-f]{64}"; remove \(or rename\) that container to reuse the name\n$/);
    expect(fx.records()).toEqual([id]);
  });
  test("ps --format, -q, --no-trunc, --filter", () => {
    expect(fx.berth(["ps", "-q"]).stdout).toBe(`${id.slice(0, 12)}\n`);
    expect(fx.berth(["ps", "-q", "--no-trunc"]).stdout).toBe(`${id}\n`);
    expect(fx.berth(["ps", "--format", "{{.Names}} {{.State}}"]).stdout).toBe("web running\n");
    const json = JSON.parse(fx.berth(["ps", "--format", "json"]).stdout);
    expect(json).toMatchObject({ ID: id.slice(0, 12), Names: "web", State: "running", Labels: "tier=front" });
    expect(fx.berth(["ps", "-q", "--filter", "label=tier=front"]).stdout).toBe(`${id.slice(0, 12)}\n`);
    expect(fx.berth(["ps", "-q", "--filter", "label=tier=back"]).stdout).toBe("");
    expect(fx.berth(["ps", "-q", "--filter", "name=we"]).stdout).toBe(`${id.slice(0, 12)}\n`);
    const bad = fx.berth(["ps", "--format", "{{.Nope}}"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --format: \{\{\.Nope\}\}: no field Nope; use \{\{json \.\}\} or one of \.ID /);
  });
  test("logs, --tail, -t, -f follows; a 12-hex prefix and the name both work", async () => {
    await until(() => fx.berth(["logs", "web"]).stdout.split("\n").length > 4, 120_000);
    const all = fx.berth(["logs", id.slice(0, 12)]).stdout.split("\n").filter(Boolean);
    expect(all.slice(0, 3)).toEqual(["line1", "line2", "line3"]);
    expect(fx.berth(["logs", "--tail", "1", "web"]).stdout).toMatch(/^line\d+\n$/);
    expect(fx.berth(["logs", "-t", "--tail", "1", "web"]).stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line\d+\n$/);
    expect(fx.berth(["logs", "--since", "1h", "--until", "2000-01-01T00:00:00Z", "web"]).stdout).toBe("");
    const follow = Bun.spawn([join(import.meta.dir, "../../../bin/berth"), "logs", "-f", "--tail", "0", "web"], { env: fx.env(), stdout: "pipe" });
    const reader = follow.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^line\d+\n/);
    follow.kill();
    await follow.exited;
  });
  test("inspect: docker's shape, always an array; -f with a Go template", () => {
    const r = fx.berth(["inspect", "web"]);
    const arr = JSON.parse(r.stdout);
    expect(Array.isArray(arr)).toBe(true);
    const c = arr[0];
    expect(c).toMatchObject({ Id: id, Name: "/web", Path: "sh", State: { Status: "running", Running: true, Paused: false, OOMKilled: false, ExitCode: 0 }, Config: { Labels: { tier: "front" } } });
    expect(c.State.Pid).toBeGreaterThan(1);
    expect(readFileSync(`/proc/${c.State.Pid}/cmdline`, "utf8")).toStartWith("sh\0-c\0");
    expect(fx.berth(["inspect", "-f", "{{.State.Status}} {{.Name}}", "web"]).stdout).toBe("running /web\n");
    // the blocks docker's -f is used with: range over a map and a list, if/else, with, join
    expect(fx.berth(["inspect", "-f", "{{range .NetworkSettings.Networks}}[{{.IPAddress}}]{{end}} {{range .Config.Labels}}{{.}}{{end}} {{if .State.Running}}up{{else}}down{{end}} {{with .State}}{{.ExitCode}}{{end}} {{join .Config.Cmd \",\"}}", "web"]).stdout).toBe(`[] front up 0 ${c.Config.Cmd.join(",")}\n`);
    expect(fx.berth(["inspect", "-f", "{{range .State}}{{end}}", "web"])).toMatchObject({ code: 125, stdout: "", stderr: "berth: --format: {{range .State}}: range can't iterate over .State, a struct; range takes a list or a map\n" });
    const missing = fx.berth(["inspect", "web", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("Error: No such object: nope\n");
    expect(JSON.parse(missing.stdout)).toHaveLength(1);
  });
  test("exec: in the container's namespaces with its environment; -e -w -u; -d; 127 and 126", () => {
    const r = fx.berth(["exec", "-e", "B=2", "-w", "/tmp", "-u", "nobody", "web", "sh", "-c", "echo $B $(pwd) $(id -u) $(hostname) $(cat /proc/1/comm)"]);
    expect(r).toMatchObject({ code: 0, stdout: `2 /tmp 65534 ${id.slice(0, 12)} sh\n` });
    // -u drops root's supplementary group 0 (CVE-2022-36109's class): the user's own groups only
    expect(fx.berth(["exec", "-u", "1000:1000", "web", "grep", "^Groups:", "/proc/self/status"]).stdout).toBe("Groups:\t1000 \n");
    expect(fx.berth(["exec", "-u", "nobody", "web", "id", "-G"]).stdout).toBe("65534\n");
    expect(fx.berth(["exec", "web", "sh", "-c", "exit 7"]).code).toBe(7);
    expect(fx.berth(["exec", "web", "nosuch"]).code).toBe(127);
    expect(fx.berth(["exec", "web", "/etc/passwd"]).code).toBe(126);
    expect(fx.berth(["exec", "--env-file", join(fx.dir, "no-such-env"), "web", "true"])).toMatchObject({ code: 125, stderr: `berth: --env-file: cannot read ${join(fx.dir, "no-such-env")}: ENOENT\n` });
    expect(fx.berth(["exec", "-w", "tmp", "web", "pwd"])).toMatchObject({ code: 125, stderr: 'berth: --workdir: the working directory "tmp" is invalid; it needs to be an absolute path\n' });
    expect(fx.berth(["exec", "-e", "=x", "web", "true"])).toMatchObject({ code: 125, stderr: 'berth: --env: invalid environment variable "=x"; use NAME=VALUE or NAME\n' });
    expect(fx.berth(["exec", "-d", "web", "sh", "-c", "echo detached > /tmp/d"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/tmp/d"]).stdout).toBe("detached\n");
    const capBnd = /^CapBnd:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
    expect(fx.berth(["exec", "--privileged", "web", "sh", "-c", "grep ^CapEff: /proc/self/status | cut -f2"]).stdout).toBe(`${capBnd}\n`);
    expect(fx.berth(["exec", "web", "sh", "-c", "grep ^CapEff: /proc/self/status | cut -f2"]).stdout).toBe("00000000a80425fb\n");
  });
  test("stats and top find it by its name (from berth's records; engine-observe.test.ts has more)", () => {
    const stats = fx.berth(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "web"]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^web \d+\n$/);
    expect(fx.berth(["top", "web"]).stdout).toContain("sleep");
  });
  test("cp both ways: a tar stream to -, into a host directory, from the host, from - ; port shows nothing", () => {
    expect(fx.berth(["exec", "web", "sh", "-c", "mkdir -p /srv && echo inside > /srv/f"]).code).toBe(0);
    const out = Bun.spawnSync([join(import.meta.dir, "../../../bin/berth"), "cp", "web:/srv/f", "-"], { env: fx.env() });
    expect(out.exitCode).toBe(0);
    const listed = Bun.spawnSync(["tar", "-tvf", "-"], { stdin: out.stdout });
    expect(listed.stdout.toString()).toMatch(/ f\n$/);
    // docker's rules: a directory to a path that does not exist is made there, with the directory's contents
    const host = join(fx.dir, "cp-out");
    expect(fx.berth(["cp", "web:/srv", host]).code).toBe(0);
    expect(readFileSync(join(host, "f"), "utf8")).toBe("inside\n");
    // into an existing directory by its name; with /. its contents
    expect(fx.berth(["cp", "web:/srv", host]).code).toBe(0);
    expect(readFileSync(join(host, "srv", "f"), "utf8")).toBe("inside\n");
    expect(fx.berth(["exec", "web", "sh", "-c", "echo more > /srv/g"]).code).toBe(0);
    expect(fx.berth(["cp", "web:/srv/.", host]).code).toBe(0);
    expect(readFileSync(join(host, "g"), "utf8")).toBe("more\n");
    // a file to a path that does not exist becomes that file; to a file it replaces it; a trailing / wants a directory
    expect(fx.berth(["cp", "web:/srv/f", join(fx.dir, "cp-file")]).code).toBe(0);
    expect(readFileSync(join(fx.dir, "cp-file"), "utf8")).toBe("inside\n");
    expect(fx.berth(["cp", "web:/srv/g", join(fx.dir, "cp-file")]).code).toBe(0);
    expect(readFileSync(join(fx.dir, "cp-file"), "utf8")).toBe("more\n");
    const slash = fx.berth(["cp", "web:/srv/f", join(fx.dir, "no-dir") + "/"]);
    expect([slash.code, slash.stderr]).toEqual([125, `berth: DEST: the destination directory ${join(fx.dir, "no-dir")}/ does not exist; make it first, or leave out the trailing / to copy to a file of that name\n`]);
    const ontoFile = fx.berth(["cp", "web:/srv", join(fx.dir, "cp-file")]);
    expect(ontoFile.code).toBe(125);
    expect(ontoFile.stderr).toMatch(/cannot copy a directory to a file/);
    expect(readdirSync(fx.dir).filter((n) => n.startsWith(".berth-cp-"))).toEqual([]);
    writeFileSync(join(fx.dir, "in.txt"), "from host\n");
    expect(fx.berth(["cp", join(fx.dir, "in.txt"), "web:/tmp"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/tmp/in.txt"]).stdout).toBe("from host\n");
    // host to container by the same rules: a new file by the name given, a file replaced, a directory made with the contents
    expect(fx.berth(["cp", join(fx.dir, "in.txt"), "web:/root/up"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/root/up"]).stdout).toBe("from host\n");
    expect(fx.berth(["cp", join(fx.dir, "cp-file"), "web:/root/up"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/root/up"]).stdout).toBe("more\n");
    expect(fx.berth(["cp", host, "web:/root/tree"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/root/tree/f", "/root/tree/g", "/root/tree/srv/f"]).stdout).toBe("inside\nmore\ninside\n");
    const hostSlash = fx.berth(["cp", join(fx.dir, "in.txt"), "web:/root/none/"]);
    expect(hostSlash.code).toBe(125);
    expect(hostSlash.stderr).toMatch(/the destination directory \/root\/none\/ does not exist/);
    const tar = Bun.spawnSync(["tar", "-C", fx.dir, "-cf", "-", "in.txt"]).stdout;
    expect(fx.berth(["cp", "-", "web:/srv"], { stdin: tar }).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/srv/in.txt"]).stdout).toBe("from host\n");
    // names that look like tar's options are names, both ways (they were read as options)
    expect(fx.berth(["exec", "web", "sh", "-c", "echo dash > /srv/-v && echo cmd > /srv/--to-command=id"]).code).toBe(0);
    expect(fx.berth(["cp", "web:/srv/-v", join(fx.dir, "dash-out")]).code).toBe(0);
    expect(readFileSync(join(fx.dir, "dash-out"), "utf8")).toBe("dash\n");
    expect(fx.berth(["cp", "web:/srv/--to-command=id", join(fx.dir, "cmd-out")]).code).toBe(0);
    expect(readFileSync(join(fx.dir, "cmd-out"), "utf8")).toBe("cmd\n");
    writeFileSync(join(fx.dir, "-v"), "dash in\n");
    expect(fx.berth(["cp", join(fx.dir, "-v"), "web:/root/-v"]).code).toBe(0);
    expect(fx.berth(["exec", "web", "cat", "/root/-v"]).stdout).toBe("dash in\n");
    expect(fx.berth(["cp", "/a", "/b"]).code).toBe(125);
    expect(fx.berth(["port", "web"])).toMatchObject({ code: 0, stdout: "" });
  });
  test("cp runs a running container's tar as the container's own processes run: its PID namespace and capabilities, never the host's root", () => {
    // the container may replace its tar: here with one that records who runs it, then does the copy
    const probe = 'printf "#!/bin/sh\\n{ grep CapEff /proc/self/status; readlink /proc/self/ns/pid; } > /tmp/cp-probe\\nexec busybox tar \\"\\$@\\"\\n" > /bin/tar.probe && chmod 755 /bin/tar.probe && rm /bin/tar && mv /bin/tar.probe /bin/tar';
    expect(fx.berth(["exec", "web", "sh", "-c", probe]).code).toBe(0);
    try {
      expect(fx.berth(["cp", "web:/etc/hostname", join(fx.dir, "cp-probed")]).code).toBe(0);
      expect(readFileSync(join(fx.dir, "cp-probed"), "utf8")).not.toBe("");
      const init = fx.berth(["exec", "web", "sh", "-c", "grep CapEff /proc/1/status; readlink /proc/1/ns/pid"]).stdout;
      expect(fx.berth(["exec", "web", "cat", "/tmp/cp-probe"]).stdout).toBe(init);
      expect(init).not.toContain(readlinkSync("/proc/self/ns/pid"));
    } finally {
      fx.berth(["exec", "web", "sh", "-c", "rm -f /bin/tar && ln -s /bin/busybox /bin/tar"]);
    }
  });
  test("cp from a container whose tar is hostile: only the entry asked for lands in the host directory, nothing else its archive holds", () => {
    // the container's tar answers every copy with an archive of its choosing: the entry asked for, and a key for the host's user
    const evil = join(fx.rootfs, "evil");
    mkdirSync(join(evil, ".ssh"), { recursive: true });
    mkdirSync(join(evil, "srv"), { recursive: true });
    writeFileSync(join(evil, ".ssh", "authorized_keys"), "ssh-ed25519 AAAA attacker\n");
    writeFileSync(join(evil, "srv", "f"), "asked\n");
    const tar = join(fx.rootfs, "bin", "tar");
    rmSync(tar);
    writeFileSync(tar, '#!/bin/sh\nexec busybox tar -C /evil -cf - .ssh srv\n', { mode: 0o755 });
    try {
      const into = join(fx.dir, "cp-hostile");
      mkdirSync(into);
      expect(fx.berth(["cp", "web:/srv", into]).code).toBe(0);
      expect(readdirSync(into)).toEqual(["srv"]);
      expect(readFileSync(join(into, "srv", "f"), "utf8")).toBe("asked\n");
      // to a new path (unpacked beside it first): the same
      expect(fx.berth(["cp", "web:/srv", join(into, "new")]).code).toBe(0);
      expect(readdirSync(into).sort()).toEqual(["new", "srv"]);
      expect(readdirSync(join(into, "new"))).toEqual(["f"]);
      // an archive without the entry asked for: one line, nothing written
      writeFileSync(tar, '#!/bin/sh\nexec busybox tar -C /evil -cf - .ssh\n', { mode: 0o755 });
      const refused = fx.berth(["cp", "web:/srv", into]);
      expect([refused.code, refused.stderr]).toEqual([1, "berth: cp web:/srv: tar: srv: Not found in archive\n"]);
      expect(readdirSync(into).sort()).toEqual(["new", "srv"]);
    } finally {
      rmSync(tar, { force: true });
      symlinkSync("/bin/busybox", tar);
      rmSync(evil, { recursive: true, force: true });
    }
  });
  test("cp with a container tar that writes much to stderr: the copy is made both ways, and a failure is one short line (was all 200 KB of it)", () => {
    // 200 KB on stderr, no newline, before the copy itself: three times what a pipe holds
    const tar = join(fx.rootfs, "bin", "tar");
    rmSync(tar);
    writeFileSync(tar, '#!/bin/sh\nhead -c 200000 /dev/zero | tr "\\0" x >&2\nexec busybox tar "$@"\n', { mode: 0o755 });
    const cp = (args: string[]) => {
      const r = Bun.spawnSync([BERTH, "cp", ...args], { stdin: "ignore", env: fx.env(), timeout: 120_000, killSignal: "SIGKILL" });
      return { code: r.exitCode ?? 128 + 9, stderr: r.stderr.toString() };
    };
    try {
      const into = join(fx.dir, "cp-noisy");
      expect(cp(["web:/etc/hostname", into])).toEqual({ code: 0, stderr: "" });
      expect(readFileSync(into, "utf8")).not.toBe("");
      writeFileSync(join(fx.dir, "to-noisy.txt"), "in\n");
      expect(cp([join(fx.dir, "to-noisy.txt"), "web:/tmp/noisy.txt"])).toEqual({ code: 0, stderr: "" });
      expect(fx.berth(["exec", "web", "cat", "/tmp/noisy.txt"]).stdout).toBe("in\n");
      // a failing one: one line of it, not 200 KB
      const failed = cp(["web:/no-such", join(fx.dir, "cp-noisy-missing")]);
      expect(failed.code).toBe(1);
      expect(failed.stderr.split("\n").length).toBe(2);
      expect(failed.stderr.length).toBeLessThan(1000);
    } finally {
      rmSync(tar, { force: true });
      symlinkSync("/bin/busybox", tar);
    }
  });
  test("cp of a container's symlink onto a host file: the link replaces it, as docker's, its target never looked up on the host (a link to / was refused as a directory)", () => {
    expect(fx.berth(["exec", "web", "sh", "-c", "mkdir -p /srv && ln -sfn / /srv/rootlink"]).code).toBe(0);
    const onto = join(fx.dir, "cp-link-onto");
    writeFileSync(onto, "file\n");
    expect(fx.berth(["cp", "web:/srv/rootlink", onto])).toMatchObject({ code: 0, stderr: "" });
    expect(readlinkSync(onto)).toBe("/");
  });
  test("cp: a container path is from the container's / (its leading / optional, .. cleaned), as docker's, not from its working directory", () => {
    const name = `cp-workdir-${process.pid}`;
    fx.runDetached(["--name", name, "-w", "/tmp"], ["sleep", "1000"]);
    writeFileSync(join(fx.dir, "rel-in.txt"), "relative\n");
    expect(fx.berth(["cp", join(fx.dir, "rel-in.txt"), `${name}:etc/rel-in.txt`]).code).toBe(0);
    expect(fx.berth(["exec", name, "cat", "/etc/rel-in.txt"])).toMatchObject({ code: 0, stdout: "relative\n" });
    expect(fx.berth(["exec", name, "ls", "/tmp"]).stdout).not.toContain("etc");
    const out = join(fx.dir, "rel-out.txt");
    expect(fx.berth(["cp", `${name}:etc/rel-in.txt`, out]).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("relative\n");
    // cleaned as docker's (a trailing .. too: tar was asked for a member named "..")
    expect(fx.berth(["exec", name, "sh", "-c", "mkdir -p /srv/sub && echo dotdot > /srv/dd"]).code).toBe(0);
    expect(fx.berth(["cp", `${name}:/srv/sub/..`, join(fx.dir, "dotdot-out")])).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(join(fx.dir, "dotdot-out", "dd"), "utf8")).toBe("dotdot\n");
    expect(fx.berth(["cp", join(fx.dir, "rel-in.txt"), `${name}:srv/sub/..`])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", name, "cat", "/srv/rel-in.txt"]).stdout).toBe("relative\n");
    expect(fx.berth(["rm", "-f", name]).code).toBe(0);
  });
  test("cp to a container path that is a symlink to a directory: into that directory, as docker's (the link was replaced by the file); a name starting with - is a name", () => {
    expect(fx.berth(["exec", "web", "sh", "-c", "mkdir -p /srv/linked '/tmp/-d' && ln -sfn /srv/linked /linkdir"]).code).toBe(0);
    writeFileSync(join(fx.dir, "via-link.txt"), "linked\n");
    expect(fx.berth(["cp", join(fx.dir, "via-link.txt"), "web:/linkdir"])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", "web", "sh", "-c", "readlink /linkdir; cat /srv/linked/via-link.txt"]).stdout).toBe("/srv/linked\nlinked\n");
    // a directory, not a file named -d over it (its tar was given -d as an option)
    expect(fx.berth(["cp", join(fx.dir, "via-link.txt"), "web:/tmp/-d"])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", "web", "cat", "/tmp/-d/via-link.txt"]).stdout).toBe("linked\n");
  });
  test("cp of a path the container lacks: its tar's reason, exit 1 both ways (was its last line, 'error exit delayed', 125, and 'the container has no tar' for a missing directory); a container without tar: 125 saying so", () => {
    expect(fx.berth(["cp", "web:/nonexist", "-"])).toMatchObject({ code: 1, stderr: "berth: cp web:/nonexist: tar: nonexist: No such file or directory\n" });
    expect(fx.berth(["cp", "-", "web:/nonexist"], { stdin: new Uint8Array(1024) })).toMatchObject({ code: 1, stderr: "berth: cp - web:/nonexist: tar: can't change directory to '/nonexist': No such file or directory\n" });
    const tar = join(fx.rootfs, "bin", "tar");
    rmSync(tar);
    try {
      for (const [args, what] of [[["web:/etc/hostname", "-"], "cp web:/etc/hostname"], [["web:/etc/hostname", join(fx.dir, "no-tar")], "cp web:/etc/hostname"], [["-", "web:/tmp"], "cp - web:/tmp"]] as const) {
        const r = fx.berth(["cp", ...args], { stdin: new Uint8Array(1024) });
        expect([r.code, r.stderr]).toEqual([125, `berth: ${what}: the container has no tar to copy with (process.args[0]: "tar": executable file not found in $PATH: no such file or directory); add tar (busybox has one) to the image\n`]);
      }
    } finally {
      symlinkSync("/bin/busybox", tar);
    }
  });
  test("cp to the host: no set-user/group-id bit and no device node from the container (a root-owned setuid shell, a 0666 node of the host's disk or memory); the rest lands as before", () => {
    // the container's root makes both (docker's capabilities include CAP_FOWNER and CAP_MKNOD)
    expect(fx.berth(["exec", "web", "sh", "-c", "rm -rf /srv/risky && mkdir -p /srv/risky && cp /bin/busybox /srv/risky/sh && chmod 6755 /srv/risky/sh && echo ok > /srv/risky/plain && mkdir -p /srv/node && mknod -m 666 /srv/node/mem c 1 1"]).code).toBe(0);
    for (const dest of [join(fx.dir, "risky-new"), join(fx.dir, "risky-into")]) {
      if (dest.endsWith("into")) mkdirSync(dest);
      expect(fx.berth(["cp", "web:/srv/risky", dest])).toMatchObject({ code: 0, stderr: "" });
      const landed = dest.endsWith("into") ? join(dest, "risky") : dest;
      expect(statSync(join(landed, "sh")).mode & 0o7777).toBe(0o755);
      expect(readFileSync(join(landed, "plain"), "utf8")).toBe("ok\n");
    }
    // a device node: refused, one line, exit 1, nothing left (into a directory, and as a new path)
    const into = join(fx.dir, "node-into");
    mkdirSync(into);
    for (const [dest, where] of [[into, into], [join(into, "new"), into]] as const) {
      const r = fx.berth(["cp", "web:/srv/node", dest]);
      expect([r.code, r.stderr]).toEqual([1, "berth: cp web:/srv/node: node/mem is a device node (1:1), which berth does not make on the host; copy it as a tar stream (cp web:/srv/node -)\n"]);
      expect(readdirSync(where)).toEqual([]);
    }
  });
  test("cp of a name with a backslash, both ways: GNU tar on the host takes it as it is", () => {
    expect(fx.berth(["exec", "web", "sh", "-c", "echo in > '/tmp/a\\tb'"]).code).toBe(0);
    const into = join(fx.dir, "cp-backslash");
    expect(fx.berth(["cp", "web:/tmp/a\\tb", into])).toMatchObject({ code: 0, stderr: "" });
    expect(readFileSync(into, "utf8")).toBe("in\n");
    writeFileSync(join(fx.dir, "c\\td"), "out\n");
    expect(fx.berth(["cp", join(fx.dir, "c\\td"), "web:/tmp"])).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["exec", "web", "cat", "/tmp/c\\td"]).stdout).toBe("out\n");
  });
  test("cp to the host: the files are the invoking user's, not the container's uids (docker's CLI unpacks with NoLchown)", () => {
    expect(fx.berth(["exec", "web", "sh", "-c", "mkdir -p /srv/owned && echo o > /srv/owned/f && chown -R 1234:4321 /srv/owned"]).code).toBe(0);
    const into = join(fx.dir, "cp-owned");
    expect(fx.berth(["cp", "web:/srv/owned", into]).code).toBe(0);
    for (const p of [into, join(into, "f")]) expect([statSync(p).uid, statSync(p).gid]).toEqual([process.getuid!(), process.getgid!()]);
  });
  test("cp of a stopped container runs its tar in a throw-away container: its own PID namespace, a root tar's four capabilities, its binds, nothing left", () => {
    const created = fx.berth(["create", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--name", "cold", "-v", `${join(fx.dir, "cold-bind")}:/bound`, "--rootfs", fx.rootfs, "true"]);
    expect(created.code).toBe(0);
    const tar = join(fx.rootfs, "bin", "tar");
    rmSync(tar);
    writeFileSync(tar, '#!/bin/sh\n{ grep CapEff /proc/self/status; readlink /proc/self/ns/pid; } > /tmp/cp-probe\nexec busybox tar "$@"\n', { mode: 0o755 });
    try {
      const hostname = fx.berth(["cp", "cold:/etc/hostname", "-"]);
      expect(hostname.code).toBe(0);
      // the container's own /etc/hostname, bound as docker's cp sees it: the root's is an empty mount point, or none when no container ran on it
      expect(Bun.spawnSync(["tar", "-xOf", "-"], { stdin: Buffer.from(hostname.stdout) }).stdout.toString()).toBe(`${created.stdout.trim().slice(0, 12)}\n`);
      const [caps, pidns] = readFileSync(join(fx.rootfs, "tmp", "cp-probe"), "utf8").trim().split("\n");
      // CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID: bits 0, 1, 3 and 4
      expect(caps).toBe("CapEff:\t000000000000001b");
      expect(pidns).toMatch(/^pid:\[\d+\]$/);
      expect(pidns).not.toBe(readlinkSync("/proc/self/ns/pid"));
      writeFileSync(join(fx.dir, "to-cold.txt"), "into the cold one\n");
      expect(fx.berth(["cp", join(fx.dir, "to-cold.txt"), "cold:/tmp"]).code).toBe(0);
      expect(readFileSync(join(fx.rootfs, "tmp", "to-cold.txt"), "utf8")).toBe("into the cold one\n");
      // into a bind of the container's: its host directory, as docker's cp of a stopped container writes a volume
      expect(fx.berth(["cp", join(fx.dir, "to-cold.txt"), "cold:/bound"]).code).toBe(0);
      expect(readFileSync(join(fx.dir, "cold-bind", "to-cold.txt"), "utf8")).toBe("into the cold one\n");
      expect(fx.leftoverCgroups().filter((c) => c.includes("-cp-"))).toEqual([]);
      expect(readdirSync(join(fx.runroot, "runtime")).filter((n) => n.includes("-cp-"))).toEqual([]);
      expect(fx.berth(["rm", "cold"]).code).toBe(0);
    } finally {
      rmSync(tar, { force: true });
      symlinkSync("/bin/busybox", tar);
      rmSync(join(fx.rootfs, "tmp", "cp-probe"), { force: true });
      rmSync(join(fx.rootfs, "tmp", "to-cold.txt"), { force: true });
    }
  });
  test("cp of a stopped container interrupted (Ctrl-C, a kill): its throw-away container, cgroup and bundle go with berth (the tar ran on, in a session of its own), and what was unpacked beside the destination", async () => {
    const created = fx.berth(["create", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--name", "cold-int", "--rootfs", fx.rootfs, "true"]);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const tar = join(fx.rootfs, "bin", "tar");
    rmSync(tar);
    writeFileSync(tar, "#!/bin/sh\nexec sleep 1000\n", { mode: 0o755 });
    const copying = () => fx.leftoverCgroups().filter((c) => c.includes("-cp-"));
    const into = join(fx.dir, "cp-interrupted");
    mkdirSync(into);
    try {
      // to a tar stream, and to a new host path (unpacked beside it first): Ctrl-C, then a kill
      for (const [dest, signal, code] of [["-", "SIGINT", 130], [join(into, "hostname"), "SIGTERM", 143]] as const) {
        // in a session of its own, as a shell's foreground job: Ctrl-C signals the whole group
        const p = Bun.spawn(["setsid", BERTH, "cp", "cold-int:/etc/hostname", dest], { env: fx.env(), stdout: "ignore", stderr: "pipe" });
        expect(await until(() => copying().some((c) => readFileSync(join(c, "cgroup.procs"), "utf8") !== ""), 60_000)).toBe(true);
        process.kill(-p.pid, signal);
        expect(await p.exited).toBe(code);
        expect(copying()).toEqual([]);
        expect(readdirSync(join(fx.runroot, "runtime")).filter((n) => n.includes("-cp-"))).toEqual([]);
        expect(readdirSync(join(fx.runroot, "containers", id)).filter((n) => n.startsWith("cp-"))).toEqual([]);
        expect(readdirSync(into)).toEqual([]);
      }
      expect(fx.berth(["rm", "cold-int"]).code).toBe(0);
    } finally {
      // what a failure left: the tar's processes first, then their cgroups
      for (const c of copying()) for (const pid of readFileSync(join(c, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
      rmSync(tar, { force: true });
      symlinkSync("/bin/busybox", tar);
    }
  });
  test("pause and unpause freeze the cgroup; kill -s; stop -t; wait prints the code", async () => {
    expect(fx.berth(["pause", "web"]).code).toBe(0);
    expect(fx.berth(["ps", "--format", "{{.Status}}"]).stdout).toMatch(/\(Paused\)/);
    expect(fx.berth(["exec", "web", "true"]).code).toBe(125);
    expect(fx.berth(["cp", "web:/etc/hostname", "-"])).toMatchObject({ code: 125, stderr: "berth: cp: container web is paused: a tar run in it would be frozen too; unpause it, then copy\n" });
    expect(fx.berth(["unpause", "web"]).code).toBe(0);
    expect(fx.berth(["kill", "-s", "USR1", "web"]).code).toBe(0);
    expect(fx.berth(["kill", "-s", "NOPE", "web"])).toMatchObject({ code: 125, stderr: 'berth: --signal: "NOPE" is not a signal; use a number (15) or a name (TERM, SIGKILL)\n' });
    const stop = fx.berth(["stop", "-t", "1", "web"]);
    expect(stop).toMatchObject({ code: 0, stdout: "web\n" });
    // sh as PID 1 ignores SIGUSR1 and SIGTERM: killed after the timeout
    expect(fx.berth(["wait", "web"]).stdout).toBe("137\n");
    expect(fx.inspect("web").State).toMatchObject({ Status: "exited", Running: false, ExitCode: 137, Pid: 0 });
    expect(fx.berth(["ps", "-a", "--format", "{{.Status}}"]).stdout).toMatch(/^Exited \(137\) /);
    expect(fx.monitors()).toEqual([]);
  });
  test("start again, restart, rename; rm of a running one needs -f", () => {
    expect(fx.berth(["start", "web"])).toMatchObject({ code: 0, stdout: "web\n" });
    expect(fx.inspect("web").State.Status).toBe("running");
    expect(fx.berth(["rename", "web", "web2"]).code).toBe(0);
    expect(fx.berth(["restart", "-t", "0", "web2"]).code).toBe(0);
    expect(fx.inspect("web2").State.Status).toBe("running");
    const rm = fx.berth(["rm", "web2"]);
    expect(rm.code).toBe(125);
    expect(rm.stderr).toMatch(/the container is running; stop it first, or use rm --force/);
    expect(fx.berth(["rm", "-f", "web2"]).code).toBe(0);
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
});

describe.skipIf(!ok)("what the kernel and the monitor say", () => {
  removeLeftContainers();
  test("--cpus 0.5 and --memory 0.5g land in the cgroup files docker writes", () => {
    const id = fx.runDetached(["--cpus", "0.5", "--memory", "0.5g", "--pids-limit", "50"], ["sleep", "60"]);
    const pid = fx.inspect(id).State.Pid;
    const cpu = fx.cgroupDir(pid, "cpu");
    const mem = fx.cgroupDir(pid, "memory");
    if (existsSync(join(cpu, "cpu.max"))) {
      expect(readFileSync(join(cpu, "cpu.max"), "utf8")).toBe("50000 100000\n");
      expect(readFileSync(join(mem, "memory.max"), "utf8")).toBe("536870912\n");
    } else {
      expect(readFileSync(join(cpu, "cpu.cfs_quota_us"), "utf8")).toBe("50000\n");
      expect(readFileSync(join(cpu, "cpu.cfs_period_us"), "utf8")).toBe("100000\n");
      expect(readFileSync(join(mem, "memory.limit_in_bytes"), "utf8")).toBe("536870912\n");
    }
    expect(readFileSync(join(fx.cgroupDir(pid, "pids"), "pids.max"), "utf8")).toBe("50\n");
    expect(fx.inspect(id).HostConfig).toMatchObject({ NanoCpus: 500000000, Memory: 536870912, PidsLimit: 50 });
    // update: the running container's cgroup now, and its record
    expect(fx.berth(["update", "--cpus", "1", "--memory", "256m", "--pids-limit", "20", id])).toMatchObject({ code: 0, stdout: `${id}\n` });
    const quota = existsSync(join(cpu, "cpu.max")) ? readFileSync(join(cpu, "cpu.max"), "utf8") : readFileSync(join(cpu, "cpu.cfs_quota_us"), "utf8");
    expect(quota).toStartWith("100000");
    const limit = existsSync(join(mem, "memory.max")) ? join(mem, "memory.max") : join(mem, "memory.limit_in_bytes");
    expect(readFileSync(limit, "utf8")).toBe("268435456\n");
    expect(readFileSync(join(fx.cgroupDir(pid, "pids"), "pids.max"), "utf8")).toBe("20\n");
    expect(fx.inspect(id).HostConfig).toMatchObject({ NanoCpus: 1000000000, Memory: 268435456, PidsLimit: 20 });
    const bad = fx.berth(["update", "--pids-limit", "lots", id]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --pids-limit: invalid value "lots"/);
    expect(fx.berth(["rm", "-f", id])).toMatchObject({ code: 0, stderr: "" });
  });
  test("an OOM kill is seen in the kernel's count: State.OOMKilled, and docker's oom event", async () => {
    const id = fx.runDetached(["--memory", "16m", "--memory-swap", "16m"], ["sh", "-c", "x=a; while true; do x=$x$x; done"]);
    expect(fx.berth(["wait", id]).stdout).toBe("137\n");
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", OOMKilled: true, ExitCode: 137 });
    // the event journal says so too, as docker's events: oom, then die with the code
    const events = fx.berth(["events", "--since", "10m", "--until", "0s", "--filter", `container=${id}`, "--filter", "event=oom", "--filter", "event=die", "--format", "{{.type}} {{.exitCode}}"]);
    expect(events).toMatchObject({ code: 0, stdout: "oom <no value>\nexit 137\n" });
    expect(fx.berth(["rm", id]).code).toBe(0);
  });
  test("a container whose monitor was killed shows as exited with the reason, not running forever", async () => {
    const id = fx.runDetached([], ["sleep", "60"]);
    const c = fx.inspect(id);
    const monitor = Number(readFileSync(join(fx.runroot, "containers", id, "monitor.pid"), "utf8"));
    process.kill(monitor, "SIGKILL");
    process.kill(c.State.Pid, "SIGKILL");
    await until(() => fx.inspect(id).State.Status === "exited", 120_000);
    const state = fx.inspect(id).State;
    expect(state.Error).toMatch(/monitor ended without recording an exit/);
    expect(fx.berth(["ps", "-a", "-q", "--filter", "status=exited"]).stdout).toContain(id.slice(0, 12));
    expect(fx.berth(["rm", id]).code).toBe(0);
  });
  test("20 parallel run -d give 20 running containers and no errors; rm -f of all", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => fx.berthAsync(["run", "--network", "none", "-d", "--name", `p${i}`, "--cgroup-parent", fx.cgroupParent, "--rootfs", fx.rootfs, "sleep", "60"])));
    for (const r of results) expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(fx.berth(["ps", "-q"]).stdout.trim().split("\n")).toHaveLength(20);
    const rm = await Promise.all(Array.from({ length: 20 }, (_, i) => fx.berthAsync(["rm", "-f", `p${i}`])));
    for (const r of rm) expect(r.code).toBe(0);
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
  }, 900_000);
});

describe.skipIf(!ok)("stop signal and timeout, -d --rm", () => {
  removeLeftContainers();
  test("--stop-signal and --stop-timeout: stop sends the container's own signal and waits its time", () => {
    const id = fx.runDetached(["--stop-signal", "SIGUSR1", "--stop-timeout", "30"], ["sh", "-c", "trap 'echo got USR1; exit 3' USR1; while true; do sleep 0.1; done"]);
    expect(fx.inspect(id).Config).toMatchObject({ StopSignal: "SIGUSR1", StopTimeout: 30 });
    expect(fx.berth(["stop", id]).code).toBe(0);
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 3 });
    expect(fx.berth(["logs", id]).stdout).toBe("got USR1\n");
    expect(fx.berth(["rm", id]).code).toBe(0);
  });
  test("stop -s and restart --signal (docker 23's): that signal first, not the container's; a bad one is one line, 125", () => {
    const id = fx.runDetached(["--stop-signal", "SIGUSR1", "--stop-timeout", "30"], ["sh", "-c", "trap 'echo USR1; exit 3' USR1; trap 'echo USR2; exit 4' USR2; while true; do sleep 0.1; done"]);
    expect(fx.berth(["restart", "--signal", "USR2", id]).code).toBe(0);
    expect(fx.berth(["stop", "-s", "SIGUSR2", id]).code).toBe(0);
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 4 });
    expect(fx.berth(["logs", id]).stdout).toBe("USR2\nUSR2\n");
    const kills = fx.berth(["events", "--since", "10m", "--until", "0s", "--filter", `container=${id}`, "--filter", "event=kill", "--format", "{{.signal}}"]);
    expect(kills.stdout).toBe("12\n12\n");
    const bad = fx.berth(["stop", "-s", "SIGNOPE", id]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: --signal: "SIGNOPE" is not a signal; use a number \(15\) or a name \(TERM, SIGKILL\)\n$/);
    expect(fx.berth(["rm", id]).code).toBe(0);
  });
  test("an image whose STOPSIGNAL is no signal is stopped with SIGTERM, as docker does, not left to the timeout", () => {
    const tar = join(fx.dir, "stopsig-rootfs.tar");
    expect(Bun.spawnSync(["tar", "--numeric-owner", "-C", fx.rootfs, "-cf", tar, "."]).exitCode).toBe(0);
    const image = `stopsig-${process.pid}:1`;
    expect(fx.berth(["import", tar, image, "--change", "STOPSIGNAL SIGBOGUS"]).code).toBe(0);
    const id = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, "--stop-timeout", "600", image, "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.1; done"]).stdout.trim();
    expect(id).toMatch(HEX64);
    expect(fx.berth(["stop", id]).code).toBe(0);
    // SIGKILL after the 600 s timeout would have been 137
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 3 });
    expect(fx.berth(["rm", id]).code).toBe(0);
    expect(fx.berth(["rmi", image]).code).toBe(0);
    rmSync(tar);
  });
  test("run -d --rm: the exit command removes the container when it ends", async () => {
    const id = fx.runDetached(["--rm"], ["sh", "-c", "sleep 0.2"]);
    expect(id).toMatch(HEX64);
    await until(() => fx.records().length === 0 && fx.monitors().length === 0, 120_000);
    expect(fx.records()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
});

describe.skipIf(!ok)("--restart", () => {
  removeLeftContainers();
  test("on-failure:2 runs it twice more, then it stays exited with its code; stop keeps an always container stopped", async () => {
    const id = fx.runDetached(["--restart", "on-failure:2"], ["sh", "-c", "exit 3"]);
    await until(() => fx.inspect(id).RestartCount === 2 && fx.inspect(id).State.Status === "exited", 120_000);
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 3 });
    const always = fx.runDetached(["--restart", "always"], ["sleep", "60"]);
    expect(fx.berth(["stop", "-t", "0", always]).code).toBe(0);
    expect(fx.inspect(always).State.Status).toBe("exited");
    expect(fx.inspect(always).RestartCount).toBe(0);
    expect(fx.berth(["rm", id, always]).code).toBe(0);
  });
  test("after /run is lost (a reboot), the next berth command restarts an always container and records the others as exited", async () => {
    const always = fx.runDetached(["--restart", "always"], ["sleep", "60"]);
    const plain = fx.runDetached([], ["sleep", "60"]);
    for (const id of [always, plain]) {
      const monitor = Number(readFileSync(join(fx.runroot, "containers", id, "monitor.pid"), "utf8"));
      const pid = fx.inspect(id).State.Pid;
      process.kill(monitor, "SIGKILL");
      process.kill(pid, "SIGKILL");
      await until(() => !existsSync(`/proc/${pid}`), 120_000);
    }
    rmSync(join(fx.runroot, "boot-id"));
    // the exit files (in the run dir): /run lost
    rmSync(join(fx.runroot, "containers", always, always), { force: true });
    rmSync(join(fx.runroot, "containers", plain, plain), { force: true });
    expect(fx.berth(["ps", "-q", "--no-trunc"]).stdout).toBe(`${always}\n`);
    expect(fx.inspect(plain).State).toMatchObject({ Status: "exited", Error: expect.stringMatching(/monitor ended/) });
    expect(fx.berth(["rm", "-f", always, plain]).code).toBe(0);
  });
  test("after a reboot, --rm containers are removed — also one whose record (not flushed to disk) the crash tore or lost; their names are free again", async () => {
    const names = ["whole", "torn", "lost"].map((n) => `${n}-${process.pid}`);
    const ids = names.map((name) => fx.runDetached(["--rm", "--name", name], ["sleep", "60"]));
    for (const id of ids) {
      const monitor = Number(readFileSync(join(fx.runroot, "containers", id, "monitor.pid"), "utf8"));
      const pid = fx.inspect(id).State.Pid;
      process.kill(monitor, "SIGKILL");
      process.kill(pid, "SIGKILL");
      await until(() => !existsSync(`/proc/${pid}`), 120_000);
      rmSync(join(fx.runroot, "containers", id, id), { force: true }); // its exit file
    }
    // what a crash may leave of an unflushed record: an empty file, or none (the rename never reached the disk)
    writeFileSync(join(fx.root, "containers", ids[1]!, "container.json"), "");
    rmSync(join(fx.root, "containers", ids[2]!, "container.json"));
    // from before the boot (a directory changed since is a create under way, and stays)
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))![1]);
    for (const id of ids.slice(1)) utimesSync(join(fx.root, "containers", id), btime - 60, btime - 60);
    rmSync(join(fx.runroot, "boot-id"));
    expect(fx.berth(["ps", "-a", "-q", "--no-trunc"])).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(fx.records()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
    for (const name of names) expect(fx.run(["--rm", "--name", name], ["true"]).code).toBe(0);
  });
});

/** A field of /proc/self/status inside a container started with `flags`. */
function statusField(flags: string[], field: string): string {
  const r = fx.run(["--rm", ...flags], ["sh", "-c", `grep '^${field}:' /proc/self/status`]);
  if (r.code !== 0) throw new Error(`run ${flags.join(" ")}: ${r.stderr}`);
  return r.stdout.split(":")[1]!.trim();
}

describe.skipIf(!ok)("security and namespace flags, seen from inside", () => {
  removeLeftContainers();
  test("docker's 14 capabilities (0xa80425fb), --cap-add/--cap-drop, --privileged every one; seccomp filter on, off with unconfined or --privileged", () => {
    expect(statusField([], "CapEff")).toBe("00000000a80425fb");
    expect(statusField(["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"], "CapEff")).toBe("0000000000001000");
    // every capability berth holds itself (this host's root lacks CAP_SYS_RESOURCE)
    expect(statusField(["--privileged"], "CapEff")).toBe(/^CapBnd:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!);
    expect(statusField([], "Seccomp")).toBe("2");
    expect(statusField(["--security-opt", "seccomp=unconfined"], "Seccomp")).toBe("0");
    expect(statusField(["--privileged"], "Seccomp")).toBe("0");
    expect(statusField(["--security-opt", "no-new-privileges"], "NoNewPrivs")).toBe("1");
    expect(statusField([], "NoNewPrivs")).toBe("0");
  });
  test("--ulimit, --oom-score-adj, --sysctl, --shm-size, -u, --group-add, --device, --pid host, --init", () => {
    // a character device outside the default set, that this kernel has (the v2 VM has no /dev/fuse)
    const dev = ["/dev/fuse", "/dev/net/tun", "/dev/kmsg", "/dev/loop-control"].find((d) => existsSync(d))!;
    const r = fx.run(["--rm", "--ulimit", "nofile=512:512", "--oom-score-adj", "300", "--sysctl", "net.ipv4.ip_forward=1", "--shm-size", "8m", "-u", "1000:1000", "--group-add", "10", "--device", dev],
      ["sh", "-c", `ulimit -n; cat /proc/self/oom_score_adj; cat /proc/sys/net/ipv4/ip_forward; df -k /dev/shm | tail -1 | awk '{print $2}'; id -u; id -G; ls -l ${dev} | cut -c1`]);
    expect(r).toMatchObject({ code: 0, stdout: "512\n300\n1\n8192\n1000\n1000 10\nc\n" });
    expect(fx.run(["--rm", "--pid", "host"], ["sh", "-c", "test -d /proc/1/ && cat /proc/1/comm"]).stdout).not.toBe("sh\n");
    expect(fx.run(["--rm", "--init"], ["cat", "/proc/1/comm"])).toMatchObject({ code: 0, stdout: "docker-init\n" });
  });
});

describe.skipIf(!ok || !Bun.which("runc"))("--runtime runc: the core verbs with another OCI runtime", () => {
  removeLeftContainers();
  test("run --rm, run -d, exec, stop, rm", () => {
    expect(fx.run(["--rm", "--runtime", "runc"], ["sh", "-c", "echo via runc; exit 4"])).toMatchObject({ code: 4, stdout: "via runc\n" });
    const id = fx.runDetached(["--runtime", "runc"], ["sleep", "60"]);
    expect(fx.inspect(id).HostConfig.Runtime).toBe("runc");
    expect(fx.berth(["exec", id, "cat", "/proc/1/comm"]).stdout).toBe("sleep\n");
    expect(fx.berth(["stop", "-t", "0", id]).code).toBe(0);
    expect(fx.inspect(id).State).toMatchObject({ Status: "exited", ExitCode: 137 });
    expect(fx.berth(["rm", id]).code).toBe(0);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
  });
});

describe.skipIf(!ok)("exec -u: the user's groups and the container's --group-add, never more, whatever the runtime", () => {
  removeLeftContainers();
  test.each(["berth-runtime", ...(Bun.which("runc") ? ["runc"] : [])])("%s: a root container's group 0 does not stay with -u (CVE-2022-36109); --group-add does, as moby's getUser gives it", (runtime) => {
    const id = fx.runDetached([...(runtime === "runc" ? ["--runtime", "runc"] : []), "--group-add", "10"], ["sleep", "600"]);
    const groups = (...flags: string[]) => fx.berth(["exec", ...flags, id, "id", "-G"]).stdout;
    expect(groups()).toBe("0 10\n");
    expect(groups("-u", "nobody")).toBe("65534 10\n");
    expect(groups("-u", "1000:1000")).toBe("1000 10\n");
    // -w, -e and --privileged come through the process file too
    expect(fx.berth(["exec", "-w", "/tmp", "-e", "X=1", id, "sh", "-c", "echo $X $(pwd) $HOSTNAME"]).stdout).toBe(`1 /tmp ${id.slice(0, 12)}\n`);
    expect(fx.berth(["exec", "--privileged", id, "sh", "-c", "grep ^CapEff: /proc/self/status | cut -f2"]).stdout).not.toBe("00000000a80425fb\n");
    expect(readdirSync(join(fx.runroot, "containers", id)).filter((f) => f.startsWith("exec-"))).toEqual([]);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
});

describe.skipIf(!ok)("volumes", () => {
  removeLeftContainers();
  test("-v NAME:/path keeps data across containers; in use it is not removed; rm -v drops anonymous ones", () => {
    expect(fx.run(["--rm", "-v", "data:/data"], ["sh", "-c", "echo kept > /data/f"]).code).toBe(0);
    expect(fx.run(["--rm", "-v", "data:/data:ro"], ["cat", "/data/f"]).stdout).toBe("kept\n");
    expect(fx.run(["--rm", "-v", "data:/data:ro"], ["sh", "-c", "echo x > /data/g"]).code).not.toBe(0);
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe("data\n");
    const id = fx.runDetached(["-v", "data:/data", "-v", "/anon"], ["sleep", "60"]);
    const inUse = fx.berth(["volume", "rm", "data"]);
    expect(inUse.code).toBe(125);
    expect(inUse.stderr).toContain("volume is in use");
    expect(fx.berth(["volume", "ls", "-q"]).stdout.trim().split("\n")).toHaveLength(2);
    expect(fx.berth(["rm", "-f", "-v", id]).code).toBe(0);
    expect(fx.berth(["volume", "ls", "-q"]).stdout).toBe("data\n");
    expect(fx.berth(["volume", "rm", "data"]).code).toBe(0);
    const host = join(fx.dir, "bind");
    expect(fx.run(["--rm", "-v", `${host}:/b`], ["sh", "-c", "echo hi > /b/x"]).code).toBe(0);
    expect(readFileSync(join(host, "x"), "utf8")).toBe("hi\n");
  });
  test("--read-only with --tmpfs; /dev/shm is 64 MiB; /etc/hosts, hostname, resolv.conf are the container's", () => {
    const r = fx.run(["--rm", "--read-only", "--tmpfs", "/scratch", "--hostname", "ro"], ["sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; touch /scratch/y && echo tmp; df -k /dev/shm | tail -1 | awk '{print $2}'; cat /etc/hostname; grep -c localhost /etc/hosts"]);
    expect(r).toMatchObject({ code: 0, stdout: "ro\ntmp\n65536\nro\n2\n" });
  });
});

describe.skipIf(!ok)("bad input: one line naming the flag, exit 125, nothing left", () => {
  removeLeftContainers();
  const cases: [string, string[], RegExp][] = [
    ["an unknown flag", ["--bogus"], /^berth: unknown option '--bogus'\n/],
    ["a bad size", ["--memory", "lots"], /^berth: --memory: invalid size "lots"/],
    ["a bad cpu value", ["--cpus", "half"], /^berth: --cpus: invalid CPU count "half"/],
    ["--cpus above the host's CPUs", ["--cpus", "1000"], /^berth: --cpus: range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available\n$/],
    ["a bad volume spec", ["-v", "/a:rel"], /^berth: --volume: invalid mount "\/a:rel": the container path "rel" must be absolute\n$/],
    ["a bad --device", ["--device", "/dev/nonexistent-dev"], /^berth: --device: \/dev\/nonexistent-dev does not exist on this host/],
    ["a bad --stop-timeout", ["--stop-timeout", "soon"], /^berth: --stop-timeout: invalid value "soon"; use whole seconds \(-1: wait forever\)\n$/],
    ["a bad --stop-signal", ["--stop-signal", "SIGNOPE"], /^berth: --stop-signal: "SIGNOPE" is not a signal; use a number \(15\) or a name \(TERM, SIGKILL\)\n$/],
  ];
  for (const [what, flags, message] of cases) {
    test(what, () => {
      const r = fx.run(flags, ["true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
      expect(fx.records()).toEqual([]);
      expect(fx.leftoverCgroups()).toEqual([]);
    });
  }
  test("a record that cannot be read hides nothing else from ps, and rm -f ID removes it with its container", () => {
    const id = fx.runDetached(["--name", "corrupt"], ["sleep", "60"]);
    const other = fx.runDetached([], ["sleep", "60"]);
    writeFileSync(join(fx.root, "containers", id, "container.json"), "{ half a rec");
    expect(fx.berth(["ps", "-q", "--no-trunc"])).toMatchObject({ code: 0, stdout: `${other}\n` });
    const inspect = fx.berth(["inspect", id]);
    expect(inspect.code).toBe(125);
    expect(inspect.stderr).toMatch(/^berth: the record of container [0-9a-f]{64} is unreadable \(.+\); remove it with berth rm -f [0-9a-f]{64}\n$/);
    expect(fx.berth(["rm", "-f", id, other]).code).toBe(0);
    expect(fx.records()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
    expect(fx.run(["--rm", "--name", "corrupt"], ["true"]).code).toBe(0);
  });
  test("a missing image with --pull never", () => {
    const r = fx.berth(["run", "--network", "none", "--pull", "never", "no-such-image:1"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^berth: IMAGE: No such image: no-such-image:1/);
    expect(fx.records()).toEqual([]);
  });
  test("a runtime that fails mid-create leaves no record, cgroup, monitor or name", () => {
    const fail = join(fx.dir, "failing-runtime");
    // runc's CLI: the error goes to --log as a JSON record, as runc writes it
    writeFileSync(fail, `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --log ] && log=$2; shift; done\necho '{"level":"error","msg":"simulated failure"}' >> "$log"\nexit 1\n`, { mode: 0o755 });
    const r = fx.run(["--runtime", fail, "--name", "doomed"], ["true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain("simulated failure");
    expect(fx.records()).toEqual([]);
    expect(fx.monitors()).toEqual([]);
    expect(fx.leftoverCgroups()).toEqual([]);
    expect(fx.run(["--rm", "--name", "doomed"], ["true"]).code).toBe(0);
  });
});

/** docker-archive of the busybox image ../shared/reference/make-busybox-image.sh builds, when that script is here */
function busyboxArchive(): string | undefined {
  try {
    return join(dirname(busyboxImageLayout()), "busybox-docker.tar");
  } catch {
    return undefined;
  }
}
const ARCHIVE = ok ? busyboxArchive() : undefined;

describe.skipIf(!ARCHIVE)("real images (berth load of a busybox image built by the tests)", () => {
  removeLeftContainers();
  test("run IMAGE: the image's config, its overlay snapshot mounted, the seed's --cpus/--memory; rm removes the snapshot and its mount", () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const r = fx.berth(["run", "--network", "none", "--rm", "--cgroup-parent", fx.cgroupParent, "--cpus", "0.5", "--memory", "64m", "busybox", "sh", "-c", "echo hi; ls /bin/busybox"]);
    expect(r).toMatchObject({ code: 0, stdout: "hi\n/bin/busybox\n", stderr: "" });
    const id = fx.berth(["run", "--network", "none", "-d", "--cgroup-parent", fx.cgroupParent, "busybox", "sleep", "60"]).stdout.trim();
    const c = fx.inspect(id);
    expect(c).toMatchObject({ Config: { Image: "busybox" }, GraphDriver: { Name: "overlay" } });
    expect(c.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").includes(`/containers/${id}/rootfs `);
    expect(mounted()).toBe(true);
    expect(fx.berth(["exec", id, "sh", "-c", "echo written > /new; cat /new"]).stdout).toBe("written\n");
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
    expect(mounted()).toBe(false);
    const snapshots = JSON.parse(readFileSync(join(fx.root, "snapshots", "metadata.json"), "utf8")).snapshots;
    expect(Object.keys(snapshots).filter((k) => k.includes(id))).toEqual([]);
    // system df / prune: a stopped container with a written file, then everything unused goes
    const stopped = fx.berth(["run", "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big"]);
    expect(stopped.code).toBe(0);
    const df = fx.berth(["system", "df"]).stdout.split("\n");
    expect(df[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(df[1]).toMatch(/^Images\s+1\s+1\s+2\.\d+MB\s+0B \(0%\)$/);
    expect(df[2]).toMatch(/^Containers\s+1\s+0\s+100kB\s+100kB \(100%\)$/);
    const prune = fx.berth(["system", "prune", "-a", "-f"]);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nDeleted Images:\n/);
    expect(fx.records()).toEqual([]);
    expect(fx.berth(["images", "-q"]).stdout).toBe("");
  });

  test("a created or stopped container holds no mount, as docker's: start mounts its root again with its files; cp and export mount it only while they read", async () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const name = `unmounted-${process.pid}`;
    // create mounts nothing, as docker's; cp into the created container mounts it only while it copies
    const id = fx.berth(["create", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "cat /kept 2>/dev/null; cat /given; echo kept > /kept; exit 3"]).stdout.trim();
    expect(id).toMatch(HEX64);
    const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").includes(`/containers/${id}/rootfs `);
    expect(mounted()).toBe(false);
    const given = join(fx.dir, `given-${process.pid}`);
    mkdirSync(given, { recursive: true });
    writeFileSync(join(given, "given"), "given\n");
    expect(fx.berth(["cp", "-", `${name}:/`], { stdin: Bun.spawnSync(["tar", "-C", given, "-cf", "-", "given"]).stdout }).code).toBe(0);
    rmSync(given, { recursive: true });
    expect(mounted()).toBe(false);
    const first = fx.berth(["start", "-a", name]);
    expect(first).toMatchObject({ code: 3, stdout: "given\n" });
    expect(mounted()).toBe(false);
    // start -a: the same root, mounted again — the file its first run wrote — and unmounted at its exit
    expect(fx.berth(["start", "-a", name])).toMatchObject({ code: 3, stdout: "kept\ngiven\n" });
    expect(mounted()).toBe(false);
    // a detached one too: running, it is mounted; its exit (recorded by the monitor's exit command) unmounts it
    expect(fx.berth(["start", name]).code).toBe(0);
    expect(fx.berth(["wait", name]).stdout).toBe("3\n");
    expect(mounted()).toBe(false);
    // four cps at once: each reads the root mounted, none unmounts it under another
    const cps = await Promise.all([0, 1, 2, 3].map(async () => {
      const p = Bun.spawn([BERTH, "cp", `${name}:/kept`, "-"], { env: fx.env(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      return { code: await p.exited, stdout: await new Response(p.stdout).text(), stderr: await new Response(p.stderr).text() };
    }));
    for (const cp of cps) expect(cp).toMatchObject({ code: 0, stderr: "" });
    for (const cp of cps) expect(cp.stdout).toContain("kept\n");
    expect(mounted()).toBe(false);
    const exported = Bun.spawnSync(["sh", "-c", `"$0" export "$1" | tar -xOf - kept`, BERTH, name], { env: fx.env() });
    expect(exported.stdout.toString()).toBe("kept\n");
    expect(mounted()).toBe(false);
    expect(fx.berth(["diff", name]).stdout).toContain("A /kept\n");
    expect(fx.berth(["rm", name]).code).toBe(0);
    expect(fx.leftoverCgroups()).toEqual([]);
  });

  test("a --rm container's root is an ephemeral snapshot: run --rm flushes nothing; after a crash that undid its removal, the reboot check drops it and the image can go", async () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const run = ["run", "--network", "none", "--cgroup-parent", fx.cgroupParent];
    const snapshots = () => JSON.parse(readFileSync(join(fx.root, "snapshots", "metadata.json"), "utf8")).snapshots as Record<string, { labels: Record<string, string> }>;
    // what reaches the disk: a --rm container's record, name and root need not outlive a crash (the reboot check removes it)
    const syncs = (args: string[]) => {
      const trace = join(fx.dir, `fsync-${process.pid}`);
      const r = Bun.spawnSync(["strace", "-f", "-qq", "-o", trace, "-e", "trace=fsync,fdatasync,sync,syncfs,sync_file_range", BERTH, ...args], { env: fx.env(), stdin: "ignore" });
      expect(r.exitCode).toBe(0);
      return readFileSync(trace, "utf8").split("\n").filter((l) => /\b(fsync|fdatasync|sync|syncfs|sync_file_range)\(/.test(l)).length;
    };
    // strace: scripts/setup.sh installs it (and the v2 VM sees the host's)
    expect(syncs([...run, "--rm", "busybox", "true"])).toBe(0);
    const kept = fx.berth([...run, "-d", "busybox", "true"]).stdout.trim();
    expect(snapshots()[`container/${kept}`]!.labels["berth/ephemeral"]).toBeUndefined();
    expect(syncs(["rm", "-f", kept])).toBeGreaterThan(0);
    const id = fx.berth([...run, "--rm", "-d", "busybox", "sleep", "60"]).stdout.trim();
    expect(snapshots()[`container/${id}`]!.labels["berth/ephemeral"]).toBe("true");
    // a crash after the container's record and root went, before the snapshots' metadata reached the disk
    const monitor = Number(readFileSync(join(fx.runroot, "containers", id, "monitor.pid"), "utf8"));
    const pid = fx.inspect(id).State.Pid;
    process.kill(monitor, "SIGKILL");
    process.kill(pid, "SIGKILL");
    await until(() => !existsSync(`/proc/${pid}`), 120_000);
    // and what the reboot itself takes: the mount, the cgroups, the runtime's state on /run
    expect(Bun.spawnSync(["umount", join(fx.root, "containers", id, "rootfs")]).exitCode).toBe(0);
    expect(Bun.spawnSync([join(dirname(BERTH), "berth-runtime"), "--root", join(fx.runroot, "runtime"), "delete", "--force", id]).exitCode).toBe(0);
    rmSync(join(fx.root, "containers", id), { recursive: true });
    rmSync(join(fx.runroot, "containers", id), { recursive: true, force: true });
    for (const name of readdirSync(join(fx.root, "containers", ".names"))) if (readFileSync(join(fx.root, "containers", ".names", name), "utf8").includes(id)) rmSync(join(fx.root, "containers", ".names", name));
    rmSync(join(fx.runroot, "boot-id"));
    expect(fx.berth(["ps", "-a", "-q"])).toMatchObject({ code: 0, stdout: "" });
    expect(Object.keys(snapshots()).filter((k) => k.startsWith("container/"))).toEqual([]);
    expect(fx.berth(["rmi", "busybox"]).code).toBe(0);
    expect(fx.leftoverCgroups()).toEqual([]);
  });

  test("diff: what the container changed over its image's layers, as docker's (C, A, D); the runtime's mount points are not changes", () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const r = fx.berth(["run", "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "echo x > /etc/added; rm /bin/ls; mkdir -p /tmp/d; echo y >> /etc/passwd"]);
    expect(r.code).toBe(0);
    const id = fx.berth(["ps", "-l", "-q", "--no-trunc"]).stdout.trim();
    // /tmp may or may not be in the image: it is C or A
    expect(fx.berth(["diff", id]).stdout).toMatch(/^C \/bin\nD \/bin\/ls\nC \/etc\nA \/etc\/added\nC \/etc\/passwd\n[CA] \/tmp\nA \/tmp\/d\n$/);
    expect(fx.berth(["container", "diff", id]).code).toBe(0);
    const fresh = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sleep", "600"]).stdout.trim();
    expect(fx.berth(["diff", fresh]).stdout).toBe("");
    expect(fx.berth(["exec", fresh, "sh", "-c", "echo > /root/x"]).code).toBe(0);
    expect(fx.berth(["diff", fresh]).stdout).toMatch(/^[CA] \/root\nA \/root\/x\n$/);
    const onDir = fx.runDetached([], ["true"]);
    const refused = fx.berth(["diff", onDir]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/^berth: CONTAINER: container \S+ runs on the directory .* \(--rootfs\), not on an image's layers/);
    expect(fx.berth(["rm", "-f", id, fresh, onDir]).code).toBe(0);
    const missing = fx.berth(["diff", "no-such-ctr"]);
    expect([missing.code, missing.stderr]).toEqual([125, "berth: No such container: no-such-ctr\n"]);
  });

  test("diff over layers that deleted or replaced a directory (a whiteout, an opaque directory): what the image no longer has is A, not C", () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const run = (image: string, script: string) => {
      const name = `layers-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      expect(fx.berth(["run", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, image, "sh", "-c", script]).code).toBe(0);
      return name;
    };
    const made: string[] = [];
    const commit = (ctr: string) => {
      const image = fx.berth(["commit", ctr]).stdout.trim();
      made.push(image);
      return image;
    };
    const base = commit(run("busybox", "mkdir -p /app /gone && echo 1 > /app/x && echo 1 > /gone/x"));
    // a layer that replaced /app (an opaque directory) and deleted /gone (a whiteout)
    const top = commit(run(base, "rm -rf /app /gone && mkdir /app && echo 2 > /app/y"));
    const ctr = run(top, "echo 3 > /app/x; mkdir /gone; echo 3 > /gone/x");
    expect(fx.berth(["diff", ctr]).stdout).toBe("C /app\nA /app/x\nA /gone\nA /gone/x\n");
    fx.berth(["rm", "-f", ...fx.records()]);
    expect(fx.berth(["rmi", ...made.reverse()]).code).toBe(0);
  });

  test("export and commit of a file whose name is not UTF-8: refused in one line naming it, nothing written — not an archive without it", () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const name = `bytes-${process.pid}`;
    expect(fx.berth(["run", "--name", name, "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "touch /root/$(printf 'a\\377b')"]).code).toBe(0);
    const before = fx.berth(["images", "-q", "--no-trunc"]).stdout;
    const out = join(fx.dir, "bytes.tar");
    const exported = fx.berth(["export", "-o", out, name]);
    expect(exported.code).toBe(125);
    expect(exported.stderr).toMatch(/^berth: \/root\/a\uFFFDb: the name is not UTF-8, which berth cannot archive; rename it \(mv\) in the container and try again\n$/);
    expect(existsSync(out)).toBe(false);
    // nor its temporary file beside it
    expect(readdirSync(fx.dir).filter((f) => f.includes("bytes.tar"))).toEqual([]);
    const committed = fx.berth(["commit", name]);
    expect(committed.code).toBe(125);
    expect(committed.stderr).toContain("the name is not UTF-8");
    expect(committed.stderr.trim().split("\n")).toHaveLength(1);
    expect(fx.berth(["images", "-q", "--no-trunc"]).stdout).toBe(before);
    expect(fx.berth(["rm", name]).code).toBe(0);
  });

  test("export: the container's whole root as a tar — the image's files, its changes, its deletions; hard links, FIFOs and symlinks as they are", async () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const id = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "echo hello > /root/f; ln /root/f /root/g; mkfifo /root/p; ln -s /etc/passwd /root/l; rm /bin/ls; echo big > /root/big; chown 1000680000:1000680001 /root/big; touch /ready; sleep 600"]).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await until(() => fx.berth(["exec", id, "test", "-e", "/ready"]).code === 0, 60_000)).toBe(true);
    const out = join(fx.dir, "export.tar");
    // running: read as it is, not paused
    expect(fx.berth(["export", "-o", out, id]).code).toBe(0);
    const listing = Bun.spawnSync(["tar", "-tvf", out]).stdout.toString();
    expect(listing).toMatch(/^hrw-r--r-- 0\/0 +0 \S+ \S+ root\/g link to root\/f$/m);
    expect(listing).toMatch(/^prw-r--r-- 0\/0 +0 \S+ \S+ root\/p$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 +0 \S+ \S+ root\/l -> \/etc\/passwd$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 +\d+ \S+ \S+ bin\/busybox$/m);
    expect(listing).not.toMatch(/ bin\/ls( |$)/m);
    // an owner above the header's octal field (OpenShift's uids): whole, in a PAX record
    expect(listing).toMatch(/^-rw-r--r-- 1000680000\/1000680001 +4 \S+ \S+ root\/big$/m);
    expect(Bun.spawnSync(["tar", "-xOf", out, "root/f"]).stdout.toString()).toBe("hello\n");
    // to stdout, as docker export > FILE
    const piped = Bun.spawnSync([BERTH, "export", id], { stdout: "pipe", env: fx.env() });
    expect(piped.exitCode).toBe(0);
    expect(Bun.spawnSync(["tar", "-tf", "-"], { stdin: piped.stdout }).stdout.toString()).toContain("root/f\n");
    // an output that cannot be written: one line, no partial file
    const bad = fx.berth(["export", "-o", join(fx.dir, "no-such-dir", "x.tar"), id]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: .*no-such-dir/);
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });

  test("commit: a new image of the container's changes (added, deleted, a directory replaced) over its image, its config, -c/-m/-a; a running one is paused and resumed", async () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    const run = fx.berth(["run", "--name", `commit-src-${process.pid}`, "--network", "none", "--cgroup-parent", fx.cgroupParent, "-e", "FOO=bar", "-w", "/root", "busybox", "sh", "-c", "echo hello > /root/f; rm /bin/ls; rm -rf /usr; mkdir /usr; echo new > /usr/n; echo big > /root/big; chown 1000680000:1000680001 /root/big"]);
    expect(run.code).toBe(0);
    const committed = fx.berth(["commit", "-m", "my change", "-a", "Me <me@example.org>", "-c", 'CMD ["cat", "/root/f"]', `commit-src-${process.pid}`, `committed:${process.pid}`]);
    expect(committed).toMatchObject({ code: 0, stderr: "" });
    expect(committed.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const image = `committed:${process.pid}`;
    const inspect = JSON.parse(fx.berth(["image", "inspect", image]).stdout)[0];
    expect(inspect.Id).toBe(committed.stdout.trim());
    expect(inspect).toMatchObject({ Author: "Me <me@example.org>", Comment: "my change", Config: { Cmd: ["cat", "/root/f"], WorkingDir: "/root" } });
    expect(inspect.Config.Env).toContain("FOO=bar");
    expect(inspect.Config.Env.some((e: string) => e.startsWith("HOSTNAME="))).toBe(false);
    expect(inspect.RootFS.Layers).toHaveLength(JSON.parse(fx.berth(["image", "inspect", "busybox"]).stdout)[0].RootFS.Layers.length + 1);
    // the new image: its Cmd; the file added; the file deleted stays deleted; the replaced directory holds only what the container put there
    const c = ["run", "--rm", "--network", "none", "--cgroup-parent", fx.cgroupParent, image];
    expect(fx.berth(c)).toMatchObject({ code: 0, stdout: "hello\n" });
    expect(fx.berth([...c, "sh", "-c", "test -e /bin/ls && echo present; ls /usr; echo $FOO; pwd"]).stdout).toBe("n\nbar\n/root\n");
    expect(fx.berth([...c, "stat", "-c", "%u:%g", "/root/big"]).stdout).toBe("1000680000:1000680001\n");
    expect(fx.berth(["history", image]).stdout.split("\n")[1]).toMatch(/ my change$/);
    // a running container: frozen while read, running after; --pause=false reads it as it runs
    const live = fx.berth(["run", "-d", "--network", "none", "--cgroup-parent", fx.cgroupParent, "busybox", "sh", "-c", "echo x > /x; sleep 600"]).stdout.trim();
    expect(await until(() => fx.berth(["exec", live, "cat", "/x"]).stdout === "x\n", 60_000)).toBe(true);
    const frozen = fx.berth(["commit", live]).stdout.trim();
    expect(frozen).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fx.berth(["run", "--rm", "--network", "none", "--cgroup-parent", fx.cgroupParent, frozen, "cat", "/x"]).stdout).toBe("x\n");
    // docker's events of it: the pause around the read, and the commit
    const events = fx.berth(["events", "--since", "10m", "--until", "0s", "--filter", `container=${live}`, "--format", "{{.type}}"]).stdout;
    expect(events).toContain("pause\ncommit\nresume\n");
    expect(fx.inspect(live).State).toMatchObject({ Status: "running", Paused: false });
    const asItRuns = fx.berth(["commit", "--pause=false", live]).stdout.trim();
    expect(asItRuns).toMatch(/^sha256:[0-9a-f]{64}$/);
    // bad input: one line, nothing made
    const before = fx.berth(["images", "-q", "--no-trunc"]).stdout;
    const bad = fx.berth(["commit", "-c", "FROM busybox", live, "nope:1"]);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^berth: .*FROM/);
    const onDir = fx.runDetached([], ["true"]);
    const refused = fx.berth(["commit", onDir]);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/\(--rootfs\), not on an image's layers/);
    expect(fx.berth(["images", "-q", "--no-trunc"]).stdout).toBe(before);
    expect(fx.berth(["rm", "-f", live, onDir, `commit-src-${process.pid}`]).code).toBe(0);
    expect(fx.berth(["rmi", image, frozen, asItRuns]).code).toBe(0);
  });

  test("image prune --filter: by the image's labels (it has none), as docker's", () => {
    expect(fx.berth(["load", "-i", ARCHIVE!]).code).toBe(0);
    expect(fx.berth(["image", "prune", "-a", "-f", "--filter", "label=nothing-has-it"]).stdout).toBe("Total reclaimed space: 0B\n");
    expect(fx.berth(["images", "-q"]).stdout).not.toBe("");
    const pruned = fx.berth(["image", "prune", "-a", "-f", "--filter", "label!=nothing-has-it"]);
    expect(pruned.stdout).toMatch(/^Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [1-9]/);
    expect(fx.berth(["images", "-q"]).stdout).toBe("");
    // docker's events of the removal, as rmi's: untag, then delete
    const id = /deleted: (sha256:[0-9a-f]{64})/.exec(pruned.stdout)![1]!;
    const events = fx.berth(["events", "--since", "10m", "--until", "0s", "--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}"]).stdout;
    expect(events).toEndWith(`untag ${id} busybox:latest\ndelete ${id} ${id}\n`);
    const bad = fx.berth(["image", "prune", "-f", "--filter", "dangling=maybe"]);
    expect([bad.code, bad.stderr]).toEqual([125, `berth: --filter: invalid filter "dangling=maybe"; use KEY=VALUE with KEY one of until, label, label!\n`]);
  });
});

describe.skipIf(!ARCHIVE || !Bun.which("docker-registry") || !Bun.which("skopeo"))("run of an image that is not here pulls it (--pull missing)", () => {
  removeLeftContainers();
  test("from a registry on 127.0.0.1: 'Unable to find image' on stderr, then the container's output; --pull never refuses", async () => {
    const registry = await startRegistryWithBusybox(fx.dir);
    try {
      const never = fx.berth(["run", "--network", "none", "--rm", "--pull", "never", registry.image, "true"]);
      expect(never.code).toBe(125);
      const r = fx.berth(["run", "--network", "none", "--rm", "--cgroup-parent", fx.cgroupParent, registry.image, "echo", "pulled"]);
      expect(r).toMatchObject({ code: 0, stdout: "pulled\n", stderr: `Unable to find image '${registry.image}' locally\n` });
      expect(fx.berth(["images", "-q"]).stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
      expect(fx.berth(["rmi", registry.image]).code).toBe(0);
    } finally {
      await registry.stop();
    }
  });
});
