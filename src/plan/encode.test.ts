import { describe, expect, test } from "bun:test";
import { defaultSpec } from "../spec/default-spec.ts";
import { compilePlan } from "./compile.ts";
import { encodePlan } from "./encode.ts";
import { OP, type InitPlan, type OpArg, type OpName } from "./ops.ts";

/** One op as read back from the wire: its code and the raw bytes of each argument. */
interface WireOp {
  code: number;
  args: Uint8Array[];
}

/** Read a plan the way native/berth-init does, straight from native/PROTOCOL.md. */
function decode(bytes: Uint8Array): { magic: string; totalLen: number; ops: WireOp[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  const totalLen = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  let at = 16;
  const ops: WireOp[] = [];
  for (let i = 0; i < count; i++) {
    const code = view.getUint32(at, true);
    const argc = view.getUint32(at + 4, true);
    at += 8;
    const args: Uint8Array[] = [];
    for (let j = 0; j < argc; j++) {
      const len = view.getUint32(at, true);
      at += 4;
      args.push(bytes.slice(at, at + len));
      at += len;
    }
    ops.push({ code, args });
  }
  expect(at).toBe(bytes.length); // nothing left over
  return { magic, totalLen, ops };
}

function planOf(...ops: [OpName, OpArg[]][]): InitPlan {
  return { ops: ops.map(([op, args]) => ({ op, args, field: "f", what: "w" })) };
}

const u64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
const bytes = (...b: number[]) => new Uint8Array(b);

describe("encodePlan: the header", () => {
  test("an empty plan is the magic, its own length (16) and zero ops", () => {
    const out = encodePlan({ ops: [] });
    expect([...out]).toEqual([
      0x42, 0x52, 0x54, 0x48, 0x50, 0x4c, 0x4e, 0x33, // "BRTHPLN3"
      16, 0, 0, 0,
      0, 0, 0, 0,
    ]);
  });

  test("the total length is the byte length and the count is the number of ops", () => {
    const out = encodePlan(planOf(["SETSID", []], ["CHDIR", ["/"]], ["UMASK", [18]]));
    const d = decode(out);
    expect(d.magic).toBe("BRTHPLN3");
    expect(d.totalLen).toBe(out.length);
    expect(d.ops.length).toBe(3);
  });

  test("a whole compiled plan decodes back to its ops' codes and argument counts", () => {
    const spec = defaultSpec();
    spec.process!.terminal = false;
    const plan = compilePlan(spec, {
      id: "t", bundle: "/b", rootfs: "/b/rootfs", stateDir: "/run/berth/t",
      cgroup: { mode: "v2", v1: [], unified: { hostDir: "/sys/fs/cgroup/t" } },
    });
    const d = decode(encodePlan(plan));
    expect(d.totalLen).toBe(encodePlan(plan).length);
    expect(d.ops.map((o) => o.code)).toEqual(plan.ops.map((o) => OP[o.op]));
    expect(d.ops.map((o) => o.args.length)).toEqual(plan.ops.map((o) => o.args.length));
  });
});

describe("encodePlan: op codes", () => {
  test("each op carries its number from the OP table", () => {
    const table: [OpName, number][] = [
      ["SETNS", 1], ["UNSHARE", 2], ["USERNS_SYNC", 3], ["FORK", 4], ["WRITE_FILE", 5], ["MOUNT", 6],
      ["MOUNT_IN_ROOT", 7], ["MOUNT_SETATTR", 8], ["MKNOD_IN_ROOT", 9], ["SYMLINK_IN_ROOT", 10],
      ["PIVOT_ROOT", 11], ["MOVE_CHROOT", 12], ["SETHOSTNAME", 13], ["SETDOMAINNAME", 14], ["SETRLIMIT", 15],
      ["LOOPBACK_UP", 16], ["CHDIR", 17], ["SETGROUPS", 18], ["SETRESGID", 19], ["SETRESUID", 20],
      ["UMASK", 21], ["KEEPCAPS", 22], ["CAPS", 23], ["NO_NEW_PRIVS", 24], ["SECCOMP", 25], ["OPEN_DIR", 26],
      ["READY", 27], ["WAIT_START", 28], ["FIND_EXEC", 29], ["EXEC", 30], ["CLOSE_FROM", 31],
      ["RESET_SIGNALS", 32], ["SETSID", 33], ["JOIN_KEYRING", 34], ["MASK_PATH", 35],
      ["BIND_SELF_IN_ROOT", 36], ["MKDIR_IN_ROOT", 37], ["PERSONALITY", 38], ["IOPRIO", 39],
      ["SCHED_SETATTR", 40], ["IDMAP_TREE", 41], ["MOVE_TREE_IN_ROOT", 42], ["CONNECT_UNIX", 43],
      ["SECCOMP_NOTIFY", 44], ["HOOK_SYNC", 45], ["RUN_HOOK", 46], ["CONSOLE", 47], ["CONSOLE_STDIO", 48], ["OPEN_PATH", 49], ["CHROOT", 50], ["OPEN_TREE", 51], ["CHOWN_STDIO", 52],
    ];
    expect(Object.keys(OP).length).toBe(table.length);
    const d = decode(encodePlan(planOf(...table.map(([op]): [OpName, OpArg[]] => [op, []]))));
    expect(d.ops.map((o) => o.code)).toEqual(table.map(([, n]) => n));
    expect(d.ops.every((o) => o.args.length === 0)).toBe(true);
  });
});

describe("encodePlan: arguments", () => {
  test("a string is its UTF-8 bytes plus a NUL, the length counting the NUL", () => {
    const out = encodePlan(planOf(["CHDIR", ["/tmp"]]));
    // header, then code 17, argc 1, len 5, "/tmp\0"
    expect([...out.subarray(16)]).toEqual([17, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0x2f, 0x74, 0x6d, 0x70, 0]);
  });

  test("an empty string is a single NUL", () => {
    const [arg] = decode(encodePlan(planOf(["MOUNT", ["", "/", "", 0, ""]]))).ops[0]!.args;
    expect([...arg!]).toEqual([0]);
  });

  test("non-ASCII text is sent as UTF-8", () => {
    const [arg] = decode(encodePlan(planOf(["SETHOSTNAME", ["hé"]]))).ops[0]!.args;
    expect([...arg!]).toEqual([0x68, 0xc3, 0xa9, 0]);
  });

  test("an integer is 8 bytes, little-endian u64", () => {
    const [arg] = decode(encodePlan(planOf(["UMASK", [0o022]]))).ops[0]!.args;
    expect([...arg!]).toEqual([18, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("an integer above 32 bits keeps its high bytes", () => {
    const [arg] = decode(encodePlan(planOf(["SETRLIMIT", [2 ** 40 + 5]]))).ops[0]!.args;
    expect([...arg!]).toEqual([5, 0, 0, 0, 0, 1, 0, 0]);
  });

  test("the largest integer below 2^64 a number holds (2^64 - 4096) keeps every byte", () => {
    const [arg] = decode(encodePlan(planOf(["SETRLIMIT", [2 ** 64 - 4096]]))).ops[0]!.args;
    expect([...arg!]).toEqual([0, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  test("a negative integer is two's complement: -1 is all ones", () => {
    const [arg] = decode(encodePlan(planOf(["SETRLIMIT", [-1]]))).ops[0]!.args;
    expect([...arg!]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  test("-1000 (an oom_score_adj) is 2^64 - 1000", () => {
    const [arg] = decode(encodePlan(planOf(["UMASK", [-1000]]))).ops[0]!.args;
    expect(u64(arg!)).toBe(2n ** 64n - 1000n);
  });

  test("a bigint (a capability mask) is sent as u64, bit 40 included", () => {
    const mask = (1n << 40n) | (1n << 29n) | 32n;
    const [arg] = decode(encodePlan(planOf(["CAPS", [mask]]))).ops[0]!.args;
    expect(u64(arg!)).toBe(mask);
    expect([...arg!]).toEqual([0x20, 0, 0, 0x20, 0, 1, 0, 0]);
  });

  test("a device number beyond 32 bits survives as a bigint", () => {
    const dev = 17592187092992n;
    const [, , , arg] = decode(encodePlan(planOf(["MKNOD_IN_ROOT", ["/r", "/dev/x", 0o060666, dev, 0, 0]]))).ops[0]!.args;
    expect(u64(arg!)).toBe(dev);
  });

  test("raw bytes are sent unchanged, without a NUL", () => {
    const raw = bytes(0, 1, 2, 0xff, 0);
    const [arg] = decode(encodePlan(planOf(["SECCOMP", [raw]]))).ops[0]!.args;
    expect([...arg!]).toEqual([0, 1, 2, 0xff, 0]);
  });

  test("an empty byte argument has length 0", () => {
    const out = encodePlan(planOf(["SECCOMP", [new Uint8Array(0)]]));
    expect([...out.subarray(16)]).toEqual([25, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  test("mixed arguments keep their order and each its own length", () => {
    const d = decode(encodePlan(planOf(["MOUNT_IN_ROOT", ["/r", "/proc", "proc", "proc", 14, "", 1, 0]])));
    const args = d.ops[0]!.args;
    expect(args.map((a) => a.length)).toEqual([3, 6, 5, 5, 8, 1, 8, 8]);
    expect(new TextDecoder().decode(args[1]!)).toBe("/proc\0");
    expect(u64(args[4]!)).toBe(14n);
    expect(u64(args[6]!)).toBe(1n);
  });

  test("argc counts the EXEC arguments: argc, argv and env all on the wire", () => {
    const d = decode(encodePlan(planOf(["EXEC", [2, "echo", "hi", "PATH=/bin"]])));
    expect(d.ops[0]!.code).toBe(30);
    expect(d.ops[0]!.args.length).toBe(4);
    expect(u64(d.ops[0]!.args[0]!)).toBe(2n);
  });

  test("a string containing a NUL byte is refused", () => {
    expect(() => encodePlan(planOf(["CHDIR", ["/tmp\0/etc"]]))).toThrow("plan string contains a NUL byte");
  });

  test("a non-integer number is refused rather than rounded", () => {
    expect(() => encodePlan(planOf(["UMASK", [1.5]]))).toThrow();
  });
});
