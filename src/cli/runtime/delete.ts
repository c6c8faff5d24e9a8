/** `delete [--force] ID`: remove a stopped container; --force kills a running one first. */
import { deleteContainer } from "../../runtime/lifecycle.ts";
import { idArg, parseVerb, type Globals, type RuntimeLog } from "./invocation.ts";

export async function run(args: string[], g: Globals, log: RuntimeLog): Promise<number> {
  const { values: v, positionals } = parseVerb(args, { force: { type: "boolean", short: "f" } });
  await deleteContainer({ root: g.root, id: idArg(positionals, "delete [--force] ID") }, v.force, log.warn);
  return 0;
}
