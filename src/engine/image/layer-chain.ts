/**
 * Chain IDs (image-spec config.md "Layer ChainID"): the identity of a stack of layers,
 * so two images sharing their bottom layers share those snapshots. Pure.
 *
 * ChainID(L0) = DiffID(L0); ChainID(L0…Ln) = sha256(ChainID(L0…Ln-1) + " " + DiffID(Ln)).
 */
import { sha256Digest } from "../content/store.ts";

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Digest(`${out[out.length - 1]} ${d}`));
  return out;
}
