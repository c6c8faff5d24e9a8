/** `start ID`: let a created container's init exec the user's program. */
import { startContainer } from "../../runtime/start.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";

export function run(args: string[], g: Globals, log: RuntimeLog): number {
  const { positionals } = parseVerb(args, {});
  startContainer({ root: g.root, id: idArg(positionals, "start ID") }, log.warn);
  return 0;
}
