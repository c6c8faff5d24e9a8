import { describe, expect, test } from "bun:test";
import { BerthError } from "../../errors.ts";
import { logLimits, shouldRestart } from "./lifecycle.ts";
import { formatLine, parseLog, parseLogTime, parseTail, selectLines } from "./logs.ts";
import { GO_ZERO_TIME, type ContainerRecord } from "./records.ts";
import { commandText, matchesFilters, parseFilter, parsePruneFilters, parseVolumeFilter, prunable, psRow, sizeText, statusText, volumeMatches } from "./views.ts";
import { humanDuration } from "../../human-duration.ts";
import { consoleSocketPath, monitorArgs, parseSyncMessage } from "./monitor.ts";
import { exitCodeForRuntimeError, OciRuntime } from "./oci-runtime.ts";
import { lastRuntimeError } from "../../runtime/log-record.ts";

const record = (over: Partial<ContainerRecord> = {}): ContainerRecord => ({
  Id: "a".repeat(64), Name: "web", Created: "2026-12-06T10:00:00.000Z", Image: "busybox", ImageID: "sha256:" + "b".repeat(64), Rootfs: "/r", RootfsSource: "snapshot",
  Flags: { args: ["sh", "-c", "while true; do sleep 1; done"] }, Path: "sh", Args: ["-c", "while true; do sleep 1; done"], Env: [], WorkingDir: "/", User: "",
  Hostname: "aaaaaaaaaaaa", Labels: { tier: "front" }, StopSignal: "SIGTERM", Runtime: "/usr/sbin/runc", LogPath: "/x/ctr.log", Volumes: [{ name: "data", anonymous: false }],
  State: { Status: "running", Pid: 42, MonitorPid: 41, ExitCode: 0, Error: "", OOMKilled: false, StartedAt: "2026-12-06T10:00:01.000Z", FinishedAt: GO_ZERO_TIME, RestartCount: 0 },
  ...over,
});
const T = Date.parse("2026-12-06T10:00:00.000Z");

