import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { errorOf } from "../../test/berth-error.ts";
import { deviceFilterProgram, v1DeviceWrites } from "./devices.ts";
import { validateDeviceRules } from "../spec/validate-resources.ts";
import { CLIENT_SPECS_DIR } from "../../test/client-specs.ts";

const F = "linux.resources.devices";

function clientRules(name: string): unknown {
  const spec = JSON.parse(readFileSync(`${CLIENT_SPECS_DIR}${name}.json`, "utf8"));
  return spec.linux.resources.devices;
}


describe("validateDeviceRules", () => {
  const cases: [string, unknown, string, string][] = [
    ["bad type", [{ allow: true, type: "x" }], `${F}[0].type`, `got "x"; use one of a (all), b (block), c (char)`],
    ["unknown access letter", [{ allow: true, access: "rwx" }], `${F}[0].access`, `got "rwx"; use a combination of r, w, m, each at most once`],
    ["repeated access letter", [{ allow: false }, { allow: true, access: "rr" }], `${F}[1].access`, `got "rr"; use a combination of r, w, m, each at most once`],
    ["empty access", [{ allow: true, access: "" }], `${F}[0].access`, `got ""; use a combination of r, w, m, each at most once`],
    ["negative major", [{ allow: true, type: "c", major: -2 }], `${F}[0].major`, "got -2; use an integer 0…4294967295, or -1 or null for any"],
    ["fractional minor", [{ allow: true, type: "c", minor: 1.5 }], `${F}[0].minor`, "got 1.5; use an integer 0…4294967295, or -1 or null for any"],
    ["missing allow", [{ allow: false }, { allow: true }, { type: "c" }], `${F}[2].allow`, "is required; use true or false"],
    ["allow not boolean", [{ allow: "yes" }], `${F}[0].allow`, `got "yes"; use true or false`],
    ["not an array", { allow: true }, F, `got {"allow":true}; use a JSON array of device rules`],
    ["element not an object", ["c 1:3 rwm"], `${F}[0]`, `got "c 1:3 rwm"; use an object like {"allow": false, "access": "rwm"}`],
  ];
  for (const [name, input, field, message] of cases) {
    test(`${name} names ${field} and the accepted form`, () => {
      const err = errorOf(() => validateDeviceRules(input));
      expect(err.field).toBe(field);
      expect(err.message).toBe(`${field}: ${message}`);
      expect(err.message).not.toMatch(/\.$/);
    });
  }

  test("the field prefix is the caller's", () => {
    expect(errorOf(() => validateDeviceRules([{ allow: 1 }], "x.devices")).field).toBe("x.devices[0].allow");
  });

  test("fills in the spec's defaults and spells wildcards as null", () => {
    expect(validateDeviceRules([{ allow: false }, { allow: true, type: "c", major: 136, minor: -1, access: "mr" }, { allow: true, type: "b", major: null }])).toEqual([
      { allow: false, type: "a", major: null, minor: null, access: "rwm" },
      { allow: true, type: "c", major: 136, minor: null, access: "rm" },
      { allow: true, type: "b", major: null, minor: null, access: "rwm" },
    ]);
  });

  test("accepts the rule lists real clients send", () => {
    for (const name of ["docker-run", "ctr-run", "podman-run"]) expect(() => validateDeviceRules(clientRules(name))).not.toThrow();
  });
});

