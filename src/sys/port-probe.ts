/**
 * Is a host port free? Published ports are DNAT rules (CNI's portmap), not listening
 * sockets, so nothing would tell a user that a port is already taken by a host process —
 * the rule would silently shadow it. The engine binds a socket to the address and port
 * once (SO_REUSEADDR: a port in TIME_WAIT is free) and closes it; port 0 asks the kernel
 * for a free port (docker's random host port). Raw syscalls through sys/libc.ts, x86_64.
 */
import { close, errno, syscall } from "./libc.ts";

const SYS_SOCKET = 41, SYS_BIND = 49, SYS_GETSOCKNAME = 51, SYS_SETSOCKOPT = 54;
const AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1, SO_REUSEADDR = 2;

function sockaddrIn(ip: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = AF_INET;
  b[2] = port >> 8;
  b[3] = port & 255;
  ip.split(".").forEach((p, i) => (b[4 + i] = Number(p)));
  return b;
}

/**
 * Bind `proto` `ip:port` and let go: the port bound (the kernel's choice for port 0), or
 * the errno name-less number when the bind failed (EADDRINUSE = 98, EADDRNOTAVAIL = 99).
 */
export function probePort(ip: string, port: number, proto: "tcp" | "udp"): { port: number } | { errno: number } {
  const fd = syscall(SYS_SOCKET, AF_INET, (proto === "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return { errno: errno() };
  try {
    const one = new Int32Array([1]);
    syscall(SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_REUSEADDR, new Uint8Array(one.buffer), 4);
    if (syscall(SYS_BIND, fd, sockaddrIn(ip, port), 16) !== 0) return { errno: errno() };
    const addr = new Uint8Array(16);
    const len = new Uint32Array([16]);
    if (syscall(SYS_GETSOCKNAME, fd, addr, new Uint8Array(len.buffer)) !== 0) return { errno: errno() };
    return { port: (addr[2]! << 8) | addr[3]! };
  } finally {
    close(fd);
  }
}
