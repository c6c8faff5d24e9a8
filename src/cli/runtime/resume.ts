/** `resume ID`: thaw a paused container (state then says running again). */
import { resumeContainer } from "../../runtime/freeze.ts";
import { idArg, parseVerb, type Globals } from "./invocation.ts";

export function run(args: string[], g: Globals): number {
  const { positionals } = parseVerb(args, {});
  resumeContainer({ root: g.root, id: idArg(positionals, "resume ID") });
  return 0;
}
