/** `kill [--all] ID [SIGNAL]`: SIGNAL is a number, a name, or SIG-name; default TERM. */
import { killContainer } from "../../runtime/lifecycle.ts";
import { parseSignal } from "../../signals.ts";
import { idArg, parseVerb, type Globals } from "./invocation.ts";

export async function run(args: string[], g: Globals): Promise<number> {
  const { values: v, positionals } = parseVerb(args, { all: { type: "boolean", short: "a" } });
  const id = idArg(positionals, "kill [--all] ID [SIGNAL]");
  await killContainer({ root: g.root, id }, parseSignal(positionals[1]), v.all);
  return 0;
}
