import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { ioPriorityValue, personalityValue, SCHED_ATTR_SIZE, schedAttrBytes } from "./scheduling.ts";

describe("ioPriorityValue", () => {
  test("class << 13 | level, as ioprio_set(2) takes it", () => {
    expect(ioPriorityValue({ class: "IOPRIO_CLASS_RT", priority: 0 })).toBe(1 << 13);
    expect(ioPriorityValue({ class: "IOPRIO_CLASS_BE", priority: 7 })).toBe((2 << 13) | 7);
    expect(ioPriorityValue({ class: "IOPRIO_CLASS_IDLE" })).toBe(3 << 13);
  });

  test("an unknown class or a level outside 0…7 names the field", () => {
    expect(errorOf(() => ioPriorityValue({ class: "BE", priority: 1 })).field).toBe("process.ioPriority.class");
    expect(errorOf(() => ioPriorityValue({ class: "IOPRIO_CLASS_BE", priority: 8 })).field).toBe("process.ioPriority.priority");
    expect(errorOf(() => ioPriorityValue({ class: "IOPRIO_CLASS_BE", priority: -1 })).field).toBe("process.ioPriority.priority");
  });
});

describe("schedAttrBytes", () => {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

  test("struct sched_attr, little-endian: size, policy, flags, nice, priority, runtime, deadline, period", () => {
    const v = view(schedAttrBytes({ policy: "SCHED_DEADLINE", flags: ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"], runtime: 1000, deadline: 5000, period: 10000 }));
    expect(v.byteLength).toBe(SCHED_ATTR_SIZE);
    expect(v.getUint32(0, true)).toBe(56);
    expect(v.getUint32(4, true)).toBe(6);
    expect(v.getBigUint64(8, true)).toBe(3n);
    expect(v.getBigUint64(24, true)).toBe(1000n);
    expect(v.getBigUint64(32, true)).toBe(5000n);
    expect(v.getBigUint64(40, true)).toBe(10000n);
  });

  test("nice is signed; realtime policies carry a priority", () => {
    expect(view(schedAttrBytes({ policy: "SCHED_OTHER", nice: -5 })).getInt32(16, true)).toBe(-5);
    const rr = view(schedAttrBytes({ policy: "SCHED_RR", priority: 50 }));
    expect([rr.getUint32(4, true), rr.getUint32(20, true)]).toEqual([2, 50]);
  });

  test("runc's rules: FIFO/RR priority 1…99, others 0; nice -20…19; deadline ordering; SCHED_ISO is not Linux", () => {
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_FIFO" })).field).toBe("process.scheduler.priority");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_BATCH", priority: 3 })).field).toBe("process.scheduler.priority");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_OTHER", nice: 20 })).field).toBe("process.scheduler.nice");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_DEADLINE", runtime: 10, deadline: 5 })).field).toBe("process.scheduler");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_DEADLINE" })).field).toBe("process.scheduler.runtime");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_ISO" })).field).toBe("process.scheduler.policy");
    expect(errorOf(() => schedAttrBytes({ policy: "SCHED_OTHER", flags: ["SCHED_FLAG_TURBO"] })).field).toBe("process.scheduler.flags[0]");
  });
});

describe("personalityValue", () => {
  test("LINUX is 0, LINUX32 is PER_LINUX32 (8); flags are refused; other domains too", () => {
    expect(personalityValue({ domain: "LINUX" })).toBe(0);
    expect(personalityValue({ domain: "LINUX32" })).toBe(8);
    expect(errorOf(() => personalityValue({ domain: "LINUX32", flags: ["ADDR_NO_RANDOMIZE"] })).field).toBe("linux.personality.flags");
    expect(errorOf(() => personalityValue({ domain: "WINDOWS" })).field).toBe("linux.personality.domain");
  });
});
