/**
 * The one error type every berth layer throws for a problem a person can fix.
 *
 * The message is one line, lower case, no trailing period: what failed, where (the spec
 * field, the flag, the file) and what would fix it. `field` names the spec path or flag
 * so callers (the CLI, the runtime's plan mapper) can prefix or match on it.
 *
 * @example
 * throw new BerthError("must be one of a, b, c", { field: "linux.resources.devices[2].type" });
 * // → linux.resources.devices[2].type: must be one of a, b, c
 */
export class BerthError extends Error {
  readonly field?: string;
  /** errno name (`EBUSY`, `EINVAL` …) when a system call failed */
  readonly errno?: string;

  constructor(message: string, options: { field?: string; errno?: string; cause?: unknown } = {}) {
    super(options.field ? `${options.field}: ${message}` : message, { cause: options.cause });
    this.name = "BerthError";
    this.field = options.field;
    this.errno = options.errno;
  }
}

/** A warning the caller should show (runtime: log; CLI: stderr) but that does not stop the work. */
export interface Warning {
  field: string;
  message: string;
}

/**
 * The errno name of a Node/Bun system error (`err.code`), if it has one. Linux's
 * EOPNOTSUPP and ENOTSUP are one number (95); Node names it ENOTSUP, the kernel docs
 * EOPNOTSUPP — berth uses the kernel's name.
 */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOTSUP") return "EOPNOTSUPP";
  return typeof code === "string" && code.startsWith("E") ? code : undefined;
}
