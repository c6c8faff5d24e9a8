/**
 * The records of an OCI runtime's `--log`, as the engine and diagnose read them back:
 * runc's formats — JSON lines `{"level","msg","time"}` with --log-format json, logfmt
 * `time=… level=error msg="…"` otherwise. berth-runtime's JSON error records also carry
 * the errno and the spec field (cli/runtime/invocation.ts writes them), so an engine
 * chooses docker's 126/127 without matching words. Pure.
 */

export interface RuntimeLogLine {
  level: string;
  msg: string;
  time?: string;
  /** berth-runtime's: the failed call's errno name (ENOENT) */
  errno?: string;
  /** berth-runtime's: the spec field or flag the error is about (process.args[0]) */
  field?: string;
}

/** One log line in either format; undefined for anything else. */
export function parseRuntimeLogLine(line: string): RuntimeLogLine | undefined {
  const t = line.trim();
  if (t === "") return undefined;
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t) as Record<string, unknown>;
      if (typeof o.msg !== "string") return undefined;
      return {
        level: String(o.level ?? "info"), msg: o.msg,
        ...(typeof o.time === "string" && { time: o.time }),
        ...(typeof o.errno === "string" && o.errno !== "" && { errno: o.errno }),
        ...(typeof o.field === "string" && o.field !== "" && { field: o.field }),
      };
    } catch {
      return undefined;
    }
  }
  const level = /(?:^|\s)level=(\w+)/.exec(t)?.[1];
  const quoted = /(?:^|\s)msg=("(?:[^"\\]|\\.)*")/.exec(t)?.[1];
  if (!level || quoted === undefined) return undefined;
  let msg: string;
  try {
    msg = JSON.parse(quoted) as string;
  } catch {
    msg = quoted.slice(1, -1);
  }
  const time = /(?:^|\s)time="([^"]*)"/.exec(t)?.[1];
  return { level, msg, ...(time !== undefined && { time }) };
}

/** The last error (or fatal) line of a runtime log. */
export function lastRuntimeError(text: string): RuntimeLogLine | undefined {
  return text.split("\n").map(parseRuntimeLogLine).filter((l): l is RuntimeLogLine => l !== undefined && /^(error|fatal|panic)$/.test(l.level)).at(-1);
}
