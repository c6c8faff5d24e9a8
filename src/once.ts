/**
 * `finish` run at its first call only; later calls answer the same: its value, or its
 * error thrown again. For work begun that must be finished exactly once, whoever asks
 * first — a teardown's CNI DELs, an ADD started beside another (engine/network). Pure.
 */
export function once<T>(finish: () => T): () => T {
  let outcome: { value: T } | { err: unknown } | undefined;
  return () => {
    if (!outcome) {
      try {
        outcome = { value: finish() };
      } catch (err) {
        outcome = { err };
      }
    }
    if ("err" in outcome) throw outcome.err;
    return outcome.value;
  };
}
