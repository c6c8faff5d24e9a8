/** `berth cgroup …`: the operator's cgroup tool (replaces the seed's cgroup-manager.sh). */
import type { Command } from "../command.ts";
import { registerAdd } from "./add.ts";
import { registerCreate } from "./create.ts";
import { registerLs } from "./ls.ts";
import { registerRm } from "./rm.ts";
import { registerRun } from "./run.ts";
import { registerSet } from "./set.ts";
import { registerStat } from "./stat.ts";

export function registerCgroup(program: Command): void {
  const group = program.command("cgroup").description("create, limit, run in, watch and remove cgroups on v1, v2 and hybrid hosts");
  for (const register of [registerCreate, registerSet, registerAdd, registerRun, registerStat, registerLs, registerRm]) register(group);
}
