/**
 * `run` and `exec` in the foreground: wait for the helper's first process, which exits
 * with the container process's status, and pass the signals a user or a supervisor
 * sends the runtime on to that process, as runc does.
 */
import { termCanEnd } from "../../runtime/lifecycle.ts";
import { readTextIfExists } from "../../sys/libc.ts";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;

/**
 * A TERM the process cannot act on — it ignores TERM (an interactive shell), or it is its
 * PID namespace's init without a handler, which the kernel shields from default-action
 * signals — would leave the runtime running forever for a caller that asked it to stop:
 * then the process is killed (SIGKILL), as `docker stop` does once its wait is over.
 */
export async function waitForwardingSignals(pid: number, helper: Bun.Subprocess): Promise<number> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // the process is gone; its exit status is on its way
    }
  };
  const forward = (sig: NodeJS.Signals) => {
    send(sig);
    if (sig !== "SIGTERM") return;
    const status = readTextIfExists(`/proc/${pid}/status`);
    if (status !== undefined && !termCanEnd(status)) send("SIGKILL");
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    return await helper.exited;
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}
