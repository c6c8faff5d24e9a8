/**
 * Test fixture for seccomp.test.ts, run as its own process: load a compiled program on
 * this process's main thread, make some raw syscalls and print what each returned.
 * A filter cannot be taken off again, so this must never run inside the test runner.
 *
 * argv[2]: a JSON file {flags, program (base64), calls: [{nr, args}]}; a string argument
 * is passed as a pointer to that NUL-terminated string.
 * stdout: one JSON line {load: {ret, errno}, results: [{ret, errno}, …]}.
 */
import { readFileSync } from "node:fs";
import { addressOf, errno, syscall, type SyscallArg } from "../sys/libc.ts";

// x86_64 numbers and uapi constants, written out here so the probe does not trust the code under test.
const SYS_PRCTL = 157;
const SYS_SECCOMP = 317;
const PR_SET_NO_NEW_PRIVS = 38;
const SECCOMP_SET_MODE_FILTER = 1;

const input = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as {
  flags: number;
  program: string;
  calls: { nr: number; args: (number | string)[] }[];
};

// Every buffer a pointer names stays referenced in `keep` until the process exits.
const keep: Uint8Array[] = [];
const arg = (a: SyscallArg | string): SyscallArg => {
  if (typeof a !== "string") return a;
  const buf = Buffer.from(`${a}\0`);
  keep.push(buf);
  return buf; // passed by address
};
const call = (nr: number, args: (SyscallArg | string)[]) => {
  const [a = 0, b = 0, c = 0, d = 0, e = 0] = args.map(arg);
  const ret = syscall(nr, a, b, c, d, e);
  return { ret, errno: ret < 0 ? errno() : 0 };
};

const program = Buffer.from(input.program, "base64");
const fprog = new Uint8Array(16); // struct sock_fprog { u16 len; struct sock_filter *filter; }
const view = new DataView(fprog.buffer);
view.setUint16(0, program.length / 8, true);
view.setBigUint64(8, addressOf(program), true);
keep.push(program, fprog);

// Unprivileged seccomp needs no_new_privs; as root it is harmless.
const nnp = call(SYS_PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0]);
const load = nnp.ret < 0 ? nnp : call(SYS_SECCOMP, [SECCOMP_SET_MODE_FILTER, input.flags, fprog]);
const results = load.ret < 0 ? [] : input.calls.map((c) => call(c.nr, c.args));
process.stdout.write(`${JSON.stringify({ load, results })}\n`);
