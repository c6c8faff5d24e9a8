/**
 * What run's spec and exec's process share about the process a container runs: its user
 * (`USER[:GROUP]` resolved in the container's own /etc/passwd and /etc/group), its
 * environment (--env-file, docker's merge), --privileged's capabilities, and exec's whole
 * process. Apart from bundle.ts so that `exec` loads none of the spec builder (docker's
 * seccomp profile, the mount and limit flags) nor the image store for them.
 */
import { BerthError } from "../../errors.ts";
import type { Process } from "../../spec/runtime-spec.ts";
import { CAPABILITIES } from "../../security/capabilities.ts";
import { readFileInRoot } from "../../sys/layer-fs.ts";

/** `KEY=VALUE` lines of an --env-file / --label-file: `#` comments and blank lines skipped, `KEY` alone takes the host's value. */
export function parseEnvFile(text: string, hostEnv: Record<string, string | undefined>, flag: string, file: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "" || /\s/.test(key)) throw new BerthError(`${file}:${i + 1}: invalid variable name ${JSON.stringify(key)}; use NAME=VALUE`, { field: flag });
    if (eq >= 0) out.push(line);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  });
  return out;
}

/** A working directory the runtime can take (absolute), from -w or else the image's WorkingDir (`field`); throws BerthError in docker's words. */
export function absoluteWorkdir(cwd: string, field = "--workdir"): string {
  if (!cwd.startsWith("/")) throw new BerthError(`the working directory ${JSON.stringify(cwd)} is invalid; it needs to be an absolute path${field === "--workdir" ? "" : ": give -w /PATH"}`, { field });
  return cwd;
}

/** An -e entry: NAME=VALUE or NAME, never a value without a name; throws BerthError naming --env. */
export function checkEnvFlag(e: string): void {
  if (e.startsWith("=")) throw new BerthError(`invalid environment variable ${JSON.stringify(e)}; use NAME=VALUE or NAME`, { field: "--env" });
}

/** Later entries replace earlier ones with the same name, keeping the first one's place (docker's ReplaceOrAppendEnvValues). */
export function mergeEnv(...lists: string[][]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const e of lists.flat()) {
    const key = e.includes("=") ? e.slice(0, e.indexOf("=")) : e;
    const i = at.get(key);
    if (i === undefined) {
      at.set(key, out.length);
      out.push(e);
    } else out[i] = e;
  }
  return out;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

const ID_MAX = 2 ** 32 - 2;

/** An id field of the image's passwd or group: digits, and a number the kernel takes ((uid_t)-1 is "unchanged" to it). */
const isId = (field: string) => /^\d+$/.test(field) && Number(field) <= ID_MAX;

