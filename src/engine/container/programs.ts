/**
 * The programs the engine starts: the OCI runtime (berth-runtime by default, `--runtime
 * runc|crun|PATH`), the monitor (berth-monitor, native/build/), the init for --init
 * (tini), and berth itself (the monitor's exit command). berth-runtime and berth are found
 * in the checkout this runs from: compiled, beside the executable (native/build/bin/);
 * from the sources, bin/.
 */
import { BerthError } from "../../errors.ts";
import { pathExists } from "../../sys/libc.ts";

const parent = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";

/** The checkout: native/build/bin/<exe> → three levels up; src/engine/container → three levels up. */
function checkout(): string {
  const exeDir = parent(process.execPath);
  if (exeDir.endsWith("/native/build/bin")) return parent(parent(parent(exeDir)));
  return parent(parent(parent(import.meta.dir)));
}

/** The runtime to drive: a name on $PATH, a path, or berth-runtime when none is given. */
export function runtimePath(name: string | undefined): string {
  if (!name || name === "berth-runtime") {
    const root = checkout();
    const compiled = `${root}/native/build/bin/berth-runtime`;
    return pathExists(compiled) ? compiled : `${root}/bin/berth-runtime`;
  }
  if (name.includes("/")) {
    if (!pathExists(name)) throw new BerthError(`${name} does not exist; give the path of an OCI runtime executable, or runc, crun or berth-runtime`, { field: "--runtime" });
    return name;
  }
  const found = Bun.which(name);
  if (!found) throw new BerthError(`${name} is not on $PATH; install it, or give its path`, { field: "--runtime" });
  return found;
}

/** How to run berth again (the monitor's exit command): the executable by the name berth, or Bun on the sources. */
export function berthCommand(): string[] {
  const exeDir = parent(process.execPath);
  if (exeDir.endsWith("/native/build/bin")) return [`${exeDir}/berth`];
  return [process.execPath, "--no-env-file", "--config=/dev/null", `${checkout()}/src/cli/berth.ts`];
}

/** berth-monitor, built by scripts/build-native.sh beside berth-init. */
export function monitorPath(): string {
  const path = `${checkout()}/native/build/berth-monitor`;
  if (!pathExists(path)) throw new BerthError(`${path} is missing; build it with sh scripts/build-native.sh (it holds a detached container's stdio, log and exit)`);
  return path;
}

/** A static init for --init: docker ships docker-init (tini); the container has no libc of ours to load. */
export function initPath(): string | undefined {
  return ["/usr/bin/tini-static", "/usr/libexec/podman/catatonit", "/usr/bin/catatonit"].find(pathExists);
}
