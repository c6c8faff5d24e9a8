import { describe, expect, test } from "bun:test";
import { compilePlan, type PlanContext } from "../plan/compile.ts";
import type { PlanOp } from "../plan/ops.ts";
import { defaultSpec } from "../spec/default-spec.ts";
import type { Spec } from "../spec/runtime-spec.ts";
import { describeFailure } from "./init-error.ts";

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;
const EINVAL = 22;

const CTX: PlanContext = {
  id: "t", bundle: "/b", rootfs: "/b/rootfs", stateDir: "/run/berth/t",
  cgroup: { mode: "v2", v1: [], unified: { hostDir: "/sys/fs/cgroup/t" } },
  lastCap: 40, hasKcore: true,
};

function ops(edit?: (s: Spec) => void): PlanOp[] {
  const s = defaultSpec();
  s.process!.terminal = false;
  edit?.(s);
  return compilePlan(s, CTX).ops;
}

/** The index of the first op matching `pred`. */
function stepOf(list: PlanOp[], pred: (o: PlanOp) => boolean): number {
  const i = list.findIndex(pred);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

describe("describeFailure: the program cannot be found or run", () => {
  test("a bare name missing from PATH is 'executable file not found in $PATH'", () => {
    const list = ops((s) => (s.process!.args = ["nosuchcmd"]));
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: ENOENT, syscall: "faccessat", detail: "/usr/local/sbin/nosuchcmd" });
    expect(err.message).toBe(`process.args[0]: "nosuchcmd": executable file not found in $PATH: no such file or directory`);
    expect(err.field).toBe("process.args[0]");
    expect(err.errno).toBe("ENOENT");
  });

  test("a missing path is 'executable file not found in the root filesystem'", () => {
    const list = ops((s) => (s.process!.args = ["/opt/app/run"]));
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: ENOENT, syscall: "faccessat", detail: "/opt/app/run" });
    expect(err.message).toBe(`process.args[0]: "/opt/app/run": executable file not found in the root filesystem: no such file or directory`);
  });

  test("both not-found messages carry the words podman maps to exit 127", () => {
    for (const arg0 of ["nosuchcmd", "./rel/app"]) {
      const list = ops((s) => (s.process!.args = [arg0]));
      const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: ENOENT, syscall: "faccessat", detail: "" });
      expect(err.message).toContain("executable file not found in");
      expect(err.message).toContain("no such file or directory");
    }
  });

  test("a candidate that is not executable is 'permission denied', naming it", () => {
    const list = ops();
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: EACCES, syscall: "faccessat", detail: "/usr/bin/sh" });
    expect(err.message).toContain("permission denied");
    expect(err.message).toBe(`process.args[0]: "sh": permission denied: /usr/bin/sh is not an executable file`);
    expect(err.errno).toBe("EACCES");
  });

  test("permission denied without a detail still reads as a sentence", () => {
    const list = ops();
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: EACCES, syscall: "faccessat", detail: "" });
    expect(err.message).toBe(`process.args[0]: "sh": permission denied: it is not an executable file`);
  });

  test("another errno on FIND_EXEC falls back to the step's description", () => {
    const list = ops();
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "FIND_EXEC"), errno: EINVAL, syscall: "faccessat", detail: "" });
    expect(err.message).toBe(`process.args[0]: find "sh" (faccessat): invalid argument`);
  });
});

describe("describeFailure: joining a namespace", () => {
  const joinNet = (s: Spec) => (s.linux!.namespaces![1] = { type: "network", path: "/proc/42/ns/ipc" });

  test("EINVAL from setns: the path is not a namespace of that type", () => {
    const list = ops(joinNet);
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "SETNS"), errno: EINVAL, syscall: "setns", detail: "" });
    expect(err.field).toBe("linux.namespaces[1].path");
    expect(err.message).toBe(`linux.namespaces[1].path: "/proc/42/ns/ipc" is not a network namespace: setns: invalid argument`);
    expect(err.errno).toBe("EINVAL");
  });

  test("ENOENT: the namespace file does not exist", () => {
    const list = ops(joinNet);
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "SETNS"), errno: ENOENT, syscall: "open", detail: "" });
    expect(err.message).toBe(`linux.namespaces[1].path: "/proc/42/ns/ipc": no such file or directory; use a namespace file such as /proc/PID/ns/TYPE`);
  });

  test("EPERM from setns is the generic line", () => {
    const list = ops(joinNet);
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "SETNS"), errno: EPERM, syscall: "setns", detail: "" });
    expect(err.message).toBe("linux.namespaces[1]: join network namespace /proc/42/ns/ipc: operation not permitted");
  });
});

describe("describeFailure: mounts and other steps", () => {
  /** /proc moved to mounts[3], as in a config that lists other mounts first */
  const procFourth = (s: Spec) => {
    const m = s.mounts!;
    s.mounts = [m[1]!, m[2]!, m[3]!, m[0]!, ...m.slice(4)];
  };

  test("a mount refused with EPERM names the mount, its destination and what it did", () => {
    const list = ops(procFourth);
    const err = describeFailure(list, { step: stepOf(list, (o) => o.what === "mount proc on /proc"), errno: EPERM, syscall: "mount", detail: "" });
    expect(err.message).toBe("mounts[3] (/proc): mount proc on /proc: operation not permitted");
    expect(err.field).toBe("mounts[3] (/proc)");
    expect(err.errno).toBe("EPERM");
  });

  test("a different system call than the step's verb is shown with its detail", () => {
    const list = ops(procFourth);
    const err = describeFailure(list, { step: stepOf(list, (o) => o.what === "mount proc on /proc"), errno: ENOENT, syscall: "openat2", detail: "/proc" });
    expect(err.message).toBe("mounts[3] (/proc): mount proc on /proc (openat2 /proc): no such file or directory");
  });

  test("no syscall reported: just the step and the reason", () => {
    const list = ops();
    const err = describeFailure(list, { step: stepOf(list, (o) => o.op === "SETHOSTNAME"), errno: EPERM, syscall: "", detail: "" });
    expect(err.message).toBe(`hostname: set hostname "runc": operation not permitted`);
  });

  test("a step index past the plan is reported with the raw syscall and errno", () => {
    const list = ops();
    const err = describeFailure(list, { step: list.length + 5, errno: ENOENT, syscall: "execve", detail: "" });
    expect(err.message).toBe(`container init failed at step ${list.length + 5}: execve: no such file or directory`);
    expect(err.field).toBeUndefined();
    expect(err.errno).toBe("ENOENT");
  });

  test("an errno the system has no name for is still described", () => {
    const list = ops();
    const err = describeFailure(list, { step: 9999, errno: 99999, syscall: "x", detail: "" });
    expect(err.message).toStartWith("container init failed at step 9999: x: ");
  });
});

describe("describeFailure: a helper from another build", () => {
  test("a refused magic says to rebuild, not which step", () => {
    const err = describeFailure([], { step: -1, errno: 22, syscall: "plan", detail: "magic" });
    expect(err.message).toBe("native/build/berth-init is from another build than this berth-runtime (its plan protocol differs); rebuild both with npm run prepare");
  });
});