// a line whose ids are not ids is no entry, as a malformed one: the image's file is not trusted
function passwdEntries(text: string | undefined): PasswdEntry[] {
  return (text ?? "").split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4 && isId(f[2]!) && isId(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

function groupEntries(text: string | undefined): { name: string; gid: number; members: string[] }[] {
  return (text ?? "").split("\n").map((l) => l.split(":")).filter((f) => f.length >= 3 && isId(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").filter(Boolean) }));
}

/**
 * `-u USER[:GROUP]` (names or numbers) against the image's /etc/passwd and /etc/group, as
 * runc's libcontainer/user.GetExecUser: a numeric uid need not exist (gid 0 then); the
 * supplementary groups are the primary gid, the groups listing the user, and --group-add.
 */
export function resolveUser(spec: string, groupAdd: string[], passwd: string | undefined, group: string | undefined, flag = "--user"): { uid: number; gid: number; additionalGids: number[] } {
  const [userPart = "", groupPart] = spec.split(":", 2);
  const users = passwdEntries(passwd);
  const groups = groupEntries(group);
  const numeric = (s: string, what: string, field = flag) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0 || n > ID_MAX) throw new BerthError(`invalid ${what} ${JSON.stringify(s)}; use 0…${ID_MAX} or a name`, { field });
    return n;
  };
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  if (userPart === "") uid = 0;
  else if (/^\d+$/.test(userPart)) {
    uid = numeric(userPart, "uid");
    const e = users.find((u) => u.uid === uid);
    if (e) [gid, name] = [e.gid, e.name];
  } else {
    const e = users.find((u) => u.name === userPart);
    if (!e) throw new BerthError(`unable to find user ${userPart}: no matching entries in passwd file; use a name from the image's /etc/passwd or a number`, { field: flag });
    [uid, gid, name] = [e.uid, e.gid, e.name];
  }
  if (uid === 0 && userPart === "") {
    const root = users.find((u) => u.uid === 0);
    if (root) [gid, name] = [root.gid, root.name];
  }
  const groupId = (g: string, f: string) => {
    if (/^\d+$/.test(g)) return numeric(g, "gid", f);
    const e = groups.find((x) => x.name === g);
    if (!e) throw new BerthError(`unable to find group ${g}: no matching entries in group file; use a name from the image's /etc/group or a number`, { field: f });
    return e.gid;
  };
  if (groupPart !== undefined && groupPart !== "") gid = groupId(groupPart, flag);
  const extra = groupPart !== undefined && groupPart !== "" ? [] : groups.filter((g) => name !== undefined && g.members.includes(name)).map((g) => g.gid);
  const additionalGids = [...new Set([gid, ...extra, ...groupAdd.map((g) => groupId(g, "--group-add"))])];
  return { uid, gid, additionalGids };
}

/** docker's "all capabilities": every one the kernel has (`lastCap`) — here also only those berth holds itself (`bounding`, the host facts' fields). */
export function privilegedCapabilities(host: { lastCap: number; bounding?: bigint }): string[] {
  return (CAPABILITIES.slice(0, host.lastCap + 1) as string[]).filter((_, i) => host.bounding === undefined || ((host.bounding >> BigInt(i)) & 1n) === 1n);
}

/**
 * `exec`'s process, whole, for the runtime's `--process` (as containerd and conmon send
 * it): the container's own process with the command, its environment, working directory,
 * terminal, user — all of its groups, replaced, never added to the container's (runc's
 * `--additional-gids` appends to them: a root container's group 0 stayed with `-u
 * nobody`) — and, for --privileged, `caps` in every set runc's `--cap` fills. A relative
 * `cwd` or an env entry without a name throws BerthError naming its flag. Pure.
 *
 * @example execProcessSpec(spec.process!, { args: ["id"], env: ["PATH=/bin"], tty: false, user: { uid: 65534, gid: 65534, additionalGids: [65534] } })
 */
export function execProcessSpec(base: Process, o: { args: string[]; env: string[]; cwd?: string; tty: boolean; user?: { uid: number; gid: number; additionalGids: number[] }; caps?: string[] }): Process {
  const p: Process = structuredClone(base);
  p.args = o.args;
  o.env.forEach(checkEnvFlag);
  p.env = o.env;
  p.terminal = o.tty;
  if (o.cwd !== undefined) p.cwd = absoluteWorkdir(o.cwd);
  if (o.user) p.user = { ...p.user, uid: o.user.uid, gid: o.user.gid, additionalGids: o.user.additionalGids };
  if (o.caps?.length) {
    const c = p.capabilities ?? {};
    for (const set of ["bounding", "effective", "permitted", "ambient"] as const) c[set] = [...new Set([...(c[set] ?? []), ...o.caps])];
    p.capabilities = c;
  }
  return p;
}

/** Far above any real /etc/passwd or /etc/group: a larger one is read as none. */
const MAX_USER_DB_BYTES = 16 * 2 ** 20;

/**
 * The container's /etc/passwd and /etc/group, for --user NAME: read inside its root
 * (symlinks resolved there, as docker's FollowSymlinkInScope) and only when they are
 * regular files. One that cannot be read counts as absent, as docker's lookup does.
 */
export function userDatabase(rootfs: string): { passwd?: string; group?: string } {
  const read = (path: string) => {
    try {
      return readFileInRoot(rootfs, path, MAX_USER_DB_BYTES);
    } catch {
      return undefined;
    }
  };
  return { passwd: read("/etc/passwd"), group: read("/etc/group") };
}
