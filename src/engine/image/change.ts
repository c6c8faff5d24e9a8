/**
 * `--change` of `berth import`: the Dockerfile instructions docker import accepts (CMD,
 * ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL, VOLUME, ONBUILD is refused)
 * applied to an image config's process defaults. Pure.
 */
import { BerthError } from "../../errors.ts";
import type { ImageProcessConfig } from "../../spec/image-spec.ts";

const ALLOWED = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];

function bad(change: string, why: string): never {
  throw new BerthError(`${JSON.stringify(change)}: ${why}`, { field: "--change" });
}

/** A JSON array of strings (exec form), or undefined when `text` is not one. */
function execForm(text: string): string[] | undefined {
  if (!text.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v;
  } catch {
    // shell form after all
  }
  return undefined;
}

/** Dockerfile's `KEY=VALUE KEY2="VALUE 2"` pairs, or the legacy `KEY VALUE`. */
function pairs(args: string, change: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /\s*([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/y;
  if (!/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (!m) bad(change, "needs KEY=VALUE");
    return [[m[1]!, m[2]!]];
  }
  let at = 0;
  while (at < args.length) {
    re.lastIndex = at;
    const m = re.exec(args);
    if (!m) bad(change, `cannot read ${JSON.stringify(args.slice(at).trim())} as KEY=VALUE`);
    let v = m[2]!;
    if (v.startsWith('"')) v = JSON.parse(v);
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
    at = re.lastIndex;
    while (args[at] === " " || args[at] === "\t") at++;
  }
  return out;
}

/**
 * Apply each `--change` to `config` (a copy is returned).
 *
 * @example applyChanges({}, ["CMD [\"/bin/sh\"]", "ENV A=1"]) // → { Cmd: ["/bin/sh"], Env: ["A=1"] }
 */
export function applyChanges(config: ImageProcessConfig, changes: string[]): ImageProcessConfig {
  const out: ImageProcessConfig = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) bad(change, `is not a Dockerfile instruction (one of ${ALLOWED.join(", ")})`);
    const word = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (!ALLOWED.includes(word)) bad(change, `${word} cannot be changed by import; use one of ${ALLOWED.join(", ")}`);
    if (args === "") bad(change, `${word} needs an argument`);
    switch (word) {
      case "CMD":
      case "ENTRYPOINT": {
        const argv = execForm(args) ?? ["/bin/sh", "-c", args];
        if (word === "CMD") out.Cmd = argv;
        else out.Entrypoint = argv;
        break;
      }
      case "ENV":
        for (const [k, v] of pairs(args, change)) out.Env = [...(out.Env ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
        break;
      case "LABEL":
        for (const [k, v] of pairs(args, change)) out.Labels = { ...out.Labels, [k]: v };
        break;
      case "EXPOSE":
        for (const p of args.split(/\s+/)) {
          if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/.test(p)) bad(change, `${JSON.stringify(p)} is not PORT[/tcp|udp|sctp]`);
          out.ExposedPorts = { ...out.ExposedPorts, [p.includes("/") ? p : `${p}/tcp`]: {} };
        }
        break;
      case "VOLUME":
        for (const v of execForm(args) ?? args.split(/\s+/)) out.Volumes = { ...out.Volumes, [v]: {} };
        break;
      case "WORKDIR":
        out.WorkingDir = args;
        break;
      case "USER":
        out.User = args;
        break;
      case "STOPSIGNAL":
        out.StopSignal = args;
        break;
    }
  }
  return out;
}
