import { describe, expect, test } from "bun:test";
import { applyChanges } from "./change.ts";
import { errorOf } from "../../../test/berth-error.ts";

describe("import --change", () => {
  test("exec and shell forms of CMD and ENTRYPOINT", () => {
    expect(applyChanges({}, ['CMD ["/bin/sh","-c","echo hi"]']).Cmd).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(applyChanges({}, ["CMD echo hi"]).Cmd).toEqual(["/bin/sh", "-c", "echo hi"]);
    expect(applyChanges({}, ['ENTRYPOINT ["/init"]']).Entrypoint).toEqual(["/init"]);
  });
  test("ENV and LABEL pairs, quoted values, the legacy KEY VALUE, later wins", () => {
    const c = applyChanges({}, ['ENV A=1 B="two words"', "ENV C three words", "ENV A=2", "LABEL x=y z='q r'"]);
    expect(c.Env).toEqual(["B=two words", "C=three words", "A=2"]);
    expect(c.Labels).toEqual({ x: "y", z: "q r" });
  });
  test("EXPOSE, WORKDIR, USER, VOLUME, STOPSIGNAL", () => {
    const c = applyChanges({}, ["EXPOSE 80 53/udp", "WORKDIR /srv", "USER nobody", 'VOLUME ["/data"]', "STOPSIGNAL SIGINT"]);
    expect(c.ExposedPorts).toEqual({ "80/tcp": {}, "53/udp": {} });
    expect(c).toMatchObject({ WorkingDir: "/srv", User: "nobody", Volumes: { "/data": {} }, StopSignal: "SIGINT" });
  });
  test("the input is not changed", () => {
    const base = { Env: ["A=1"] };
    applyChanges(base, ["ENV A=2"]);
    expect(base.Env).toEqual(["A=1"]);
  });
  test.each([
    ["RUN echo", "RUN cannot be changed by import"],
    ["CMD", "CMD needs an argument"],
    ["EXPOSE http", "is not PORT"],
    ["ENV =x", "KEY=VALUE"],
    ["", "is not a Dockerfile instruction"],
  ])("%j is refused: %s", (change, why) => {
    const err = errorOf(() => applyChanges({}, [change]));
    expect(err.message).toContain(`--change: ${JSON.stringify(change)}`);
    expect(err.field).toBe("--change");
    expect(err.message).toContain(why);
  });
});
