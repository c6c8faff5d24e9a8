/** Test support: run `fn`, expect it to throw a BerthError, and return it for assertions. */
import { expect } from "bun:test";
import { BerthError } from "../src/errors.ts";

export function errorOf(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error("expected a BerthError");
}
