/**
 * `berth info` and `berth version`: docker's `info` and `version` for a daemonless
 * engine. `gatherInfo` reads the engine's stores and the host; `formatInfo` and
 * `formatVersion` print docker's text (pure). The JSON keys are docker's (`{{.NCPU}}`,
 * `{{.CgroupVersion}}`, `{{.DockerRootDir}}`, `{{.Server.Version}}`), so the scripts that
 * ask docker those questions get berth's answers.
 */
import { detectHostCgroups } from "../cgroups/layout.ts";
import { readHostFacts } from "../cgroups/host-facts.ts";
import { formatBytes } from "../cgroups/units.ts";
import { activeLsms, hostName, kernelRelease, memTotalBytes, osPrettyName } from "../sys/host-facts.ts";
import type { Engine } from "./container/engine.ts";
import { engineHostFacts } from "./container/host.ts";
import { goArch } from "./container/docker-seccomp.ts";
import { liveStatus } from "./container/live-status.ts";
import { initPath } from "./container/programs.ts";
import { ImageStore } from "./image/image-store.ts";

/** docker's `info` (system.Info), the fields berth has. */
export interface DockerInfo {
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  Plugins: { Volume: string[]; Network: string[]; Log: string[] };
  SwapLimit: boolean;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  Name: string;
  ServerVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  InitBinary: string;
  SecurityOptions: string[];
  SystemTime: string;
  Warnings: string[];
}

