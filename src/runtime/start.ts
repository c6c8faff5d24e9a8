/**
 * `start`: let a created container's init exec the user's program. Loads only the state
 * store: callers exec it once per container, and it never needs the cgroup layer.
 */
import { BerthError, type Warning } from "../errors.ts";
import { close, O, openPath, pathExists, pollFd, POLLIN, readFd, unlinkPath } from "../sys/libc.ts";
import { runHooksWarning } from "./hooks.ts";
import { containerDir, fifoPath, initAlive, lockDir, notExist, ociState, readState, statusOf, type Target } from "./state.ts";

/**
 * Let the init exec the user's program: read the byte it writes into exec.fifo. Then the
 * poststart hooks, whose failure is only a warning (runtime-spec: the program runs on).
 */
export function startContainer(t: Target, warn?: (w: Warning) => void): void {
  const dir = containerDir(t.root, t.id);
  if (!pathExists(dir)) throw notExist(t.id);
  const lock = lockDir(dir);
  try {
    const s = readState(t.root, t.id);
    if (!s) throw notExist(t.id);
    const status = statusOf(t.root, s);
    if (status === "stopped") throw new BerthError("cannot start a container that has stopped");
    if (status === "creating") throw new BerthError("cannot start a container that is still being created");
    if (status !== "created") throw new BerthError("cannot start an already running container");
    if (s.noProcess) throw new BerthError("config.json has no process, so there is nothing to start; add process to config.json, then delete and create the container again", { field: "process" });
    const fifo = fifoPath(t.root, t.id);
    // Non-blocking: if the init died after `create`, a blocking open would wait forever.
    const fd = openPath(fifo, O.RDONLY | O.NONBLOCK);
    try {
      const buf = new Uint8Array(1);
      const readByte = (): boolean => {
        try {
          return readFd(fd, buf) === 1;
        } catch (err) {
          if ((err as { code?: string }).code !== "EAGAIN") throw err;
          return false;
        }
      };
      for (;;) {
        if (readByte()) break;
        // The init may write its byte, exec a short program and exit between the read
        // above and this check: the byte then waits in the FIFO, so read once more
        // before calling the container stopped (measured: 3 in 80 starts of /bin/true).
        if (!initAlive(s)) {
          if (readByte()) break;
          throw new BerthError("cannot start a container that has stopped");
        }
        // Woken the moment the byte arrives (or the init closes its end): the init is
        // usually still finishing its open when the first read looks, and a fixed sleep
        // cost a millisecond of every start. The timeout bounds the wait for an init
        // that died before opening the FIFO at all.
        pollFd(fd, POLLIN, 20);
      }
    } finally {
      close(fd);
    }
    unlinkPath(fifo);
    if (s.hooks?.poststart?.length) runHooksWarning("poststart", s.hooks.poststart, { state: JSON.stringify(ociState(s, "running")) }, warn);
  } finally {
    lock.release();
  }
}

