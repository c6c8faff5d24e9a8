/**
 * runtime/helper-driver.ts against the real native/berth-init: the forked pid comes
 * back at `ready`; a failed step, an early exit and a report the caller did not ask for
 * each end in one error line, with the helper and the forked process killed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { encodePlan } from "../plan/encode.ts";
import { CLONE, NO_SLOT, type OpArg, type OpName, type PlanOp } from "../plan/ops.ts";
import { HelperSession } from "../sys/init-helper.ts";
import { driveToReady } from "./helper-driver.ts";

const isRoot = process.getuid?.() === 0;

function plan(steps: [OpName, OpArg[]][]): PlanOp[] {
  return steps.map(([op, args], i) => ({ op, args, field: `test.steps[${i}]`, what: `do ${op.toLowerCase()}` }));
}

/** The helper on `ops`, its stdio not ours: the tests read what the driver returns or throws. */
let sessions: HelperSession[] = [];
function start(ops: PlanOp[]): HelperSession {
  const s = new HelperSession(encodePlan({ ops }), { stdio: ["ignore", "ignore", "ignore"] });
  sessions.push(s);
  return s;
}

let pids: number[] = [];
afterEach(() => {
  for (const s of sessions) s.abort();
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {} // gone, as it should be
  }
  sessions = [];
  pids = [];
});

/** Running or stopped, not a zombie and not gone. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
}

const EARLY = { exitedEarly: "the test's helper exited before it was ready" };

describe.skipIf(!isRoot)("driveToReady", () => {
  test("returns the forked pid at ready, after handing it to the pid handler", async () => {
    const ops = plan([["FORK", [0, 0, NO_SLOT]], ["READY", []], ["FIND_EXEC", ["/bin/sleep"]], ["EXEC", [2, "/bin/sleep", "1000"]]]);
    const s = start(ops);
    const seen: number[] = [];
    const pid = driveToReady(s, ops, { pid: (p) => seen.push(p) }, EARLY);
    pids.push(pid);
    expect(seen).toEqual([pid]);
    expect(pid).toBeGreaterThan(0);
    // ready comes just before the exec: the same pid then becomes the program
    const cmdline = () => readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // during the execve itself /proc/PID/cmdline reads empty (the old image is gone, the new
    // one not yet in place): wait past both
    while (cmdline().includes("berth-init") || cmdline() === "") await Bun.sleep(5);
    expect(cmdline()).toBe("/bin/sleep\u00001000\u0000");
  });

  test("a failed step is the step's field, what it did and the errno; the forked process is killed", async () => {
    const ops = plan([["FORK", [0, 0, NO_SLOT]], ["CHDIR", ["/nonexistent-berth-dir"]], ["READY", []], ["FIND_EXEC", ["/bin/true"]], ["EXEC", [1, "/bin/true"]]]);
    const s = start(ops);
    let forked = 0;
    expect(() => driveToReady(s, ops, { pid: (p) => (forked = p) }, EARLY)).toThrow(/^test\.steps\[1\]: .*ENOENT|^test\.steps\[1\]: .*no such file/);
    expect(forked).toBeGreaterThan(0);
    await s.subprocess?.exited;
    for (let i = 0; i < 100 && alive(forked); i++) await Bun.sleep(5);
    expect(alive(forked)).toBe(false);
  });

  test("a helper that exits before ready: the caller's words", () => {
    const ops = plan([["FIND_EXEC", ["/bin/true"]], ["EXEC", [1, "/bin/true"]]]);
    expect(() => driveToReady(start(ops), ops, {}, EARLY)).toThrow("the test's helper exited before it was ready");
  });

  test("a report the caller has no handler for is a bug, and the helper is not left waiting for its answer", async () => {
    const ops = plan([["UNSHARE", [CLONE.NEWUSER]], ["USERNS_SYNC", []], ["READY", []], ["FIND_EXEC", ["/bin/true"]], ["EXEC", [1, "/bin/true"]]]);
    const s = start(ops);
    expect(() => driveToReady(s, ops, {}, EARLY)).toThrow('berth-init reported "map", which this plan does not ask for; this is a bug in berth');
    for (let i = 0; i < 100 && alive(s.pid); i++) await Bun.sleep(5);
    expect(alive(s.pid)).toBe(false);
  });
});