describe("v1DeviceWrites", () => {
  const lines = (rules: unknown) => v1DeviceWrites(validateDeviceRules(rules)).map((w) => `${w.file} ${w.value}`);

  test("the OCI config-linux.md example, one write per rule in order", () => {
    const rules = [
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      { allow: true, type: "b", major: 8, minor: 0, access: "r" },
    ];
    expect(v1DeviceWrites(validateDeviceRules(rules))).toEqual([
      { file: "devices.deny", value: "a *:* rwm", field: `${F}[0]` },
      { file: "devices.allow", value: "c 10:229 rw", field: `${F}[1]` },
      { file: "devices.allow", value: "b 8:0 r", field: `${F}[2]` },
    ]);
  });

  test("wildcards are * and a type-a rule is everything, as the kernel reads it", () => {
    expect(lines([{ allow: true, type: "b", major: 8, access: "r" }, { allow: true, type: "a", major: 1, minor: 3, access: "r" }])).toEqual([
      "devices.allow b 8:* r",
      "devices.allow a *:* rwm",
    ]);
  });

  test("unvalidated spec rules get the same defaults", () => {
    expect(v1DeviceWrites([{ allow: false }, { allow: true, type: "c", major: 1, minor: -1 }]).map((w) => w.value)).toEqual(["a *:* rwm", "c 1:* rwm"]);
  });

  test("docker run's list", () => {
    expect(lines(clientRules("docker-run"))).toEqual([
      "devices.deny a *:* rwm",
      "devices.allow c 1:5 rwm",
      "devices.allow c 1:3 rwm",
      "devices.allow c 1:9 rwm",
      "devices.allow c 1:8 rwm",
      "devices.allow c 5:0 rwm",
      "devices.allow c 5:1 rwm",
      "devices.deny c 10:229 rwm",
    ]);
  });

  test("ctr run's list", () => {
    expect(lines(clientRules("ctr-run"))).toEqual([
      "devices.deny a *:* rwm",
      "devices.allow c 1:3 rwm",
      "devices.allow c 1:8 rwm",
      "devices.allow c 1:7 rwm",
      "devices.allow c 5:0 rwm",
      "devices.allow c 1:5 rwm",
      "devices.allow c 1:9 rwm",
      "devices.allow c 5:1 rwm",
      "devices.allow c 136:* rwm",
      "devices.allow c 5:2 rwm",
    ]);
  });
});

/**
 * An interpreter for exactly the instructions deviceFilterProgram may emit, with the
 * verifier's basic rules: known opcodes only, forward jumps inside the program, ctx
 * reads of aligned u32 fields, r0 set to 0 or 1 at exit.
 */
