import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { encodePlan } from "../plan/encode.ts";
import { CLONE } from "../plan/ops.ts";
import { chooseNamespaces, enterPlan } from "./enter.ts";

const own = { user: 1, ipc: 2, uts: 3, net: 4, pid: 5, cgroup: 6, time: 7, mnt: 8 };

describe("chooseNamespaces", () => {
  const target = { ...own, uts: 30, mnt: 80, pid: 50, user: 10 };
  test("by default every namespace that differs from berth's, user first and mnt last", () => {
    expect(chooseNamespaces([], target, own)).toEqual(["user", "uts", "pid", "mnt"]);
  });
  test("asked-for ones only, in the joining order whatever the flags' order", () => {
    expect(chooseNamespaces(["mnt", "uts"], target, own)).toEqual(["uts", "mnt"]);
  });
  test("one that is already berth's is skipped: re-entering changes nothing, and the kernel refuses it for user", () => {
    expect(chooseNamespaces(["net", "uts"], target, own)).toEqual(["uts"]);
  });
  test("--all with flags: every one that differs", () => {
    expect(chooseNamespaces(["uts"], target, own, { all: true })).toEqual(["user", "uts", "pid", "mnt"]);
  });
  test("a namespace the target does not have is an error naming the flag", () => {
    const { time: _, ...noTime } = target;
    expect(errorOf(() => chooseNamespaces(["time"], noTime, own)).message).toBe(
      "--time: the target has no time namespace to join (a kernel without it, or the process is gone)",
    );
    expect(chooseNamespaces([], noTime, own)).toEqual(["user", "uts", "pid", "mnt"]);
  });
});

describe("enterPlan", () => {
  const plan = enterPlan({ pid: 42, namespaces: ["uts", "pid", "mnt"], argv: ["ps", "-ef"], env: ["PATH=/usr/bin:/bin", "TERM=xterm"], cwd: "/srv" });
  test("join each namespace by its /proc path, fork (pid namespaces apply to children), then find and exec the command", () => {
    expect(plan.ops.map((o) => [o.op, ...o.args.map(String)])).toEqual([
      ["SETNS", "/proc/42/ns/uts", String(CLONE.NEWUTS)],
      ["SETNS", "/proc/42/ns/pid", String(CLONE.NEWPID)],
      ["SETNS", "/proc/42/ns/mnt", String(CLONE.NEWNS)],
      ["FORK", "1", "0", "64"],
      ["CHDIR", "/srv"],
      ["FIND_EXEC", "/usr/bin/ps", "/bin/ps"],
      ["CLOSE_FROM", "3"],
      ["RESET_SIGNALS"],
      ["READY"],
      ["EXEC", "2", "ps", "-ef", "PATH=/usr/bin:/bin", "TERM=xterm"],
    ]);
  });
  test("the command is found in the container, so a failure names COMMAND", () => {
    expect(plan.ops.find((o) => o.op === "FIND_EXEC")).toMatchObject({ field: "COMMAND", what: 'find "ps"' });
  });
  test("without --wd there is no chdir, and the plan encodes", () => {
    const bare = enterPlan({ pid: 7, namespaces: [], argv: ["/bin/true"], env: [] });
    expect(bare.ops.map((o) => o.op)).toEqual(["FORK", "FIND_EXEC", "CLOSE_FROM", "RESET_SIGNALS", "READY", "EXEC"]);
    expect(new TextDecoder().decode(encodePlan(bare).slice(0, 8))).toBe("BRTHPLN3");
  });
});
