/**
 * The way every command that changes a running container starts: take the container's
 * lock (so a concurrent delete or update cannot interleave), then read its saved state
 * and status. Unknown ids get runc's "does not exist" wording, which callers match.
 */
import type { BerthError } from "../errors.ts";
import { pathExists } from "../sys/libc.ts";
import { containerDir, lockDir, notExist, readState, statusOf, type SavedState, type Status, type Target } from "./state.ts";

/** Run `fn` with the lock held and the state loaded; the lock is released when it returns or throws. */
export function withContainer<T>(t: Target, fn: (s: SavedState, status: Status) => T): T {
  const dir = containerDir(t.root, t.id);
  if (!pathExists(dir)) throw notExist(t.id);
  let lock;
  try {
    lock = lockDir(dir);
  } catch (err) {
    // deleted between the check and the lock
    if ((err as BerthError).errno === "ENOENT") throw notExist(t.id);
    throw err;
  }
  try {
    const s = readState(t.root, t.id);
    if (!s) throw notExist(t.id);
    return fn(s, statusOf(t.root, s));
  } finally {
    lock.release();
  }
}
