/**
 * Start native/berth-init with a plan and talk to it over one AF_UNIX socket
 * (native/PROTOCOL.md). The runtime's fds 0/1/2 and --preserve-fds go to the helper
 * unchanged; the socket sits right above them.
 *
 * Reads are blocking: a runtime command is a short synchronous program, and the helper
 * always either reports or exits (EOF).
 */
import { close, errno, pathExists, readFd, socketPair, spawnProcess, waitPid, writeAll } from "./libc.ts";
import { nativeBuildCandidates } from "./native-path.ts";
import { sealedCopy } from "./sealed-exec.ts";

/** native/build/berth-init (native-path.ts says where it is looked for); BERTH_INIT overrides. */
export function helperPath(): string {
  if (process.env.BERTH_INIT) return process.env.BERTH_INIT;
  const candidates = nativeBuildCandidates("berth-init", process.execPath, import.meta.dir);
  return candidates.find(pathExists) ?? candidates[candidates.length - 1]!;
}

export type Report =
  | { kind: "pid"; pid: number }
  | { kind: "map"; pid: number }
  | { kind: "ready" }
  | { kind: "seccomp" }
  | { kind: "hooks" }
  | { kind: "error"; step: number; errno: number; syscall: string; detail: string }
  | { kind: "eof" };

/** Parse one report line from the helper. */
export function parseReport(line: string): Report {
  const [kind, ...rest] = line.split(" ");
  if (kind === "pid" || kind === "map") return { kind, pid: Number(rest[0]) };
  if (kind === "ready" || kind === "seccomp" || kind === "hooks") return { kind };
  if (kind === "error") {
    return { kind, step: Number(rest[0]), errno: Number(rest[1]), syscall: rest[2] ?? "", detail: rest.slice(3).join(" ") };
  }
  throw new Error(`berth-init sent an unknown report: ${JSON.stringify(line)}`);
}

export interface HelperOptions {
  /** pass fds 3 … 3+n-1 of this process into the container (--preserve-fds) */
  preserveFds?: number;
  /**
   * The caller waits for the helper's exit status (`run` and `exec` in the foreground,
   * `enter`): then it is started by Bun.spawn, whose `exited` promise lets the event loop
   * forward signals meanwhile ({@link HelperSession.subprocess}). Otherwise it is started
   * by posix_spawn through the libc binding — ~1 ms and ~1 MiB less per `create` than
   * Bun.spawn — and reaped by close(): a detached helper exits as soon as it has
   * reported the init's pid.
   */
  wait?: boolean;
  /** the helper's stdio, as Bun.spawn takes it (implies `wait`); default: this process's own 0/1/2 */
  stdio?: [StdioSpec, StdioSpec, StdioSpec];
  /**
   * Called with the helper's pid after it started and before it has the plan, i.e.
   * before it has done anything: the runtime puts it in the container's cgroup here, so
   * the cgroup namespace it creates is rooted there and the init is born inside.
   */
  beforePlan?: (pid: number) => void;
}
type StdioSpec = "inherit" | "ignore" | "pipe" | number;

export class HelperSession {
  readonly pid: number;
  /** the helper as Bun's child, when {@link HelperOptions.wait} asked for its exit status */
  readonly subprocess: Bun.Subprocess | undefined;
  /** started through libc and not reaped yet: close() waits for it */
  private unreaped: boolean;
  private fd: number;
  // Uint8Array, not Buffer: a create that never touches Buffer skips Bun setting it up (~0.15 ms, 0.2 MiB)
  private buffered = new Uint8Array(0);
  private closed = false;
  private readonly beforePlan: HelperOptions["beforePlan"];

