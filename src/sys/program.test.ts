import { describe, expect, test } from "bun:test";
import { runProgram, startProgram } from "./program.ts";

describe("runProgram / startProgram", () => {
  test("its output, its input, its status; 128+N when signal N ended it, as a shell reports it", async () => {
    expect(runProgram(["sh", "-c", "cat; echo err >&2; exit 3"], { input: "in\n" })).toMatchObject({ code: 3, stdout: "in\n", stderr: "err\n" });
    const killed = runProgram(["sh", "-c", "kill -TERM $$"]);
    expect(killed).toMatchObject({ code: 143, signal: "SIGTERM" });
    expect(await startProgram(["sh", "-c", "kill -TERM $$"]).exited).toBe(143);
  });
  test("a timeout ends it with SIGKILL; a program that is not there throws", () => {
    expect(runProgram(["sleep", "30"], { timeoutMs: 50 })).toMatchObject({ code: 137, signal: "SIGKILL" });
    expect(() => runProgram(["/nonexistent/berth-no-such-program"])).toThrow();
  });
  test("one program's output piped into another's input", async () => {
    const from = startProgram(["echo", "through"], { stdout: "pipe" });
    const to = startProgram(["cat"], { stdin: from.stdout, stdout: "pipe" });
    expect(await new Response(to.stdout).text()).toBe("through\n");
    expect(await Promise.all([from.exited, to.exited])).toEqual([0, 0]);
  });
});
