/** `start ID`: let a created container's init exec the user's program. */
import { startContainer } from "../../runtime/start.ts";
import { idArg, parseVerb, type Globals } from "../berth-runtime.ts";

export function run(args: string[], g: Globals): number {
  const { positionals } = parseVerb(args, {});
  startContainer({ root: g.root, id: idArg(positionals, "start ID") });
  return 0;
}
