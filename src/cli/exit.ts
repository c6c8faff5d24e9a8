/**
 * How the berth CLI ends: docker's exit codes (125: berth itself failed, 126: the
 * command cannot run, 127: not found, else the command's own code) and one line on
 * stderr naming what failed and how to fix it.
 */
import { BerthError } from "../errors.ts";
import { writeErr } from "./stdio.ts";

export const EXIT_BERTH_FAILED = 125;

export class ExitError extends Error {
  constructor(readonly code: number, message = "") {
    super(message);
  }
}

/** Print `err` as one line and return the exit code for it. */
export function reportError(err: unknown, debug = false): number {
  if (err instanceof ExitError) {
    if (err.message) writeErr(`berth: ${err.message}\n`);
    return err.code;
  }
  if (err instanceof BerthError) {
    writeErr(`berth: ${err.message}\n`);
    if (debug && err.cause) writeErr(`${(err.cause as Error).stack ?? err.cause}\n`);
    return EXIT_BERTH_FAILED;
  }
  // one line for the user, with what would help a bug report; the stack only with --debug
  const message = String((err as Error)?.message ?? err).replace(/[\r\n]+/g, " ");
  writeErr(`berth: internal error: ${message} (run with --debug for the stack, and report it)\n`);
  if (debug) writeErr(`${(err as Error)?.stack ?? ""}\n`);
  return EXIT_BERTH_FAILED;
}
