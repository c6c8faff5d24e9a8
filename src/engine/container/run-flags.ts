/**
 * What `berth run` / `berth create` were asked, as the command line spelled it: docker's
 * flags, values still text. The CLI fills it; bundle.ts turns it into an OCI spec and
 * records.ts keeps it (it is what `inspect` shows and what `start` rebuilds from).
 */
import { BerthError } from "../../errors.ts";

export interface RunFlags {
  // what runs
  entrypoint?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  groupAdd?: string[];
  tty?: boolean;
  interactive?: boolean;
  init?: boolean;
  // identity
  name?: string;
  hostname?: string;
  domainname?: string;
  label?: string[];
  labelFile?: string[];
  annotation?: string[];
  // filesystem
  readOnly?: boolean;
  tmpfs?: string[];
  volume?: string[];
  mount?: string[];
  shmSize?: string;
  // security
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  ulimit?: string[];
  oomScoreAdj?: string;
  sysctl?: string[];
  device?: string[];
  deviceCgroupRule?: string[];
  userns?: string;
  // network (engine/network/attach.ts)
  network?: string;
  networkAlias?: string[];
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  macAddress?: string;
  ip?: string;
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  addHost?: string[];
  // namespaces and cgroup
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  cgroupParent?: string;
  // resources (docker's names)
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  memorySwappiness?: string;
  kernelMemory?: string;
  oomKillDisable?: boolean;
  pidsLimit?: string;
  blkioWeight?: string;
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  // lifecycle (kept in the record, used by the engine)
  rm?: boolean;
  detach?: boolean;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: string;
  logOpt?: string[];
  runtime?: string;
  platform?: string;
  pull?: string;
}

/** `--stop-timeout`, and `-t` of stop and restart: whole seconds, -1 waits forever. */
export function parseStopTimeout(text: string, flag: string): number {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) throw new BerthError(`invalid value ${JSON.stringify(text)}; use whole seconds (-1: wait forever)`, { field: flag });
  return Number(t);
}
