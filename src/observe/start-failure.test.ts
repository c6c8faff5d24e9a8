import { describe, expect, test } from "bun:test";
import { explainExit } from "./exit-codes.ts";
import { classifyStartFailure, lastRuntimeError, parseRuntimeLogLine } from "./start-failure.ts";

describe("the runtime's --log", () => {
  test("JSON lines (--log-format json) and logfmt (runc's text format)", () => {
    expect(parseRuntimeLogLine('{"level":"error","msg":"boom","time":"2025-01-01T00:00:00Z"}')).toEqual({ level: "error", msg: "boom", time: "2025-01-01T00:00:00Z" });
    expect(parseRuntimeLogLine('time="2025-01-01T00:00:00Z" level=error msg="exec: \\"nope\\": executable file not found in $PATH"'))
      .toEqual({ level: "error", msg: 'exec: "nope": executable file not found in $PATH', time: "2025-01-01T00:00:00Z" });
    expect(parseRuntimeLogLine("garbage")).toBeUndefined();
  });
  test("the last error wins; warnings and debug lines are not errors", () => {
    const log = ['{"level":"error","msg":"first"}', '{"level":"warning","msg":"w"}', '{"level":"error","msg":"second"}', '{"level":"debug","msg":"d"}'].join("\n");
    expect(lastRuntimeError(log)?.msg).toBe("second");
    expect(lastRuntimeError('{"level":"warning","msg":"w"}')).toBeUndefined();
  });
});

describe("why it did not start", () => {
  test.each([
    ['process.args[0]: "nope": executable file not found in $PATH: no such file or directory', "exec", 127, "process.args[0]"],
    ['runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH', "exec", 127, undefined],
    ['process.args[0]: "/etc/passwd": permission denied: /etc/passwd is not an executable file', "exec", 126, "process.args[0]"],
    ["config.json: /b/config.json: no such file or directory; point --bundle at a directory holding config.json", "bundle", 125, "config.json"],
    ["linux.cgroupsPath: cgroup /x already has processes in it; use a cgroupsPath of its own", "cgroup", 125, "linux.cgroupsPath"],
    ["mounts[3] (/proc): mount: operation not permitted", "mounts", 125, "mounts[3]"],
    ["hooks.prestart[0]: /bin/false exited with status 1", "hooks", 125, "hooks.prestart[0]"],
    ["error setting rlimit type 7: operation not permitted", "rlimits", 125, undefined],
    ["something odd", "runtime", 125, undefined],
  ] as const)("%s → %s, %d", (msg, phase, code, field) => {
    const f = classifyStartFailure(msg);
    expect(f.phase).toBe(phase);
    expect(f.exitCode).toBe(code);
    expect(f.field).toBe(field);
    expect(f.message).toBe(msg);
  });
});

describe("what an exit code means", () => {
  test("docker's codes, 128+N as signals, anything else the program's own", () => {
    expect(explainExit(127).meaning).toStartWith("the command was not found");
    expect(explainExit(126).meaning).toStartWith("the command was found but cannot be executed");
    expect(explainExit(137)).toMatchObject({ code: 137, signal: "SIGKILL" });
    expect(explainExit(143)).toMatchObject({ signal: "SIGTERM" });
    expect(explainExit(139).meaning).toContain("SIGSEGV");
    expect(explainExit(3)).toEqual({ code: 3, meaning: "the program's own exit code: see its documentation or logs" });
  });
});
