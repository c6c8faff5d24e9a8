/**
 * This process's terminal in raw mode, as docker's CLI sets it for `run -it` and
 * `attach` (moby/term's MakeRaw, i.e. cfmakeraw(3)): no echo, no line editing, no
 * signals from keys, and no output processing — the container's own terminal already
 * turned "\n" into "\r\n", so the outer one must pass its bytes as they are. Bun's
 * setRawMode is libuv's, which keeps ONLCR: every line would end "\r\r\n".
 *
 * Through ioctl(TCGETS/TCSETS) on the kernel's struct termios (x86-64: four u32 flag
 * words, the line discipline, 19 control characters).
 */
import { syscall } from "./libc.ts";

const SYS_ioctl = 16;
const TCGETS = 0x5401;
const TCSETS = 0x5402;
const TERMIOS_SIZE = 36;
const C_CC = 17;
const VTIME = 5;
const VMIN = 6;

/** The bits cfmakeraw clears, per flag word (octal, as <asm-generic/termbits.h>). */
const IFLAG_OFF = 0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000; // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
const OFLAG_OFF = 0o1; // OPOST
const LFLAG_OFF = 0o10 | 0o100 | 0o2 | 0o1 | 0o100000; // ECHO ECHONL ICANON ISIG IEXTEN
const CSIZE = 0o60;
const PARENB = 0o400;
const CS8 = 0o60;

/**
 * cfmakeraw's change to a struct termios (the kernel's layout). Pure.
 *
 * @example rawTermios(saved) // a copy with OPOST, ECHO, ICANON, ISIG… cleared, CS8, VMIN 1, VTIME 0
 */
export function rawTermios(saved: Uint8Array): Uint8Array {
  const t = saved.slice();
  const v = new DataView(t.buffer);
  v.setUint32(0, v.getUint32(0, true) & ~IFLAG_OFF, true);
  v.setUint32(4, v.getUint32(4, true) & ~OFLAG_OFF, true);
  v.setUint32(8, ((v.getUint32(8, true) & ~(CSIZE | PARENB)) | CS8) >>> 0, true);
  v.setUint32(12, v.getUint32(12, true) & ~LFLAG_OFF, true);
  t[C_CC + VMIN] = 1;
  t[C_CC + VTIME] = 0;
  return t;
}

/**
 * Put the terminal on `fd` in raw mode; returns what puts it back (also run when the
 * process exits, however it exits), or undefined when `fd` is no terminal.
 */
export function makeRaw(fd: number): (() => void) | undefined {
  const saved = new Uint8Array(TERMIOS_SIZE);
  if (syscall(SYS_ioctl, fd, TCGETS, saved) < 0) return undefined;
  if (syscall(SYS_ioctl, fd, TCSETS, rawTermios(saved)) < 0) return undefined;
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    syscall(SYS_ioctl, fd, TCSETS, saved);
  };
  process.on("exit", restore);
  return restore;
}
