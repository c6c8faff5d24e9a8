/**
 * What an exit status means, the way zx's error tables explain one: docker's 125/126/127,
 * the shell's 128+N for "killed by signal N", and the signals a container dies of. Pure.
 */
import { signalName } from "../signals.ts";

const SIGNAL_MEANING: Record<string, string> = {
  SIGKILL: "killed with SIGKILL: by the OOM killer, `kill -9`, or an engine whose stop timeout ran out",
  SIGTERM: "stopped with SIGTERM: `docker stop`, `podman stop`, the kubelet, or the program itself",
  SIGINT: "interrupted (SIGINT, Ctrl-C)",
  SIGHUP: "hung up (SIGHUP: its terminal or session went away)",
  SIGSEGV: "crashed: invalid memory access (SIGSEGV)",
  SIGABRT: "aborted itself (SIGABRT: an assertion, abort(), a failed check in the runtime)",
  SIGBUS: "crashed: bus error (SIGBUS: a mapped file shrank, or a full tmpfs/hugetlb)",
  SIGILL: "crashed: illegal instruction (SIGILL: built for another CPU)",
  SIGFPE: "crashed: arithmetic error (SIGFPE)",
  SIGPIPE: "wrote to a closed pipe or socket (SIGPIPE)",
  SIGSYS: "made a system call its seccomp profile kills on (SIGSYS)",
  SIGXCPU: "ran out of its RLIMIT_CPU (SIGXCPU)",
  SIGXFSZ: "wrote past its RLIMIT_FSIZE (SIGXFSZ)",
};

const CODE_MEANING: Record<number, string> = {
  0: "success",
  1: "a general error reported by the program",
  2: "misuse of a shell builtin or a usage error",
  125: "the engine or runtime itself failed (docker's 125): the container never ran",
  126: "the command was found but cannot be executed: permission denied, not an executable file, or a wrong interpreter line",
  127: "the command was not found: no such file in the root filesystem, or not in $PATH",
};


export interface ExitMeaning {
  code: number;
  /** the signal when code is 128+N for a known signal */
  signal?: string;
  meaning: string;
}

/**
 * @example explainExit(137) // → { code: 137, signal: "SIGKILL", meaning: "killed with SIGKILL: …" }
 * @example explainExit(127) // → { code: 127, meaning: "the command was not found: …" }
 */
export function explainExit(code: number): ExitMeaning {
  const known = CODE_MEANING[code];
  if (known) return { code, meaning: known };
  if (code > 128 && code < 128 + 65) {
    const signal = signalName(code - 128);
    if (signal) return { code, signal, meaning: SIGNAL_MEANING[signal] ?? `killed by ${signal}` };
  }
  return { code, meaning: "the program's own exit code: see its documentation or logs" };
}
