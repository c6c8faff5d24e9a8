import { describe, expect, test } from "bun:test";
import { lastRuntimeError, parseRuntimeLogLine } from "./log-record.ts";

describe("the runtime's --log", () => {
  test("JSON lines (--log-format json) and logfmt (runc's text format)", () => {
    expect(parseRuntimeLogLine('{"level":"error","msg":"boom","time":"2025-01-01T00:00:00Z"}')).toEqual({ level: "error", msg: "boom", time: "2025-01-01T00:00:00Z" });
    expect(parseRuntimeLogLine('time="2025-01-01T00:00:00Z" level=error msg="exec: \\"nope\\": executable file not found in $PATH"'))
      .toEqual({ level: "error", msg: 'exec: "nope": executable file not found in $PATH', time: "2025-01-01T00:00:00Z" });
    expect(parseRuntimeLogLine("garbage")).toBeUndefined();
    expect(parseRuntimeLogLine('{"msg":7}')).toBeUndefined();
  });
  test("the last error wins; warnings and debug lines are not errors", () => {
    const log = ['{"level":"error","msg":"first"}', '{"level":"warning","msg":"w"}', '{"level":"error","msg":"second"}', '{"level":"debug","msg":"d"}'].join("\n");
    expect(lastRuntimeError(log)?.msg).toBe("second");
    expect(lastRuntimeError('{"level":"warning","msg":"w"}')).toBeUndefined();
    expect(lastRuntimeError('time="t" level=fatal msg="runc died"\n{"level":"info","msg":"i"}')?.msg).toBe("runc died");
  });
  test("berth-runtime's errno and spec field come with its error record", () => {
    expect(parseRuntimeLogLine('{"level":"error","msg":"process.args[0]: not found","time":"t","errno":"ENOENT","field":"process.args[0]"}'))
      .toEqual({ level: "error", msg: "process.args[0]: not found", time: "t", errno: "ENOENT", field: "process.args[0]" });
  });
});