function runFilter(prog: Uint8Array, request: string): boolean {
  const m = /^([bc]) (\d+):(\d+) ([rwm]+)$/.exec(request);
  if (!m) throw new Error(`bad request ${request}`);
  const type = m[1] === "b" ? 1 : 2;
  const access = [...m[4]!].reduce((a, c) => a | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c]!, 0);
  const ctx = [(access << 16) | type, Number(m[2]), Number(m[3])];

  const view = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const count = prog.length / 8;
  expect(prog.length % 8).toBe(0);
  const regs: (number | "ctx" | undefined)[] = [undefined, "ctx"];
  const num = (r: number) => {
    const v = regs[r];
    if (typeof v !== "number") throw new Error(`r${r} read before it holds a number`);
    return v;
  };
  for (let pc = 0, steps = 0; pc < count; pc++, steps++) {
    if (steps > count) throw new Error("loop");
    const code = view.getUint8(pc * 8);
    const dst = view.getUint8(pc * 8 + 1) & 0xf;
    const src = view.getUint8(pc * 8 + 1) >> 4;
    const off = view.getInt16(pc * 8 + 2, true);
    const imm = view.getInt32(pc * 8 + 4, true) >>> 0;
    const jump = (taken: boolean) => {
      if (off <= 0 || pc + 1 + off >= count) throw new Error(`bad jump at ${pc}`);
      if (taken) pc += off;
    };
    switch (code) {
      case 0x61: // ldxw dst, [src + off]
        if (regs[src] !== "ctx" || off % 4 || off < 0 || off > 8) throw new Error(`bad load at ${pc}`);
        regs[dst] = ctx[off / 4]!;
        break;
      case 0x54: regs[dst] = (num(dst) & imm) >>> 0; break; // and32 imm
      case 0x74: regs[dst] = num(dst) >>> imm; break; // rsh32 imm
      case 0xbc: regs[dst] = num(src); break; // mov32 reg
      case 0xb4: regs[dst] = imm; break; // mov32 imm
      case 0x16: jump(num(dst) === imm); break; // jeq32 imm
      case 0x56: jump(num(dst) !== imm); break; // jne32 imm
      case 0x5e: jump(num(dst) !== num(src)); break; // jne32 reg
      case 0x95: { // exit
        const r0 = num(0);
        if (r0 !== 0 && r0 !== 1) throw new Error(`exit with ${r0}`);
        return r0 === 1;
      }
      default:
        throw new Error(`opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("fell off the end");
}

const program = (rules: unknown) => deviceFilterProgram(validateDeviceRules(rules));

describe("deviceFilterProgram", () => {
  test("docker run's list", () => {
    const prog = program(clientRules("docker-run"));
    expect(runFilter(prog, "c 1:3 rw")).toBe(true); // /dev/null
    expect(runFilter(prog, "c 1:3 m")).toBe(true); // mknod /dev/null
    expect(runFilter(prog, "c 5:1 w")).toBe(true); // /dev/console
    expect(runFilter(prog, "c 10:229 rw")).toBe(false); // /dev/fuse, denied last
    expect(runFilter(prog, "b 8:0 r")).toBe(false); // /dev/sda
    expect(runFilter(prog, "c 99:1 r")).toBe(false); // unknown
    expect(runFilter(prog, "c 1:7 r")).toBe(false); // /dev/full is not on docker's list
  });

  test("ctr run's list: a wildcard minor covers every pty", () => {
    const prog = program(clientRules("ctr-run"));
    expect(runFilter(prog, "c 136:0 rw")).toBe(true);
    expect(runFilter(prog, "c 136:4097 rwm")).toBe(true);
    expect(runFilter(prog, "c 137:0 rw")).toBe(false);
    expect(runFilter(prog, "b 136:0 r")).toBe(false);
  });

  test("the OCI example: access must be within the rule's", () => {
    const prog = program([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      { allow: true, type: "b", major: 8, minor: 0, access: "r" },
    ]);
    expect(runFilter(prog, "c 10:229 rw")).toBe(true);
    expect(runFilter(prog, "c 10:229 m")).toBe(false);
    expect(runFilter(prog, "b 8:0 r")).toBe(true);
    expect(runFilter(prog, "b 8:0 rw")).toBe(false);
    expect(runFilter(prog, "c 8:0 r")).toBe(false);
  });

  test("an empty list allows everything, like a fresh v1 cgroup", () => {
    const prog = program([]);
    expect(prog.length / 8).toBe(8); // 6 loads, r0 = 1, exit
    for (const r of ["c 1:3 rwm", "b 8:0 rw", "c 4095:1048575 m"]) expect(runFilter(prog, r)).toBe(true);
  });

  test("the last matching rule decides", () => {
    const laterDeny = program([{ allow: true, type: "c", major: 1, minor: 3 }, { allow: false, type: "c", major: 1 }]);
    expect(runFilter(laterDeny, "c 1:3 r")).toBe(false);
    expect(runFilter(laterDeny, "c 2:3 r")).toBe(true);
    const laterAllow = program([{ allow: false }, { allow: false, type: "c", major: 1 }, { allow: true, type: "c", major: 1, minor: 3 }]);
    expect(runFilter(laterAllow, "c 1:3 r")).toBe(true);
    expect(runFilter(laterAllow, "c 1:4 r")).toBe(false);
  });

  test("a deny hits when any requested bit is denied, as in v1", () => {
    const prog = program([{ allow: false }, { allow: true, type: "c", major: 1, minor: 3 }, { allow: false, type: "c", major: 1, minor: 3, access: "w" }]);
    expect(runFilter(prog, "c 1:3 r")).toBe(true);
    expect(runFilter(prog, "c 1:3 rw")).toBe(false);
    expect(runFilter(prog, "c 1:3 m")).toBe(true);
  });

  test("a deny inside an allowed wildcard holds, where v1 would ignore it", () => {
    const prog = program([{ allow: false }, { allow: true, type: "c" }, { allow: false, type: "c", major: 1, minor: 3 }]);
    expect(runFilter(prog, "c 1:3 r")).toBe(false);
    expect(runFilter(prog, "c 1:5 r")).toBe(true);
  });

  test("a type-a rule covers everything and hides the rules before it", () => {
    const prog = program([{ allow: false, type: "c", major: 1 }, { allow: true, type: "a", major: 7, access: "r" }, { allow: false, type: "b", major: 8 }]);
    expect(runFilter(prog, "c 1:3 rwm")).toBe(true);
    expect(runFilter(prog, "b 8:1 r")).toBe(false);
    // checks for b 8, then r0 = 1 and exit: nothing for the unreachable first rule
    expect(prog.length / 8).toBe(6 + 4 + 2);
  });

  test("major and minor numbers above 2^31 compare as unsigned", () => {
    const prog = program([{ allow: false }, { allow: true, type: "c", major: 3_000_000_000, minor: 0xffff_ffff }]);
    expect(runFilter(prog, "c 3000000000:4294967295 r")).toBe(true);
    expect(runFilter(prog, "c 3000000000:0 r")).toBe(false);
  });
});
