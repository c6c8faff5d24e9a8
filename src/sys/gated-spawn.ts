/**
 * Start a command that waits at a gate until the caller has placed it (in a cgroup),
 * then execs. Moving a process *after* it started would let it allocate and fork
 * outside its limits; moving berth itself would charge Bun's own memory to the
 * cgroup. So the child is `sh`, blocked reading fd 3; the caller writes "go" after
 * `addProcess(pid)`, and sh execs the command with fd 3 closed. If the caller dies
 * instead, the read sees EOF and the child exits 125 without running anything.
 */
import { closeSync, writeSync } from "node:fs";
import { exitStatus } from "./program.ts";

const GATE = 'IFS= read -r go <&3 && [ "$go" = go ] || exit 125; exec 3<&-; exec "$@"';

export interface GatedProcess {
  pid: number;
  /** let the command run */
  release(): void;
  /** exit code; 128+N when killed by signal N (the shell convention docker follows) */
  exited: Promise<number>;
  /** the signal name if a signal ended it */
  signal(): string | null;
  proc: Bun.Subprocess;
}

export interface GatedSpawnOptions {
  stdin?: "inherit" | "ignore" | "pipe";
  stdout?: "inherit" | "ignore" | "pipe";
  stderr?: "inherit" | "ignore" | "pipe";
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function spawnGated(argv: string[], opts: GatedSpawnOptions = {}): GatedProcess {
  const proc = Bun.spawn(["/bin/sh", "-c", GATE, "berth-gate", ...argv], {
    stdio: [opts.stdin ?? "inherit", opts.stdout ?? "inherit", opts.stderr ?? "inherit", "pipe"],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const gateFd = (proc as unknown as { stdio: (number | null)[] }).stdio[3];
  if (typeof gateFd !== "number") {
    proc.kill("SIGKILL");
    throw new Error("internal error: the gate pipe (fd 3) was not created");
  }
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      closeSync(gateFd);
    }
  };
  return {
    pid: proc.pid,
    proc,
    release() {
      writeSync(gateFd, "go\n");
      close();
    },
    exited: proc.exited.then((code) => {
      close();
      return exitStatus(code, proc.signalCode);
    }),
    signal: () => (proc.signalCode === null ? null : String(proc.signalCode)),
  };
}