  /**
   * Start the helper; without a plan it waits for {@link sendPlan} (create starts it
   * before its plan is compiled, so the helper's exec and loading run meanwhile).
   */
  constructor(plan: Uint8Array | undefined, opts: HelperOptions = {}) {
    const preserve = opts.preserveFds ?? 0;
    const pair = socketPair();
    if (pair === -1) throw new Error(`socketpair for berth-init failed: errno ${errno()}`);
    const [ours, theirs] = pair;
    // the runtime's 0/1/2 and the preserved fds as they are, the socket right above them
    const fds = [0, 1, 2];
    for (let fd = 3; fd < 3 + preserve; fd++) fds.push(fd);
    const sockFd = fds.length;
    fds.push(theirs);
    const path = helperPath();
    const argv = [path, String(sockFd)];
    // the helper runs from a sealed copy (CVE-2019-5736: sys/sealed-exec.ts), exec'd by its
    // /proc/self/fd path: Bun's spawn keeps this process's close-on-exec fds until the
    // exec; posix_spawn closes every fd past those it is given, so the copy goes last
    // there, and the helper's CLOSE_FROM closes it before the container's execve
    let exe: number | undefined;
    try {
      exe = sealedCopy(path);
      const viaBun = opts.wait || opts.stdio !== undefined;
      this.subprocess = viaBun ? Bun.spawn([exe === undefined ? path : `/proc/self/fd/${exe}`, ...argv.slice(1)], { argv0: path, stdio: [...(opts.stdio ?? ["inherit", "inherit", "inherit"]), ...fds.slice(3)] as never, env: {} }) : undefined;
      this.pid = this.subprocess?.pid ?? (exe === undefined ? spawnProcess(path, argv, fds) : spawnProcess(`/proc/self/fd/${fds.length}`, argv, [...fds, exe]));
    } catch (err) {
      close(ours);
      throw err;
    } finally {
      if (exe !== undefined) close(exe);
      close(theirs);
    }
    this.unreaped = !this.subprocess;
    this.fd = ours;
    this.beforePlan = opts.beforePlan;
    if (plan) this.sendPlan(plan);
  }

  /** Hand the helper its plan (once), after {@link HelperOptions.beforePlan}; a failure there kills the helper. */
  sendPlan(plan: Uint8Array): void {
    if (this.beforePlan) {
      try {
        this.beforePlan(this.pid);
      } catch (err) {
        this.abort();
        throw err;
      }
    }
    this.send(plan);
  }

  send(bytes: Uint8Array | string): void {
    writeAll(this.fd, bytes);
  }

  /** The next report; `eof` once every copy of the helper's end is closed. */
  next(): Report {
    for (;;) {
      // bytes, not strings, until a whole line is here: a detail may split a UTF-8 character across reads
      const nl = this.buffered.indexOf(10);
      if (nl >= 0) {
        const line = new TextDecoder().decode(this.buffered.subarray(0, nl));
        this.buffered = this.buffered.subarray(nl + 1);
        return parseReport(line);
      }
      if (this.closed) return { kind: "eof" };
      const chunk = new Uint8Array(4096);
      let n: number;
      try {
        n = readFd(this.fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code === "ECONNRESET") n = 0;
        else throw err;
      }
      if (n === 0) {
        this.closed = true;
        continue;
      }
      const grown = new Uint8Array(this.buffered.length + n);
      grown.set(this.buffered);
      grown.set(chunk.subarray(0, n), this.buffered.length);
      this.buffered = grown;
    }
  }

  /** Answer a `seccomp` or `hooks` report: a state JSON, length-prefixed. */
  sendLengthPrefixed(json: string): void {
    const body = new TextEncoder().encode(json);
    const framed = new Uint8Array(4 + body.length);
    new DataView(framed.buffer).setUint32(0, body.length, true);
    framed.set(body, 4);
    this.send(framed);
  }

  /** Answer a `map` report: the runtime has written the id maps. */
  go(): void {
    this.send("g");
  }

  /** Stop talking to the helper; one started through libc is reaped here (it has exited, or exits on the closed socket). */
  close(): void {
    // once only: a second close(2) could hit an fd opened since under the same number
    if (this.fd >= 0) close(this.fd);
    this.fd = -1;
    this.closed = true;
    if (this.unreaped) {
      this.unreaped = false;
      try {
        waitPid(this.pid);
      } catch {
        // ECHILD: reaped already
      }
    }
  }

  /** Give up on the helper: SIGKILL, then {@link close}. Safe to call again, or after close(). */
  abort(): void {
    try {
      // Bun's child through Bun (which knows whether it reaped it); ours only until close()
      // reaped it — after that its pid may be another process's
      if (this.subprocess) this.subprocess.kill("SIGKILL");
      else if (this.unreaped) process.kill(this.pid, "SIGKILL");
    } catch {
      // gone already
    }
    this.close();
  }
}
