import { describe, expect, test } from "bun:test";
import { once } from "./once.ts";

describe("once: a teardown begun is finished at most one time", () => {
  test("the first call runs it; later calls answer its value without running it again", () => {
    let runs = 0;
    const finish = once(() => ++runs * 10);
    expect(finish()).toBe(10);
    expect(finish()).toBe(10);
    expect(runs).toBe(1);
  });
  test("a failure is thrown again, the same error, without a second run (a DEL is not retried behind the caller's back)", () => {
    let runs = 0;
    const failure = new Error("plugin bridge DEL failed");
    const finish = once(() => {
      runs++;
      throw failure;
    });
    expect(() => finish()).toThrow(failure);
    let again: unknown;
    try {
      finish();
    } catch (err) {
      again = err;
    }
    expect(again).toBe(failure);
    expect(runs).toBe(1);
  });
});
