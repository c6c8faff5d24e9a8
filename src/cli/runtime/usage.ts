/**
 * berth-runtime's help: the command list (`berth-runtime --help`) and each verb's usage
 * (`berth-runtime VERB --help`, as `runc VERB --help` prints it: what the verb does, its
 * arguments, and every flag it takes). The flags listed are the ones the verb parses —
 * parseVerb hands them over — so the help cannot drift from what is accepted. Pure.
 */
import type { FlagSpecs } from "../runtime-flags.ts";

interface VerbUsage {
  /** the words after `berth-runtime VERB` */
  args: string;
  summary: string;
  /** what the arguments are, when there is more to say than their names */
  more?: string;
}

export const VERBS: Record<string, VerbUsage> = {
  create: { args: "[flags] ID", summary: "create a container from a bundle; it waits for start", more: "The container's init is made and waits; `start ID` runs process.args." },
  start: { args: "ID", summary: "run the user process of a created container" },
  exec: { args: "[flags] ID COMMAND [ARGS…]", summary: "run another process in a running container", more: "The process is --process FILE (a runtime-spec Process), or the container's own process changed by the flags." },
  run: { args: "[flags] ID", summary: "create and start a container (and wait for it unless --detach)", more: "In the foreground the runtime passes signals on to the init, exits with its status and deletes the container." },
  state: { args: "ID", summary: "print a container's OCI state as JSON" },
  kill: { args: "[--all] ID [SIGNAL]", summary: "send a signal to a container's init (or --all processes)", more: "SIGNAL is a number, a name (TERM) or SIG-name (SIGTERM); the default is SIGTERM." },
  delete: { args: "[--force] ID", summary: "remove a stopped container (--force: any container)" },
  list: { args: "[--format table|json] [-q]", summary: "list containers (--format table|json, -q for ids only)" },
  pause: { args: "ID", summary: "freeze every process of a container" },
  resume: { args: "ID", summary: "thaw a paused container" },
  ps: { args: "[--format table|json] ID [ps options]", summary: "the container's processes (--format json: host PIDs)", more: "Words after the id go to ps(1) (default -ef)." },
  update: { args: "[--resources FILE|-] [flags] ID", summary: "change a container's cgroup limits (--resources FILE|- or runc's flags)" },
  events: { args: "[--stats] [--interval 5s] ID", summary: "cgroup stats as JSON events (--stats: once; else every --interval, and oom)" },
  features: { args: "", summary: "what this runtime supports, as the runtime-spec features JSON" },
  spec: { args: "[--bundle DIR] [--rootless]", summary: "write a default config.json" },
};

/** What each flag means; a flag of the same name means the same in every verb. */
const FLAGS: Record<string, string> = {
  bundle: "the bundle directory, holding config.json (default: the current directory)",
  "pid-file": "write the process's host PID to this file",
  "console-socket": "a unix socket to send the pseudo-terminal's master to (process.terminal)",
  "pidfd-socket": "a unix socket to send the process's pidfd to",
  "no-pivot": "chroot instead of pivot_root (a root on an initramfs)",
  "no-new-keyring": "keep the caller's session keyring instead of a new one",
  "preserve-fds": "pass this many fds after stdio (3, 4, …) to the process",
  detach: "return once it runs, without waiting for it",
  "no-subreaper": "accepted for runc's callers; berth-runtime makes no subreaper",
  keep: "do not delete the container when it exits (run in the foreground)",
  process: "the process as a runtime-spec Process JSON file",
  cwd: "the working directory in the container",
  env: "NAME=value to set in its environment (repeatable)",
  tty: "give it a pseudo-terminal",
  user: "UID[:GID] to run as",
  "additional-gids": "a supplementary group id (repeatable)",
  cap: "a capability to add (repeatable)",
  "no-new-privs": "set no_new_privileges",
  apparmor: "the AppArmor profile",
  "process-label": "the SELinux label",
  cgroup: "run in a sub-cgroup: PATH, or CONTROLLER:PATH (repeatable)",
  "ignore-paused": "exec into a paused container",
  all: "signal every process of the container, not only the init",
  force: "kill a running container first (SIGKILL)",
  format: "table or json",
  quiet: "only the container ids",
  stats: "print the stats once and exit",
  interval: "how often to print stats (a Go duration: 5s, 500ms)",
  resources: "the new limits as an OCI linux.resources JSON file, or - for stdin",
  rootless: "the rootless variant (a user namespace mapping the caller)",
};

/**
 * runc's single update flags: what each sets, from the table update.ts parses them with.
 *
 * @example updateFlagHelp({ "pids-limit": "pids.limit" }) // → { "pids-limit": "sets linux.resources.pids.limit" }
 */
export function updateFlagHelp(fields: Record<string, string>, refused: Record<string, string>): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(fields).map(([flag, field]) => [flag, `sets linux.resources.${field}`])),
    ...Object.fromEntries(Object.entries(refused).map(([flag, why]) => [flag, `refused: ${why}`])),
  };
}

function flagRows(options: FlagSpecs, described: Record<string, string>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const left = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.type === "string" ? " VALUE" : ""}`;
    return [left, described[name] ?? FLAGS[name] ?? ""] as const;
  });
  rows.push(["-h, --help", "print this help"]);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`.trimEnd());
}

/**
 * `berth-runtime VERB --help`.
 *
 * @example verbHelp("kill", { all: { type: "boolean", short: "a" } })
 * // → "usage: berth-runtime kill [--all] ID [SIGNAL]\n\nsend a signal …\n\nflags:\n  -a, --all …"
 */
export function verbHelp(verb: string, options: FlagSpecs, described: Record<string, string> = {}): string {
  const v = VERBS[verb];
  const head = `usage: berth-runtime ${verb}${v?.args ? ` ${v.args}` : ""}`;
  const parts = [head, v?.summary ?? "", ...(v?.more ? [v.more] : []), `flags:\n${flagRows(options, described).join("\n")}`];
  return `${parts.filter((p) => p !== "").join("\n\n")}\n`;
}

/** `berth-runtime --help`: the global flags and every verb. */
export function runtimeHelp(): string {
  const width = Math.max(...Object.keys(VERBS).map((k) => k.length));
  const verbs = Object.entries(VERBS).map(([k, v]) => `  ${k.padEnd(width)} ${v.summary}`).join("\n");
  return `usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND [flags] ID

commands:
${verbs}

berth-runtime COMMAND --help prints a command's flags.
`;
}