describe("docker's words", () => {
  test("go-units HumanDuration", () => {
    expect([500, 1000, 45_000, 60_000, 150_000, 3_600_000, 7_200_000, 3 * 86_400_000, 20 * 86_400_000].map(humanDuration))
      .toEqual(["Less than a second", "1 second", "45 seconds", "About a minute", "2 minutes", "About an hour", "2 hours", "3 days", "2 weeks"]);
  });
  test("STATUS: Created, Up, Up (Paused), Exited (N) … ago", () => {
    const r = record();
    expect(statusText(r, { status: "created", exitCode: 0, error: "" }, T)).toBe("Created");
    expect(statusText(r, { status: "running", exitCode: 0, error: "" }, T + 61_000)).toBe("Up About a minute");
    expect(statusText(r, { status: "paused", exitCode: 0, error: "" }, T + 3_000)).toBe("Up 2 seconds (Paused)");
    const done = record({ State: { ...r.State, Status: "exited", FinishedAt: "2026-12-06T10:00:05.000Z" } });
    expect(statusText(done, { status: "exited", exitCode: 137, error: "" }, T + 65_000)).toBe("Exited (137) About a minute ago");
  });
  test("COMMAND truncated to 20 characters and quoted; --no-trunc whole", () => {
    expect(commandText(record(), false)).toBe('"sh -c while true; d…"');
    expect(commandText(record(), true)).toBe('"sh -c while true; do sleep 1; done"');
    expect(psRow(record(), { status: "running", exitCode: 0, error: "" }, T + 5000, false)).toMatchObject({ ID: "aaaaaaaaaaaa", Names: "web", Labels: "tier=front", Mounts: "data", Networks: "none", RunningFor: "5 seconds ago", Size: "" });
  });
  test("SIZE: docker's 'written (virtual with the image)', 3 significant digits in decimal units", () => {
    expect(sizeText({ rw: 12, rootFs: 4_260_012 })).toBe("12B (virtual 4.26MB)");
    expect(sizeText({ rw: 0, rootFs: 1_234_567_890 })).toBe("0B (virtual 1.23GB)");
    expect(sizeText({ rw: 100_000, rootFs: 0 })).toBe("100kB");
    expect(psRow(record(), { status: "running", exitCode: 0, error: "" }, T, false, { rw: 1500, rootFs: 2_001_500 }).Size).toBe("1.5kB (virtual 2MB)");
  });
  test("prune --filter: until= before a time or a duration ago, every label= matches, no label!= does; bad ones named", () => {
    const now = Date.parse("2026-12-06T12:00:00Z");
    const f = parsePruneFilters(["until=1h", "label=tier", "label!=keep=yes"], now);
    expect(f).toEqual({ untilMs: now - 3_600_000, labels: ["tier"], notLabels: ["keep=yes"] });
    expect(prunable({ tier: "front" }, "2026-12-06T10:00:00Z", f)).toBe(true);
    expect(prunable({ tier: "front" }, "2026-12-06T11:30:00Z", f)).toBe(false);
    expect(prunable({ tier: "front", keep: "yes" }, "2026-12-06T10:00:00Z", f)).toBe(false);
    expect(prunable({ tier: "front", keep: "no" }, "2026-12-06T10:00:00Z", f)).toBe(true);
    expect(prunable({}, "2026-12-06T10:00:00Z", f)).toBe(false);
    expect(parsePruneFilters(["until=2026-12-06T11:00:00Z"], now).untilMs).toBe(now - 3_600_000);
    expect(() => parsePruneFilters(["until=1h"], now, false)).toThrow('--filter: invalid filter "until=1h"; use KEY=VALUE with KEY one of label, label!');
    expect(() => parsePruneFilters(["label"], now)).toThrow('--filter: invalid filter "label"; use KEY=VALUE with KEY one of until, label, label!');
    expect(() => parsePruneFilters(["label="], now)).toThrow('--filter: invalid filter "label="; use label=KEY[=VALUE]');
    expect(() => parsePruneFilters(["until="], now)).toThrow('--filter: invalid filter "until="; use until=TIME');
    expect(() => parsePruneFilters(["colour=red"], now)).toThrow(/invalid filter "colour=red"/);
    expect(() => parsePruneFilters(["until=soon"], now)).toThrow('--filter: invalid until "soon"; use until=TIME: RFC 3339');
  });
  test("volume ls --filter: dangling, name (a part), label, driver", () => {
    const v = { Name: "cache-data", Driver: "local", Labels: { app: "web" } };
    const m = (used: boolean, ...fs: string[]) => volumeMatches(v, used, fs.map(parseVolumeFilter));
    expect(m(false, "dangling=true")).toBe(true);
    expect(m(true, "dangling=true")).toBe(false);
    expect(m(true, "dangling=false", "name=data", "label=app=web", "driver=local")).toBe(true);
    expect(m(false, "name=nope", "name=cache")).toBe(true);
    expect(m(false, "label=app=db")).toBe(false);
    expect(() => parseVolumeFilter("dangling=maybe")).toThrow('--filter: invalid dangling "maybe"; use dangling=true or dangling=false');
    expect(m(false, "dangling=1")).toBe(true);
    expect(m(true, "dangling=False")).toBe(true);
    expect(() => parseVolumeFilter("size=1")).toThrow(/KEY one of dangling, name, label, driver/);
  });
  test("--filter: same key OR, different keys AND; bad keys and statuses named", () => {
    const r = record();
    const live = { status: "running" as const, exitCode: 0, error: "" };
    const f = (...xs: string[]) => matchesFilters(r, live, xs.map(parseFilter), () => "2026-12-06T09:00:00.000Z");
    expect(f("status=running", "status=exited")).toBe(true);
    expect(f("status=running", "label=tier=back")).toBe(false);
    expect(f("label=tier", "name=^we", "volume=data", "ancestor=busybox", "since=x")).toBe(true);
    expect(f("id=aaaa", "before=x")).toBe(false);
    expect(() => parseFilter("colour=red")).toThrow(/invalid filter "colour=red"/);
    expect(() => parseFilter("status=sleeping")).toThrow(/invalid status "sleeping"/);
    expect(() => parseFilter("label")).toThrow('--filter: invalid filter "label"; use KEY=VALUE with KEY one of id, name, label');
    expect(() => parseFilter("exited=boom")).toThrow('--filter: invalid exited "boom"; use exited=CODE, a number');
    // the code as a number: 007 is 7
    expect(matchesFilters(r, { status: "exited", exitCode: 7, error: "" }, [parseFilter("exited=007")], () => "")).toBe(true);
    // a pattern JavaScript cannot compile is the user's to mend, not an internal error at the first row
    expect(() => parseFilter("name=[")).toThrow('--filter: invalid name "["; use name=PATTERN, a regular expression');
  });
  test("--filter publish= (the container side of -p) and expose= (-p, --expose and the image's EXPOSE); tcp when unsaid; ranges", () => {
    const r = record({ Network: { mode: "cni", networks: ["bridge"], ports: [{ hostIP: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }], exposed: [{ port: 53, protocol: "udp" }], aliases: [] } });
    const live = { status: "running" as const, exitCode: 0, error: "" };
    const f = (x: string) => matchesFilters(r, live, [parseFilter(x)], () => "");
    expect(["publish=80", "publish=80/tcp", "publish=70-90", "publish=8080", "publish=80/udp", "publish=53/udp"].map(f)).toEqual([true, true, true, false, false, false]);
    expect(["expose=80", "expose=53/udp", "expose=53", "expose=50-60/udp"].map(f)).toEqual([true, true, false, true]);
    expect(() => parseFilter("publish=0.0.0.0:80")).toThrow('--filter: invalid publish "0.0.0.0:80"; use publish=PORT[/PROTO] or publish=START-END[/PROTO]');
    expect(() => parseFilter("expose=90-80")).toThrow('--filter: invalid expose "90-80"; use expose=PORT');
  });
});

