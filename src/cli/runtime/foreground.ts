/**
 * `run` and `exec` in the foreground: wait for the helper's first process, which exits
 * with the container process's status, and pass the signals a user or a supervisor
 * sends the runtime on to that process, as runc does.
 */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;

export async function waitForwardingSignals(pid: number, helper: Bun.Subprocess): Promise<number> {
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // the process is gone; its exit status is on its way
    }
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    return await helper.exited;
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}
