/** `spec [--bundle DIR] [--rootless]`: write runc's default config.json (tab-indented, as runc does). */
import { resolve } from "node:path";
import { BerthError } from "../../errors.ts";
import { defaultSpec, rootlessSpec } from "../../spec/default-spec.ts";
import { pathExists, writeText } from "../../sys/libc.ts";
import { parseVerb, type Globals } from "./invocation.ts";

export function run(args: string[], _g: Globals): number {
  const { values: v } = parseVerb(args, { bundle: { type: "string", short: "b" }, rootless: { type: "boolean" } });
  const path = resolve(v.bundle ?? ".", "config.json");
  if (pathExists(path)) throw new BerthError(`${path} exists; remove it first or choose another --bundle`, { field: "spec" });
  const spec = v.rootless ? rootlessSpec(defaultSpec(), process.geteuid!(), process.getegid!()) : defaultSpec();
  // 0666 less the umask, as runc's os.WriteFile
  writeText(path, JSON.stringify(spec, null, "\t"), 0o666);
  return 0;
}