describe("logs", () => {
  const log = [
    "2026-12-06T10:00:00.100000000+00:00 stdout F one",
    "2026-12-06T10:00:01.000000000+00:00 stderr P par",
    "2026-12-06T10:00:01.100000000+00:00 stdout F two",
    "2026-12-06T10:00:01.200000000+00:00 stderr F tial",
    "2026-12-06T10:00:02.000000000+00:00 stdout F ",
    "2026-12-06T10:00:03.000000000+00:00 stdout F incomplete-no-newline",
  ].join("\n");
  test("k8s-file: partial chunks joined, streams apart, an unfinished last line left for later", () => {
    const lines = parseLog(log);
    expect(lines.map((l) => [l.stream, l.text])).toEqual([["stdout", "one\n"], ["stdout", "two\n"], ["stderr", "partial\n"], ["stdout", "\n"]]);
    expect(formatLine(lines[0]!, true)).toBe("2026-12-06T10:00:00.100000000Z one\n");
  });
  test("--tail, --since, --until; durations, Unix seconds and RFC 3339; bad values named", () => {
    const lines = parseLog(log);
    expect(selectLines(lines, { tail: 2 }).map((l) => l.text)).toEqual(["partial\n", "\n"]);
    expect(selectLines(lines, { tail: 0 })).toEqual([]);
    expect(selectLines(lines, { sinceMs: Date.parse("2026-12-06T10:00:01Z"), untilMs: Date.parse("2026-12-06T10:00:01.150Z") }).map((l) => l.text)).toEqual(["two\n", "partial\n"]); // a joined line has its first chunk's time
    const now = Date.parse("2026-12-06T11:00:00Z");
    expect(parseLogTime("1h30m", "--since", now)).toBe(now - 5_400_000);
    expect(parseLogTime("1796500000.5", "--since", now)).toBe(1796500000500);
    expect(parseLogTime("2026-12-06T10:00:00Z", "--since", now)).toBe(Date.parse("2026-12-06T10:00:00Z"));
    expect(() => parseLogTime("yesterday", "--since", now)).toThrow(/--since: invalid time "yesterday"/);
    expect(parseTail("all")).toBeUndefined();
    expect(() => parseTail("lots")).toThrow(/--tail/);
  });
  test("--log-opt: max-size and max-file, 10 MiB × 3 by default, never unbounded", () => {
    expect(logLimits({})).toEqual({ maxSize: 10 * 1024 * 1024, maxFiles: 3 });
    expect(logLimits({ logOpt: ["max-size=1m", "max-file=2"] })).toEqual({ maxSize: 1024 * 1024, maxFiles: 2 });
    expect(() => logLimits({ logOpt: ["max-file=0"] })).toThrow(/max-file/);
    expect(() => logLimits({ logOpt: ["max-size=-1"] })).toThrow(BerthError);
    expect(() => logLimits({ logOpt: ["max-size=0"] })).toThrow(/max-size must be above 0/);
    expect(() => logLimits({ logOpt: ["colour=red"] })).toThrow(/unknown log option "colour"/);
  });
});

