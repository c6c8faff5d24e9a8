/**
 * `state` and `list`: read-only, and the commands callers exec in loops, so they load
 * only the state store — no cgroup layer, no node:fs.
 */
import { listDir } from "../sys/libc.ts";
import { notExist, ociState, readState, statusOf, type OciState } from "./state.ts";

export function stateOf(t: { root: string; id: string }): OciState {
  const s = readState(t.root, t.id);
  if (!s) throw notExist(t.id);
  return ociState(s, statusOf(t.root, s));
}

export function listStates(root: string): OciState[] {
  let ids: string[];
  try {
    ids = listDir(root).map((e) => e.name);
  } catch {
    return [];
  }
  const out: OciState[] = [];
  for (const id of ids.sort()) {
    const s = readState(root, id);
    if (s) out.push(ociState(s, statusOf(root, s)));
  }
  return out;
}
