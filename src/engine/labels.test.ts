import { describe, expect, test } from "bun:test";
import { parseLabels } from "./labels.ts";

describe("parseLabels: docker's --label KEY[=VALUE]", () => {
  test("KEY alone is an empty value; a value keeps its own '='; the last of a key wins", () => {
    expect(parseLabels(["app=web", "flag", "url=a=b", "app=db"], "--label")).toEqual({ app: "db", flag: "", url: "a=b" });
    expect(parseLabels([], "--label")).toEqual({});
  });
  test("no key: one line naming the flag and the form", () => {
    expect(() => parseLabels(["=x"], "--mount")).toThrow('invalid label "=x"; use KEY=VALUE or KEY');
    expect(() => parseLabels([""], "--label")).toThrow(expect.objectContaining({ field: "--label" }));
  });
});
