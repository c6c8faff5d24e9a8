/**
 * A client of a container's attach socket (berth-monitor's, attach-frames.ts): the
 * container's output as it comes, and its stdin. The socket is `attach` in the run dir;
 * it is reached through /proc/self/fd/N/attach with N a descriptor of the run dir, since
 * the absolute path under a long --runroot does not fit a socket address (108 bytes).
 */
import type { Socket } from "bun";
import { BerthError } from "../../errors.ts";
import { close, O, openPath } from "../../sys/libc.ts";
import { encodeFrame, FRAME, FrameDecoder, resizeFrame, stdinFrames } from "./attach-frames.ts";
import { monitorFiles } from "./monitor-files.ts";

export interface AttachConnection {
  sendStdin(data: Uint8Array): void;
  /** the container's stdin ends (a pipe closes; a terminal gets its end-of-file character) */
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  close(): void;
  /** the container's exit code, once the monitor has sent it (just before `closed`) */
  exitCode(): number | undefined;
  /** resolves when the monitor closes the socket: the container has ended and its output is all delivered */
  closed: Promise<void>;
}

/** Connect to the container's attach socket; `output` gets each chunk of its stdout (1) and stderr (2). */
export async function attachContainer(runDir: string, output: (stream: 1 | 2, data: Uint8Array) => void): Promise<AttachConnection> {
  let dirFd: number;
  try {
    dirFd = openPath(runDir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  } catch {
    throw new BerthError(`cannot attach: ${runDir} is missing (the container is not running)`);
  }
  const decoder = new FrameDecoder();
  let ended!: () => void;
  const closed = new Promise<void>((resolve) => (ended = resolve));
  const queue: Uint8Array[] = [];
  let closeAfterFlush = false;
  let exitCode: number | undefined;
  let socket: Socket<undefined>;
  const flush = (s: Socket<undefined>) => {
    while (queue.length) {
      const head = queue[0]!;
      const n = s.write(head);
      if (n < head.length) {
        queue[0] = head.subarray(Math.max(n, 0));
        return;
      }
      queue.shift();
    }
    if (closeAfterFlush) s.end();
  };
  try {
    socket = await Bun.connect({
      unix: `/proc/self/fd/${dirFd}/${monitorFiles(runDir).attachSocket}`,
      socket: {
        data(_s, chunk) {
          for (const f of decoder.push(chunk)) {
            if (f.type === FRAME.stdout || f.type === FRAME.stderr) output(f.type, f.payload);
            else if (f.type === FRAME.exit) exitCode = Number.parseInt(new TextDecoder().decode(f.payload), 10);
          }
        },
        drain(s) {
          flush(s);
        },
        // the monitor's EOF: Bun calls end, and close only once this side closes too
        end() {
          ended();
        },
        close() {
          ended();
        },
        error() {
          ended();
        },
      },
    });
  } catch (err) {
    throw new BerthError(`cannot attach: the container's attach socket does not answer (${(err as Error).message}); is it running?`);
  } finally {
    close(dirFd);
  }
  const send = (bytes: Uint8Array) => {
    queue.push(bytes);
    flush(socket);
  };
  return {
    sendStdin: (data) => stdinFrames(data).forEach(send),
    closeStdin: () => send(encodeFrame(FRAME.closeStdin)),
    resize: (rows, cols) => send(resizeFrame(rows, cols)),
    close: () => {
      closeAfterFlush = true;
      flush(socket);
    },
    exitCode: () => exitCode,
    closed,
  };
}
