/**
 * Running one CNI plugin executable: the CNI exec protocol's transport (CNI spec,
 * "Section 2: Execution Protocol") — parameters in the environment (CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH, CNI_ARGS), the network
 * configuration on stdin, the result (or an error object) on stdout. What the parameters
 * and the configuration are is engine/network/cni.ts's business.
 *
 * A plugin is started through libc's posix_spawn (libc.ts's spawnProcess) and waited for
 * later, so that several run at once — Bun.spawnSync runs one child at a time — and each
 * costs a vfork rather than Bun's ~1 ms of set-up. Its stdin, stdout and stderr are
 * socket pairs: the configuration (a few KiB) fits the socket's buffer, written before
 * the plugin reads it; its output is read when it is waited for (stdout, then stderr: a
 * plugin that wrote more than the buffer holds, ~200 KiB, to stderr before closing
 * stdout would wait on us — CNI plugins write a result or an error object, and a line).
 */
import { close, errno, readFdText, socketPair, spawnProcess, SysError, waitPid, writeAll } from "./libc.ts";

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningPlugin {
  /** wait for it to end: its exit code and output */
  wait(): PluginRun;
}

function pair(): [number, number] {
  const p = socketPair();
  // the reason (EMFILE: out of descriptors) is what says what to fix
  if (p === -1) throw new SysError("socketpair", errno());
  return p;
}

/** Start plugin `path` with the CNI variables `cniEnv` (added to PATH, which plugins need for iptables) and `stdin`. */
export function startPlugin(path: string, cniEnv: Record<string, string>, stdin: string): RunningPlugin {
  const ends: [number, number][] = [];
  let pid: number;
  try {
    while (ends.length < 3) ends.push(pair());
    pid = spawnProcess(path, [path], ends.map((e) => e[1]), { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...cniEnv });
  } catch (err) {
    // a socketpair or the spawn failed: none of the pairs made is left open
    for (const e of ends) close(e[0]);
    throw err;
  } finally {
    for (const e of ends) close(e[1]);
  }
  const [input, output, errors] = ends.map((e) => e[0]) as [number, number, number];
  try {
    writeAll(input, stdin);
  } catch {
    // EPIPE: it ended without reading; its exit status says why
  }
  close(input);
  let done: PluginRun | undefined;
  return {
    wait() {
      if (done) return done;
      let stdout = "", stderr = "";
      try {
        stdout = readFdText(output);
        stderr = readFdText(errors);
      } finally {
        close(output);
        close(errors);
        // reaped even when a read failed: no zombie per failed plugin in a long-lived caller
        done = { code: waitPid(pid), stdout, stderr };
      }
      return done;
    },
  };
}

/** Run plugin `path` to its end. */
export function execPlugin(path: string, cniEnv: Record<string, string>, stdin: string): PluginRun {
  return startPlugin(path, cniEnv, stdin).wait();
}
