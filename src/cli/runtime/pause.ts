/** `pause ID`: freeze every process of a running container (state then says paused). */
import { pauseContainer } from "../../runtime/freeze.ts";
import { idArg, parseVerb, type Globals } from "./invocation.ts";

export function run(args: string[], g: Globals): number {
  const { positionals } = parseVerb(args, {});
  pauseContainer({ root: g.root, id: idArg(positionals, "pause ID") });
  return 0;
}
