import { describe, expect, test } from "bun:test";
import { isWithin, oomKillsIn, parseKmsgRecord, parseOomKillLine } from "./oom-log.ts";

// as Linux 6.18 wrote them on this host (the task name shows "," survives)
const CHILD = "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=mem,mems_allowed=0,oom_memcg=/diag/parent,task_memcg=/diag/parent/child,task=dd,pid=7837,uid=0";
const GLOBAL = "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/x.service,task=my,app,pid=12,uid=1000";

describe("the kernel's OOM-kill line", () => {
  test("names the level whose limit was hit and the victim's cgroup", () => {
    expect(parseOomKillLine(CHILD)).toEqual({ constraint: "CONSTRAINT_MEMCG", oomMemcg: "/diag/parent", taskMemcg: "/diag/parent/child", task: "dd", pid: 7837, uid: 0 });
  });
  test("a global OOM has no oom_memcg; a task name may hold commas", () => {
    expect(parseOomKillLine(GLOBAL)).toEqual({ constraint: "CONSTRAINT_NONE", taskMemcg: "/system.slice/x.service", task: "my,app", pid: 12, uid: 1000 });
  });
  test("other lines are not kills", () => {
    expect(parseOomKillLine("Memory cgroup out of memory: Killed process 7837 (dd)")).toBeUndefined();
    expect(parseOomKillLine("oom-kill:constraint=CONSTRAINT_MEMCG")).toBeUndefined();
  });
  test("kmsg records: priority, sequence, microseconds, then the text; continuation lines dropped", () => {
    expect(parseKmsgRecord(`6,12106,10614373215,-;${CHILD}\n SUBSYSTEM=x\n`)).toEqual({ seq: 12106, usec: 10614373215, text: CHILD });
    expect(parseKmsgRecord("no header")).toBeUndefined();
    expect(oomKillsIn(["6,1,5,-;hello", `6,2,9,-;${CHILD}`])).toEqual([{ ...parseOomKillLine(CHILD)!, usec: 9 }]);
  });
  test("isWithin: the path itself or below, never a sibling with the same prefix", () => {
    expect(isWithin("/a/b", "/a")).toBe(true);
    expect(isWithin("/a", "/a")).toBe(true);
    expect(isWithin("/ab", "/a")).toBe(false);
    expect(isWithin("/x", "/")).toBe(true);
  });
});
