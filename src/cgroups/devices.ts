/**
 * OCI `linux.resources.devices`: which device nodes a container may open or mknod.
 *
 * cgroup v1 takes the rules as lines written to `devices.allow` / `devices.deny`, in
 * order. cgroup v2 has no devices files: an eBPF program attached to the cgroup decides
 * each access, so we compile the same list into one (src/sys/bpf.ts attaches it).
 * Pure: no I/O.
 */
import type { LinuxDeviceCgroup } from "../spec/linux-resources.ts";
import type { DeviceRule } from "../spec/validate-resources.ts";
import { and32, encode, exit, jump32, jump32Reg, loadWord, mov32, mov32Reg, rsh32, type Insn } from "./ebpf-asm.ts";

function normalized(rule: LinuxDeviceCgroup): DeviceRule {
  return {
    allow: rule.allow,
    type: (rule.type ?? "a") as DeviceRule["type"],
    major: rule.major === undefined || rule.major === -1 ? null : rule.major,
    minor: rule.minor === undefined || rule.minor === -1 ? null : rule.minor,
    access: rule.access ?? "rwm",
  };
}

export interface V1DeviceWrite {
  file: "devices.allow" | "devices.deny";
  value: string;
  field: string;
}

/**
 * The cgroup v1 writes, one per rule, in the listed order (OCI: "The runtime MUST apply
 * entries in the listed order").
 *
 * @example
 * v1DeviceWrites([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]);
 * // → devices.deny "a *:* rwm", devices.allow "c 1:3 rwm"
 */
export function v1DeviceWrites(rules: LinuxDeviceCgroup[], field = "linux.resources.devices"): V1DeviceWrite[] {
  return rules.map((raw, i) => {
    const r = normalized(raw);
    // The kernel reads nothing after an `a`: it switches the default and clears every
    // exception whatever numbers or access follow, so spell out what it does.
    const value = r.type === "a" ? "a *:* rwm" : `${r.type} ${r.major ?? "*"}:${r.minor ?? "*"} ${r.access}`;
    return { file: r.allow ? "devices.allow" : "devices.deny", value, field: `${field}[${i}]` };
  });
}

// struct bpf_cgroup_dev_ctx and its constants (include/uapi/linux/bpf.h).
const DEV_BLOCK = 1, DEV_CHAR = 2;
const ACC_MKNOD = 1, ACC_READ = 2, ACC_WRITE = 4;
const ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE;
const ACCESS_BITS: Record<string, number> = { r: ACC_READ, w: ACC_WRITE, m: ACC_MKNOD };

/** A check that leaves the rule's block when the request does not match: built once the block's length is known. */
type Check = Insn | ((skipToNextRule: number) => Insn);

function matchChecks(rule: DeviceRule): Check[] | "matches-everything" {
  // `a` means every device whatever else the rule says, as in v1 and runc.
  if (rule.type === "a") return "matches-everything";
  const checks: Check[] = [(off) => jump32("jne", 2, rule.type === "b" ? DEV_BLOCK : DEV_CHAR, off)];
  const bits = [...rule.access].reduce((sum, c) => sum | (ACCESS_BITS[c] ?? 0), 0);
  if (bits !== ACC_ALL) {
    checks.push(mov32Reg(1, 3), and32(1, bits));
    // v1 semantics (security/device_cgroup.c): an allow needs every requested bit
    // (runc: `(access & ruleAccess) != access` skips the rule); a deny hits as soon as
    // one requested bit is denied. A subset test for denies too would let an open for
    // rw through `deny c 1:3 w`, which v1 refuses.
    checks.push(rule.allow ? (off) => jump32Reg("jne", 1, 3, off) : (off) => jump32("jeq", 1, 0, off));
  }
  if (rule.major !== null) checks.push((off) => jump32("jne", 4, rule.major!, off));
  if (rule.minor !== null) checks.push((off) => jump32("jne", 5, rule.minor!, off));
  return checks;
}

/**
 * A BPF_PROG_TYPE_CGROUP_DEVICE program with v1 semantics, as runc and crun build for
 * cgroup v2: the last rule that matches a request decides. The rules are checked in
 * reverse order and the first match returns 1 (allow) or 0 (deny). A request no rule
 * matches is allowed, because a fresh v1 cgroup inherits `a *:* rwm` from the root; OCI
 * configs start with a deny-all rule, so that default only shows for lists without one.
 *
 * Context: `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` with
 * access_type = (access << 16) | type.
 *
 * Where v1 itself is surprising we are stricter, never looser (checked against the
 * host's v1 devices controller): v1 silently ignores a deny inside an allowed wildcard
 * (`allow c *:*` then `deny c 1:3` leaves /dev/null open; here it is denied), and it
 * merges allows for one device (`c 1:3 r` + `c 1:3 w` opens rw; here each rule must
 * cover the whole request on its own).
 */
export function deviceFilterProgram(rules: LinuxDeviceCgroup[]): Uint8Array {
  const prog: Insn[] = [
    loadWord(2, 1, 0), and32(2, 0xffff), // r2 = device type
    loadWord(3, 1, 0), rsh32(3, 16), // r3 = requested access bits
    loadWord(4, 1, 4), // r4 = major
    loadWord(5, 1, 8), // r5 = minor
  ];
  for (const rule of rules.map(normalized).reverse()) {
    const verdict = [mov32(0, rule.allow ? 1 : 0), exit()];
    const checks = matchChecks(rule);
    // Nothing after a rule that matches everything can run, and the verifier rejects
    // unreachable instructions: stop here.
    if (checks === "matches-everything") return encode([...prog, ...verdict]);
    const blockLength = checks.length + verdict.length;
    checks.forEach((c, i) => prog.push(typeof c === "function" ? c(blockLength - i - 1) : c));
    prog.push(...verdict);
  }
  prog.push(mov32(0, 1), exit());
  return encode(prog);
}
