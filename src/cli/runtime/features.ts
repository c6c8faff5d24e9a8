/**
 * `features`: the runtime-spec features document, indented with four spaces as runc
 * prints it. Needs no global flag and no state: containerd's shim runs it bare.
 */
import { BerthError } from "../../errors.ts";
import { runtimeFeatures } from "../../runtime/features.ts";
import { parseVerb, SPEC_VERSION, VERSION, type Globals } from "./invocation.ts";
import { writeOut } from "../stdio.ts";

export function run(args: string[], _g: Globals): number {
  const { positionals } = parseVerb(args, {});
  if (positionals.length > 0) throw new BerthError(`features takes no arguments, got ${JSON.stringify(positionals[0])}`);
  writeOut(JSON.stringify(runtimeFeatures({ version: VERSION, specVersion: SPEC_VERSION }), null, 4) + "\n");
  return 0;
}
