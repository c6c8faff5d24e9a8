/**
 * Linux's signal numbers by name — `kill`'s names, and what node:os's constants.signals
 * holds, without loading node:os (its load costs every process that needs one name ≈0.5
 * ms). x86_64 and arm64 share these (asm-generic). Pure.
 */

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
