/**
 * `pause` and `resume`: freeze and thaw every process of the container through its
 * cgroup (v1 `freezer.state`, v2 `cgroup.freeze`). The managers wait until the kernel
 * reads back FROZEN / `frozen 1`, so `state` says paused the moment `pause` returns.
 * The refusals use runc's words (libcontainer/error.go), which callers may match.
 */
import { openCgroup } from "../cgroups/open-cgroup.ts";
import { BerthError } from "../errors.ts";
import { withContainer } from "./locked-state.ts";
import type { SavedState, Target } from "./state.ts";

function cgroupOf(s: SavedState) {
  return openCgroup(s.cgroupsPath, { systemd: s.systemdCgroup });
}

/** Freeze a running (or created, as runc allows) container. */
export function pauseContainer(t: Target): void {
  withContainer(t, (s, status) => {
    if (status !== "running" && status !== "created") throw new BerthError("container not running");
    const cg = cgroupOf(s);
    try {
      cg.freeze();
    } catch (err) {
      // A freeze that did not complete (a task stuck in the kernel) must not leave the
      // container half-frozen and reported as running: thaw it back, as runc does.
      try {
        cg.thaw();
      } catch {
        // the original error says what went wrong
      }
      throw err;
    }
  });
}

/** Thaw a paused container. */
export function resumeContainer(t: Target): void {
  withContainer(t, (s, status) => {
    if (status !== "paused") throw new BerthError("container not paused");
    cgroupOf(s).thaw();
  });
}
