/**
 * `run`'s head start: the container's monitor — and with it the runtime's `create`, a
 * Bun process whose start-up (≈7 ms) is the longest single step of a run — is launched
 * as soon as the container's directories exist, while berth claims the name, mounts the
 * root and builds the spec. The runtime's bundle is then the run dir, whose
 * `config.json` is a FIFO until the spec is ready: the runtime's read of it waits there,
 * a plain file read (no runtime flag, no protocol of berth's own). `release` gives it the
 * spec: written into the FIFO (for a runtime that opened it already) and put in its place
 * as a regular file (for one that opens it later); `abort` gives it an empty one, which
 * its create refuses, so a failed run leaves no runtime waiting.
 *
 * berth holds the FIFO open for writing, so the runtime's open never blocks and its read
 * ends when berth closes it; should berth die before the release, its exit claim hangs up
 * and the monitor kills the waiting create (native/berth-monitor/PROTOCOL.md). Only
 * berth-runtime is started this way: it is known to read config.json to its end whatever
 * the file is.
 */
import { BerthError } from "../../errors.ts";
import { writeFileAtomic } from "../../sys/atomic-file.ts";
import { close, errno, mkfifo, O, openPath, setPipeSize, writeAll } from "../../sys/libc.ts";
import { describeErrno } from "../../sys/errno.ts";
import { awaitMonitor, launchMonitor, type LaunchedMonitor, type MonitorRequest } from "./monitor.ts";

/** What the FIFO's capacity is raised to (from the default 64 KiB): a larger spec is written as a file the normal way. */
const FIFO_CAPACITY = 1 << 20;

export class HeadStart {
  private readonly config: string;
  private fifo: number;
  private readonly monitor: LaunchedMonitor;
  private spec: string | undefined;
  /** the bytes the FIFO takes without a reader: a spec beyond it could block berth's write forever */
  private readonly capacity: number;

  /** `request` without its bundle: the head start's own, in the run dir. */
  constructor(request: Omit<MonitorRequest, "bundle">) {
    // the run dir, made with the container's directories: a directory of its own cost a mkdir on the critical path
    const bundle = request.files.runDir;
    this.config = `${bundle}/config.json`;
    if (mkfifo(this.config, 0o600) !== 0) {
      // a directory berth has just made: what fails is the filesystem under the run root
      throw new BerthError(`cannot make ${this.config}: ${describeErrno(errno())}; the run root (--runroot, BERTH_RUNROOT) must be a local filesystem with free space and inodes (df -i) that can hold FIFOs`, { field: "--runroot" });
    }
    this.fifo = openPath(this.config, O.RDWR | O.CLOEXEC);
    // a spec larger than the default 64 KiB (docker's seccomp profile is most of one) would otherwise block the write
    this.capacity = setPipeSize(this.fifo, FIFO_CAPACITY);
    this.monitor = launchMonitor({ ...request, bundle });
  }

  /** The spec the runtime will read (config.json's text), once built; `release` hands it over. */
  ready(specText: string): void {
    this.spec = specText;
  }

  /**
   * Give the runtime its config; then the monitor's word: the container's pid, or the
   * create's failure. Undefined when the spec is larger than the FIFO takes: the head start
   * is aborted, and the caller starts the monitor the normal way.
   */
  start(whileCreating?: () => void): number | undefined {
    const text = this.spec ?? "";
    if (Buffer.byteLength(text) > this.capacity) {
      this.abort();
      return undefined;
    }
    writeAll(this.fifo, text, this.config);
    this.handOver(text);
    return awaitMonitor(this.monitor, whileCreating);
  }

  /** The run failed before the release: the runtime gets an empty config (its create fails), and the monitor is waited for. */
  abort(): void {
    if (this.fifo < 0) return;
    this.handOver("");
    try {
      awaitMonitor(this.monitor);
    } catch {
      // its refusal of the empty config: expected
    }
  }

  private handOver(text: string): void {
    writeFileAtomic(this.config, text, { mode: 0o600, fsync: false });
    close(this.fifo);
    this.fifo = -1;
  }
}