describe("restart policy", () => {
  test("docker's rules", () => {
    expect(shouldRestart("no", 1, 0, false)).toBe(false);
    expect(shouldRestart(undefined, 1, 0, false)).toBe(false);
    expect(shouldRestart("always", 0, 5, false)).toBe(true);
    expect(shouldRestart("always", 0, 5, true)).toBe(false);
    expect(shouldRestart("unless-stopped", 3, 0, false)).toBe(true);
    expect(shouldRestart("on-failure", 0, 0, false)).toBe(false);
    expect(shouldRestart("on-failure", 1, 100, false)).toBe(true);
    expect(shouldRestart("on-failure:2", 1, 1, false)).toBe(true);
    expect(shouldRestart("on-failure:2", 1, 2, false)).toBe(false);
  });
});

describe("the monitor and the runtime", () => {
  test("berth-monitor's command line: runtime flags as --runtime-arg, the log's limits, the exit command after --", () => {
    const runtime = new OciRuntime("/usr/sbin/runc", "/run/berth/runtime");
    const files = { runDir: "/run/c", exitDir: "/run/c/exit", pidFile: "/run/c/pidfile", monitorPidFile: "/run/c/monitor.pid", runtimeLog: "/run/c/runtime.log", monitorLog: "/run/c/monitor.log", attachSocket: "attach" };
    const request = { id: "abc", bundle: "/b", logPath: "/b/ctr.log", log: { maxSize: 100, maxFiles: 2 }, runtime, files, tty: false, stdin: true, exitCommand: ["/bin/berth", "container", "cleanup", "abc"] };
    const joined = monitorArgs(request, "/run/c/console").join(" ");
    expect(joined).toContain("--runtime /usr/sbin/runc --runtime-arg --root --runtime-arg /run/berth/runtime --runtime-arg --log --runtime-arg /run/c/runtime.log");
    expect(joined).toContain("--log /b/ctr.log --log-max-size 100 --log-max-files 2 --exit-dir /run/c/exit --attach-socket attach --sync-fd 3");
    expect(joined).toEndWith("--stdin -- /bin/berth container cleanup abc");
    expect(joined).not.toContain("--tty");
    expect(monitorArgs({ ...request, tty: true, stdin: false }, "/run/c/console").join(" ")).toContain("--tty --console-socket /run/c/console --");
    expect(joined).not.toContain("--runtime-created-pipe");
    expect(monitorArgs({ ...request, createdPipe: true }, "/run/c/console").join(" ")).toContain(" --runtime-created-pipe -- ");
  });
  test("the console socket: in the run dir when its path fits a socket address, else in the temporary directory", () => {
    expect(consoleSocketPath("/run/berth/containers/abc", "abc")).toBe("/run/berth/containers/abc/console");
    const long = `/tmp/berth-engine-ctr-XXXXXX/run/containers/${"a".repeat(64)}`;
    expect(consoleSocketPath(long, "a".repeat(64), "/tmp")).toBe(`/tmp/berth-console-${"a".repeat(64)}`);
  });
  test("the sync pipe's word: a pid, or the runtime's failure", () => {
    expect(parseSyncMessage('{"data": 4242}\n')).toEqual({ pid: 4242 });
    expect(parseSyncMessage('{"data": -1, "message": "runc create failed: boom"}\n')).toEqual({ error: "runc create failed: boom" });
    expect(parseSyncMessage("")).toEqual({ error: "the monitor exited without a word" });
  });
  test("docker's 126/127 from the runtime's structured error, never from its words", () => {
    const log = '{"level":"warning","msg":"x"}\n{"level":"error","msg":"process.args[0]: not found","errno":"ENOENT","field":"process.args[0]"}\n';
    expect(lastRuntimeError(log)).toEqual({ level: "error", msg: "process.args[0]: not found", errno: "ENOENT", field: "process.args[0]" });
    expect(exitCodeForRuntimeError(lastRuntimeError(log))).toBe(127);
    expect(exitCodeForRuntimeError({ msg: "", errno: "EACCES", field: "process.args[0]" })).toBe(126);
    expect(exitCodeForRuntimeError({ msg: "", errno: "ENOENT", field: "process.cwd" })).toBe(126);
    expect(exitCodeForRuntimeError({ msg: "executable file not found in $PATH" })).toBe(125);
    expect(exitCodeForRuntimeError(undefined)).toBe(125);
  });
});
