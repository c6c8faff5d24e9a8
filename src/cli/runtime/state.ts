/** `state ID`: the OCI state as JSON on stdout, nothing else (go-runc reads stdout+stderr combined). */
import { stateOf } from "../../runtime/query.ts";
import { idArg, parseVerb, type Globals } from "./invocation.ts";
import { writeOut } from "../stdio.ts";

export function run(args: string[], g: Globals): number {
  const { positionals } = parseVerb(args, {});
  writeOut(JSON.stringify(stateOf({ root: g.root, id: idArg(positionals, "state ID") }), null, 2) + "\n");
  return 0;
}
