/**
 * Linux's signal numbers by name — `kill`'s names, and what node:os's constants.signals
 * holds, without loading node:os (its load costs every process that needs one name ≈0.5
 * ms). x86_64 and arm64 share these (asm-generic). Pure.
 */
import { BerthError } from "./errors.ts";

/** By name without "SIG"; where two names share a number the first is the one told back. */
const NUMBERS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21,
  TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

/**
 * A signal's number by its name, with or without "SIG" (exact case); undefined for a name
 * Linux has not.
 *
 * @example signalNumber("SIGTERM") // → 15
 */
export function signalNumber(name: string): number | undefined {
  const bare = name.startsWith("SIG") ? name.slice(3) : name;
  return Object.hasOwn(NUMBERS, bare) ? NUMBERS[bare] : undefined;
}

/**
 * The name ("SIG…") of signal `n`; undefined for a number without one here (0, the
 * real-time signals).
 *
 * @example signalName(6) // → "SIGABRT"
 */
export function signalName(n: number): string | undefined {
  for (const name in NUMBERS) if (NUMBERS[name] === n) return `SIG${name}`;
  return undefined;
}

/** A signal as `kill` takes it: a number (0…64), a name or SIG-name in any case; `field` names the flag in the error. */
export function parseSignal(raw: string | undefined, field = "signal"): number {
  const s = (raw ?? "SIGTERM").toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 signals nobody and only checks the processes are there (kill(2)); runc takes it
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = s.startsWith("SIG") ? s.slice(3) : s;
    const rt = /^RTMIN(\+(\d+))?$/.exec(name);
    // SIGRTMIN is 34 (glibc keeps 32 and 33); SIGRTMAX is 64
    if (rt && 34 + Number(rt[2] ?? 0) <= 64) return 34 + Number(rt[2] ?? 0);
    const n = signalNumber(name);
    if (n !== undefined) return n;
  }
  throw new BerthError(`${JSON.stringify(raw)} is not a signal; use a number (15) or a name (TERM, SIGKILL)`, { field });
}
