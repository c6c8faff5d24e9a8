/**
 * docker's `run` / `create` flags, declared once for both (nerdctl's
 * cmd/nerdctl/container/container_run.go pattern): the table, and the parsed options →
 * RunFlags. Flags berth does not support yet are refused with a line saying so.
 */
import { collect, type Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { parseStopTimeout, type RunFlags } from "../../engine/container/run-flags.ts";
import { parseSignal } from "../../signals.ts";

/** [flags, help, repeatable] */
const RUN_OPTIONS: [string, string, boolean?][] = [
  ["-d, --detach", "run in the background and print the container id"],
  ["-i, --interactive", "keep stdin open"],
  ["-t, --tty", "allocate a terminal"],
  ["--rm", "remove the container when it exits"],
  ["--name <name>", "the container's name"],
  ["--rootfs", "the first argument is a root filesystem directory, not an image (podman's --rootfs)"],
  ["-e, --env <k=v>", "set an environment variable (NAME alone: take it from here)", true],
  ["--env-file <file>", "read environment variables from a file", true],
  ["-w, --workdir <dir>", "working directory inside the container"],
  ["--entrypoint <cmd>", "override the image's entrypoint"],
  ["-u, --user <user>", "USER[:GROUP], names or numbers"],
  ["--group-add <group>", "an additional group", true],
  ["-h, --hostname <name>", "the container's hostname"],
  ["--domainname <name>", "the container's NIS domain name"],
  ["-l, --label <k=v>", "a label", true],
  ["--label-file <file>", "read labels from a file", true],
  ["--annotation <k=v>", "an OCI annotation", true],
  ["--read-only", "mount the root filesystem read-only"],
  ["--tmpfs <path>", "mount a tmpfs: PATH[:OPTIONS]", true],
  ["-v, --volume <spec>", "bind or volume mount: SRC:DST[:ro], or DST for an anonymous volume", true],
  ["--mount <spec>", "type=bind|volume|tmpfs,source=…,target=…[,readonly]", true],
  ["--shm-size <size>", "size of /dev/shm (default 64m)"],
  ["--cap-add <cap>", "add a capability (or ALL)", true],
  ["--cap-drop <cap>", "drop a capability (or ALL)", true],
  ["--privileged", "every capability, every device, no seccomp or masked paths"],
  ["--security-opt <opt>", "seccomp=FILE|unconfined, no-new-privileges, systempaths=unconfined, apparmor=…, label=…", true],
  ["--ulimit <limit>", "NAME=SOFT[:HARD], e.g. nofile=1024:1024", true],
  ["--oom-score-adj <n>", "-1000 … 1000"],
  ["--sysctl <k=v>", "a namespaced sysctl", true],
  ["--device <dev>", "HOST[:CONTAINER][:rwm]", true],
  ["--device-cgroup-rule <rule>", "'c MAJ:MIN rwm'", true],
  ["--userns <mode>", "user namespace mode (host)"],
  ["--network <mode>", "bridge (default), NAME[,NAME…], none, host, container:NAME|ID or ns:PATH"],
  ["--net <mode>", "alias of --network"],
  ["--network-alias <name>", "another name the container has on its networks", true],
  ["--ip <address>", "the container's IPv4 address on its (first) network"],
  ["--mac-address <mac>", "the container's MAC address on its (first) network"],
  ["--dns <ip>", "a nameserver for /etc/resolv.conf (replaces the host's)", true],
  ["--dns-search <domain>", "a search domain for /etc/resolv.conf", true],
  ["--dns-option <opt>", "an options entry for /etc/resolv.conf", true],
  ["--add-host <name:ip>", "a line in /etc/hosts (ip host-gateway: the host)", true],
  ["--expose <port>", "a port (or range) to expose, for -P", true],
  ["-P, --publish-all", "publish every exposed port on a random host port"],
  ["--pid <mode>", "host or container:NAME"],
  ["--ipc <mode>", "private, shareable, none, host or container:NAME"],
  ["--uts <mode>", "host"],
  ["--cgroupns <mode>", "host or private"],
  ["--cgroup-parent <path>", "the cgroup to create the container's under (default /berth)"],
  ["--init", "run tini as PID 1 to reap zombies and forward signals"],
  ["--cpus <n>", "CPU limit, e.g. 0.5"],
  ["-c, --cpu-shares <n>", "relative CPU weight"],
  ["--cpu-period <us>", "CFS period"],
  ["--cpu-quota <us>", "CFS quota"],
  ["--cpuset-cpus <list>", "CPUs to run on"],
  ["--cpuset-mems <list>", "memory nodes"],
  ["-m, --memory <size>", "memory limit"],
  ["--memory-swap <size>", "memory plus swap (-1: unlimited swap)"],
  ["--memory-reservation <size>", "soft memory limit"],
  ["--memory-swappiness <n>", "0 … 100"],
  ["--kernel-memory <size>", "ignored (as docker)"],
  ["--oom-kill-disable", "do not OOM-kill at the limit"],
  ["--pids-limit <n>", "maximum number of tasks (-1: unlimited)"],
  ["--blkio-weight <n>", "I/O weight 10 … 1000"],
  ["--device-read-bps <dev:rate>", "", true],
  ["--device-write-bps <dev:rate>", "", true],
  ["--device-read-iops <dev:rate>", "", true],
  ["--device-write-iops <dev:rate>", "", true],
  ["--restart <policy>", "no, on-failure[:N], always, unless-stopped (recorded; see docs/engine.md)"],
  ["--stop-signal <sig>", "signal that stops the container (default SIGTERM)"],
  ["--stop-timeout <s>", "seconds to wait before SIGKILL on stop (default 10)"],
  ["--log-opt <k=v>", "max-size=SIZE (a file rotates at it), max-file=N (files kept)", true],
  ["--runtime <name>", "OCI runtime: berth-runtime (default), runc, crun or a path"],
  ["--platform <p>", "linux/amd64 only"],
  ["--pull <policy>", "missing, always or never"],
  ["-p, --publish <ports>", "[ip:][hostPort:]containerPort[/tcp|udp], ports or ranges", true],
];

export function addRunOptions(cmd: Command): Command {
  for (const [flags, help, repeat] of RUN_OPTIONS) {
    if (repeat) cmd.option(flags, help, collect);
    else cmd.option(flags, help);
  }
  return cmd;
}

export type RunOptions = RunFlags & { net?: string; rootfs?: boolean };

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;

/** The parsed options → RunFlags (the record keeps these). */
export function runFlagsFrom(opts: RunOptions, args: string[]): RunFlags & { args: string[] } {
  if (opts.restart !== undefined && !RESTART.test(opts.restart)) throw new BerthError(`invalid restart policy ${JSON.stringify(opts.restart)}; use no, on-failure[:N], always or unless-stopped`, { field: "--restart" });
  if (opts.rm && opts.restart !== undefined && opts.restart !== "no") throw new BerthError("conflicts with --restart; a container removed at exit cannot restart", { field: "--rm" });
  if (opts.pull !== undefined && !["missing", "always", "never"].includes(opts.pull)) throw new BerthError(`invalid pull policy ${JSON.stringify(opts.pull)}; use missing, always or never`, { field: "--pull" });
  if (opts.stopTimeout !== undefined) parseStopTimeout(opts.stopTimeout, "--stop-timeout");
  if (opts.stopSignal !== undefined) parseSignal(opts.stopSignal, "--stop-signal");
  const flags: RunFlags & { args: string[] } = { ...opts, args };
  if (opts.net !== undefined && opts.network === undefined) flags.network = opts.net;
  delete (flags as RunOptions).net;
  delete (flags as RunOptions).rootfs;
  return flags;
}

