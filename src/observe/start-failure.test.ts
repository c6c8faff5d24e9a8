import { describe, expect, test } from "bun:test";
import { explainExit } from "./exit-codes.ts";
import { classifyStartFailure, lastError } from "./start-failure.ts";

describe("an engine's output", () => {
  test("no runtime-format error: the last line saying error or failed, without podman's and docker's prefixes", () => {
    // podman 4.3 pulling from a registry that is not there: retries logged as warnings, then the error
    const podman = [
      "Trying to pull 127.0.0.1:1/nosuch:latest...",
      'time="2026-11-24T01:22:04Z" level=warning msg="Failed, retrying in 1s ... (1/3). Error: initializing source docker://127.0.0.1:1/nosuch:latest: connection refused"',
      'Error: initializing source docker://127.0.0.1:1/nosuch:latest: pinging container registry 127.0.0.1:1: connect: connection refused',
      "",
    ].join("\n");
    expect(lastError(podman)).toEqual({ level: "error", msg: "initializing source docker://127.0.0.1:1/nosuch:latest: pinging container registry 127.0.0.1:1: connect: connection refused" });
    expect(lastError("docker: Error response from daemon: pull access denied for nosuch, repository does not exist.\nSee 'docker run --help'.")?.msg)
      .toBe("pull access denied for nosuch, repository does not exist.");
    // a runtime-format error line wins over plain lines after it
    expect(lastError('time="x" level=error msg="While applying layer: ApplyLayer: no space left on device"\nError: writing blob: …')?.msg).toBe("While applying layer: ApplyLayer: no space left on device");
    expect(lastError("all good\n")).toBeUndefined();
  });
});

describe("why it did not start", () => {
  test.each([
    ['process.args[0]: "nope": executable file not found in $PATH: no such file or directory', "exec", 127, "process.args[0]"],
    ['runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH', "exec", 127, undefined],
    ['runc create failed: unable to start container process: exec: "/usr/bin/web-server": stat /usr/bin/web-server: no such file or directory', "exec", 127, undefined],
    ['process.args[0]: "/etc/passwd": permission denied: /etc/passwd is not an executable file', "exec", 126, "process.args[0]"],
    ["config.json: /b/config.json: no such file or directory; point --bundle at a directory holding config.json", "bundle", 125, "config.json"],
    ["linux.cgroupsPath: cgroup /x already has processes in it; use a cgroupsPath of its own", "cgroup", 125, "linux.cgroupsPath"],
    ["mounts[3] (/proc): mount: operation not permitted", "mounts", 125, "mounts[3]"],
    ["hooks.prestart[0]: /bin/false exited with status 1", "hooks", 125, "hooks.prestart[0]"],
    ["error setting rlimit type 7: operation not permitted", "rlimits", 125, undefined],
    ["something odd", "runtime", 125, undefined],
    // a runtime's name before its words is not a spec field (crun's stderr, podman's relay of it)
    ["crun: executable file `no-such-binary` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found", "exec", 127, undefined],
    ["runc: error: open /dev/tty: no such device or address", "runtime", 125, undefined],
    ["hostname: cannot be set without a new uts namespace", "namespaces", 125, "hostname"],
    // the engine's phases, in podman 4.3's, containerd 1.6's and the kubelet's words
    ['initializing source docker://127.0.0.1:1/nosuch:latest: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', "image pull", 125, undefined],
    ["initializing source docker://127.0.0.1:5000/nosuch:latest: reading manifest latest in 127.0.0.1:5000/nosuch: manifest unknown: manifest unknown", "image pull", 125, undefined],
    ['Failed to pull image "r/x:1": rpc error: code = NotFound desc = failed to pull and unpack image "r/x:1": failed to resolve reference "r/x:1": not found', "image pull", 125, undefined],
    ['writing blob: adding layer with blob "sha256:791e": ApplyLayer stdout:  stderr: write /bin/busybox: no space left on device exit status 1', "unpack", 125, undefined],
    ['failed to pull and unpack image "r/x:1": failed to extract layer sha256:ab: write /var/lib/containerd/x: no space left on device: unknown', "unpack", 125, undefined],
  ] as const)("%s → %s, %d", (msg, phase, code, field) => {
    const f = classifyStartFailure(msg);
    expect(f.phase).toBe(phase);
    expect(f.exitCode).toBe(code);
    expect(f.field).toBe(field);
    expect(f.message).toBe(msg);
  });
});

describe("what an exit code means", () => {
  test("docker's codes, 128+N as signals, anything else the program's own", () => {
    expect(explainExit(127).meaning).toStartWith("the command was not found");
    expect(explainExit(126).meaning).toStartWith("the command was found but cannot be executed");
    expect(explainExit(137)).toMatchObject({ code: 137, signal: "SIGKILL" });
    expect(explainExit(143)).toMatchObject({ signal: "SIGTERM" });
    expect(explainExit(139).meaning).toContain("SIGSEGV");
    expect(explainExit(3)).toEqual({ code: 3, meaning: "the program's own exit code: see its documentation or logs" });
  });
});
