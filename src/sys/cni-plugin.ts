/**
 * Running one CNI plugin executable: the CNI exec protocol's transport (CNI spec,
 * "Section 2: Execution Protocol") — parameters in the environment (CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH, CNI_ARGS), the network
 * configuration on stdin, the result (or an error object) on stdout. What the parameters
 * and the configuration are is engine/network/cni.ts's business.
 */
import { runProgram } from "./program.ts";

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run plugin `path` with the CNI variables `cniEnv` (added to PATH, which plugins need for iptables) and `stdin`. */
export function execPlugin(path: string, cniEnv: Record<string, string>, stdin: string): PluginRun {
  const p = runProgram([path], { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...cniEnv }, input: stdin });
  return { code: p.code, stdout: p.stdout, stderr: p.stderr };
}
