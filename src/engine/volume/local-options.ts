/**
 * docker's `local` volume driver options (`volume create --opt KEY=VALUE`): `type`,
 * `device` and `o`, what mount(8) is given — `type=tmpfs,device=tmpfs,o=size=64m`,
 * `type=none,device=/srv/data,o=bind`, `type=ext4,device=/dev/sdb1`. A volume with them is
 * mounted on its `_data` when a container using it starts, not when it is created (moby's
 * volume/local). Checked as moby's validateOpts checks them. Pure.
 */
import { BerthError } from "../../errors.ts";
import { splitKeyValue } from "../../key-value.ts";

/** What docker's local driver takes; `size` (an XFS project quota) berth does not do. */
const KNOWN = ["type", "device", "o"];

/** moby's mandatoryOpts: an option → the ones it needs beside it */
const NEEDS: Record<string, string[]> = { device: ["type"], type: ["device"], o: ["device", "type"] };

const EXAMPLE = "type=tmpfs,device=tmpfs,o=size=64m or type=none,device=/host/dir,o=bind";

/**
 * `--opt` values → the volume's Options, checked: a known key each, and the keys each one
 * needs. A value without `=` is that key with an empty value, as docker's MapOpts reads it.
 * `field`: the flag the errors name (`--mount` passes `volume-opt`).
 *
 * @example localDriverOptions(["type=tmpfs", "device=tmpfs", "o=size=64m"]) // → { type: "tmpfs", device: "tmpfs", o: "size=64m" }
 */
export function localDriverOptions(args: string[], field = "--opt"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const [key, value] = splitKeyValue(a) ?? [a, ""];
    if (key === "size") throw new BerthError(`size=${value}: a volume size needs the local driver's quota support, which berth lacks; leave it out (a tmpfs volume takes o=size=${value || "64m"})`, { field });
    if (!KNOWN.includes(key)) throw new BerthError(`invalid option ${JSON.stringify(key)} for the local driver; use type=, device= and o= (${EXAMPLE})`, { field });
    out[key] = value;
  }
  for (const [key, needed] of Object.entries(NEEDS)) {
    if (!(key in out)) continue;
    const missing = needed.find((n) => !(n in out));
    if (missing !== undefined) throw new BerthError(`${key}= needs ${missing}= too: the local driver mounts device on the volume as type with options o (${EXAMPLE})`, { field });
  }
  if ("device" in out && out.device === "") throw new BerthError(`device= is empty; name what to mount (${EXAMPLE})`, { field });
  return out;
}

/** Whether a volume with these options is mounted when used (moby's needsMount: a device or a type). */
export function needsMount(options: Record<string, string> | undefined): boolean {
  return options !== undefined && (!!options.device || !!options.type);
}

/**
 * mount(8)'s arguments for the volume's `_data`: `-t TYPE [-o O] DEVICE TARGET` (`-n`: no
 * /etc/mtab entry, none is kept on a modern host). mount(8) parses `o` into flags and
 * filesystem data as moby's mount.Mount does.
 *
 * @example mountArgs({ type: "none", device: "/srv/d", o: "bind" }, "/v/_data") // → ["-n", "-t", "none", "-o", "bind", "--", "/srv/d", "/v/_data"]
 */
export function mountArgs(options: Record<string, string>, target: string): string[] {
  return ["-n", "-t", options.type || "none", ...(options.o ? ["-o", options.o] : []), "--", options.device ?? "", target];
}
