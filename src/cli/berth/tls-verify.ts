/** `--tls-verify=true|false` (podman's flag): whether a registry's certificate is checked. */
import { BerthError } from "../../errors.ts";

export function parseTlsVerify(value: string): boolean {
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new BerthError(`must be true or false, not ${JSON.stringify(value)}`, { field: "--tls-verify" });
}
