import { expect, test } from "bun:test";
import { join } from "node:path";

// berth's last resort for an error it did not expect: one line, exit 125, never a stack
// unless asked for (run in a child so the test sees exactly what a user's terminal gets)
const script = (debug: boolean) => `
  import { reportError } from ${JSON.stringify(join(import.meta.dir, "exit.ts"))};
  process.exitCode = reportError(new TypeError("cannot read x\\nof undefined"), ${debug});
`;

test("an unexpected error is one line and 125; the stack only with --debug", () => {
  const plain = Bun.spawnSync([process.execPath, "-e", script(false)]);
  expect(plain.exitCode).toBe(125);
  expect(plain.stderr.toString()).toBe("berth: internal error: cannot read x of undefined (run with --debug for the stack, and report it)\n");
  const debug = Bun.spawnSync([process.execPath, "-e", script(true)]);
  expect(debug.exitCode).toBe(125);
  expect(debug.stderr.toString().split("\n").length).toBeGreaterThan(3);
  expect(debug.stderr.toString()).toContain("TypeError: cannot read x");
});