/** `uname -m` from Node's name for the architecture. */
const UNAME_MACHINE: Record<string, string> = { x64: "x86_64", arm64: "aarch64", ia32: "i686", arm: "armv7l", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loongarch64" };

/** The runtimes `--runtime` can name here: berth-runtime always, runc and crun where installed. */
function runtimes(berthRuntime: string): Record<string, { path: string }> {
  const out: Record<string, { path: string }> = { "berth-runtime": { path: berthRuntime } };
  for (const name of ["crun", "runc"]) {
    const path = Bun.which(name);
    if (path) out[name] = { path };
  }
  return out;
}

export function gatherInfo(engine: Engine, version: string, berthRuntime: string, now: Date): DockerInfo {
  const states = engine.store.list().map((r) => liveStatus(engine, r).status);
  const running = states.filter((s) => s === "running" || s === "restarting").length;
  const paused = states.filter((s) => s === "paused").length;
  const { layout } = detectHostCgroups();
  const lsms = activeLsms();
  const host = engineHostFacts();
  const init = initPath();
  return {
    Containers: states.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: states.length - running - paused,
    Images: new ImageStore(engine.paths).list().length,
    Driver: "overlay",
    Plugins: { Volume: ["local"], Network: ["bridge", "host", "none"], Log: ["k8s-file"] },
    SwapLimit: host.swapLimit,
    LoggingDriver: "k8s-file",
    CgroupDriver: "cgroupfs",
    // docker's: a hybrid host is cgroup v1 (its controllers are)
    CgroupVersion: layout.mode === "v2" ? "2" : "1",
    KernelVersion: kernelRelease(),
    OperatingSystem: osPrettyName(),
    OSType: "linux",
    Architecture: UNAME_MACHINE[process.arch] ?? process.arch,
    NCPU: readHostFacts().cpus.length,
    MemTotal: memTotalBytes(),
    DockerRootDir: engine.paths.root,
    Name: hostName(),
    ServerVersion: version,
    Runtimes: runtimes(berthRuntime),
    DefaultRuntime: "berth-runtime",
    InitBinary: init ?? "",
    SecurityOptions: [
      ...(lsms.apparmor ? ["name=apparmor"] : []),
      "name=seccomp,profile=builtin",
      ...(lsms.selinux ? ["name=selinux"] : []),
      ...(process.geteuid?.() !== 0 ? ["name=rootless"] : []),
      ...(layout.mode === "v2" ? ["name=cgroupns"] : []),
    ],
    SystemTime: now.toISOString(),
    Warnings: host.swapLimit ? [] : ["WARNING: No swap limit support"],
  };
}

/** `name=seccomp,profile=builtin` → ["seccomp", " Profile: builtin"]: docker's lines under Security Options. */
function securityLines(opt: string): string[] {
  const fields = opt.split(",").map((kv) => kv.split("=") as [string, string]);
  const name = fields.find(([k]) => k === "name")?.[1] ?? opt;
  return [name, ...fields.filter(([k]) => k !== "name").map(([k, v]) => ` ${k[0]!.toUpperCase()}${k.slice(1)}: ${v}`)];
}

/**
 * docker's `info` text: a Client section, then the engine's (docker's "Server"), the
 * warnings on stderr's behalf returned apart.
 *
 * @example formatInfo(info).text.startsWith("Client:\n Version:")
 */
export function formatInfo(info: DockerInfo): { text: string; warnings: string[] } {
  const lines = [
    "Client:",
    ` Version:    ${info.ServerVersion}`,
    " Context:    default",
    " Debug Mode: false",
    "",
    "Server:",
    ` Containers: ${info.Containers}`,
    `  Running: ${info.ContainersRunning}`,
    `  Paused: ${info.ContainersPaused}`,
    `  Stopped: ${info.ContainersStopped}`,
    ` Images: ${info.Images}`,
    ` Server Version: ${info.ServerVersion}`,
    ` Storage Driver: ${info.Driver}`,
    ` Logging Driver: ${info.LoggingDriver}`,
    ` Cgroup Driver: ${info.CgroupDriver}`,
    ` Cgroup Version: ${info.CgroupVersion}`,
    " Plugins:",
    `  Volume: ${info.Plugins.Volume.join(" ")}`,
    `  Network: ${info.Plugins.Network.join(" ")}`,
    `  Log: ${info.Plugins.Log.join(" ")}`,
    ` Runtimes: ${Object.keys(info.Runtimes).sort().join(" ")}`,
    ` Default Runtime: ${info.DefaultRuntime}`,
    ...(info.InitBinary ? [` Init Binary: ${info.InitBinary}`] : []),
    " Security Options:",
    ...info.SecurityOptions.flatMap(securityLines).map((l) => `  ${l}`),
    ` Kernel Version: ${info.KernelVersion}`,
    ` Operating System: ${info.OperatingSystem}`,
    ` OSType: ${info.OSType}`,
    ` Architecture: ${info.Architecture}`,
    ` CPUs: ${info.NCPU}`,
    ` Total Memory: ${formatBytes(info.MemTotal)}`,
    ` Name: ${info.Name}`,
    ` Docker Root Dir: ${info.DockerRootDir}`,
    " Debug Mode: false",
    " Experimental: false",
    " Live Restore Enabled: false",
  ];
  return { text: `${lines.join("\n")}\n\n`, warnings: info.Warnings };
}

/** docker's `version` (types.Version), client and engine: one program here. */
export interface DockerVersion {
  Client: { Version: string; BunVersion: string; Os: string; Arch: string; Context: string };
  Server: { Version: string; Os: string; Arch: string; KernelVersion: string; Components: { Name: string; Version: string; Details?: Record<string, string> }[] };
}

export function versionOf(version: string, bunVersion: string, runtimeSpec: string): DockerVersion {
  const arch = goArch(process.arch);
  return {
    Client: { Version: version, BunVersion: bunVersion, Os: "linux", Arch: arch, Context: "default" },
    Server: {
      Version: version, Os: "linux", Arch: arch, KernelVersion: kernelRelease(),
      Components: [{ Name: "Engine", Version: version }, { Name: "berth-runtime", Version: version, Details: { Spec: runtimeSpec } }],
    },
  };
}

/**
 * docker's `version` text. The engine runs in the client's process (daemonless, as
 * podman's), so the Server section names it and its runtime.
 */
export function formatVersion(v: DockerVersion): string {
  const pad = (label: string, value: string, indent: string) => `${indent}${`${label}:`.padEnd(indent.length === 1 ? 19 : 18)}${value}`;
  return [
    "Client:",
    pad("Version", v.Client.Version, " "),
    pad("Bun version", v.Client.BunVersion, " "),
    pad("OS/Arch", `${v.Client.Os}/${v.Client.Arch}`, " "),
    pad("Context", v.Client.Context, " "),
    "",
    "Server: berth (daemonless: the engine runs in each command)",
    ...v.Server.Components.flatMap((c) => [
      ` ${c.Name}:`,
      pad("Version", c.Version, "  "),
      ...Object.entries(c.Details ?? {}).map(([k, val]) => pad(k, val, "  ")),
      ...(c.Name === "Engine" ? [pad("OS/Arch", `${v.Server.Os}/${v.Server.Arch}`, "  "), pad("Kernel", v.Server.KernelVersion, "  ")] : []),
    ]),
  ].join("\n") + "\n";
}
