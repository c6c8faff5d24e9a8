/**
 * A directory's contents copied onto another directory with everything a file is — owner,
 * mode, times, symlinks as symlinks, hardlinks, device nodes, xattrs (file capabilities)
 * — and the target directory given the source's own owner, mode and times: what moby's
 * copyExistingContents + copyOwnership do when a new volume is seeded. GNU cp -a does
 * all of it; `-T` copies onto the target instead of into a subdirectory of it.
 */
import { BerthError } from "../errors.ts";
import { runProgram } from "./program.ts";

export function copyTreeOnto(source: string, target: string, field: string): void {
  const p = runProgram(["cp", "-aT", "--", source, target], { stdout: "ignore" });
  if (p.code !== 0) {
    const why = p.stderr.trim().split("\n")[0] || `cp exited ${p.code}`;
    throw new BerthError(`cannot copy ${source} into ${target}: ${why}`, { field });
  }
}
