/**
 * Output of the CLIs, written to fd 1 and 2 directly through libc (sys/libc.ts says why
 * not node:fs). process.stdout/stderr build a stream on first use, which costs ~6 ms:
 * more than the whole work of `berth-runtime state` or `berth stats --interval 0`.
 */
import { writeAll } from "../sys/libc.ts";

export const writeOut = (text: string): void => writeAll(1, text);
export const writeErr = (text: string): void => writeAll(2, text);
