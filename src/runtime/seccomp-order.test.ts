/**
 * The runtime's own system calls and the container's seccomp filter: a deny-by-default
 * profile that allows the classic system calls (docker's list) and a newer one
 * (landlock_create_ruleset), but not faccessat2 or close_range, must run every process
 * runc runs under it — with no_new_privileges on and off, a program found through PATH
 * or named by its path, fds passed with --preserve-fds, as root and as a user, for `run`
 * and for `exec`. The helper looks the program up and sets up fds and the process before
 * the filter; after it, only what runc makes too (the identity and capability calls
 * no_new_privileges=false forces, the start handshake, execve).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, RUNTIME, RuntimeFixture, type Result } from "../../test/runtime-harness.ts";
import { clientSpec } from "../../test/client-specs.ts";
import type { Spec } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("scorder");
afterAll(() => fx.cleanup(), 60_000);

type Rule = { names: string[]; action: string; args?: unknown[] };

/** docker's unconditional allow list, without faccessat2 and close_range, with landlock_create_ruleset. */
function classicProfile(): NonNullable<Spec["linux"]>["seccomp"] {
  const docker = (clientSpec("docker-run") as { linux: { seccomp: { syscalls: Rule[] } } }).linux.seccomp;
  const names = new Set(docker.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
  names.delete("faccessat2");
  names.delete("close_range");
  names.add("landlock_create_ruleset");
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [{ names: [...names].sort(), action: "SCMP_ACT_ALLOW" }],
  } as never;
}

function spec(id: string, args: string[], nnp: boolean, uid = 0): Spec {
  return fx.spec(id, (s) => {
    s.process!.args = args;
    s.process!.noNewPrivileges = nnp;
    s.process!.user = { uid, gid: uid };
    s.linux!.seccomp = classicProfile();
  });
}

/** berth-runtime with a file on fd 3, for --preserve-fds (fx.rt passes only 0-2). */
function rtWithFd3(args: string[], content: string): Result {
  const base = join(fx.dir, `.fd3-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(base, content);
  const fd3 = openSync(base, "r");
  const outFd = openSync(`${base}.out`, "w");
  const errFd = openSync(`${base}.err`, "w");
  try {
    const p = Bun.spawnSync([RUNTIME, "--root", fx.root, ...args], { stdio: ["ignore", outFd, errFd, fd3] });
    return { code: p.exitCode ?? 128, stdout: readFileSync(`${base}.out`, "utf8"), stderr: readFileSync(`${base}.err`, "utf8") };
  } finally {
    for (const fd of [fd3, outFd, errFd]) closeSync(fd);
    for (const f of [base, `${base}.out`, `${base}.err`]) rmSync(f, { force: true });
  }
}

let profileSize = 0;
beforeAll(() => {
  const p = classicProfile() as { syscalls: Rule[] };
  profileSize = p.syscalls[0]!.names.length;
});

describe.skipIf(!canRunContainers)("seccomp: a deny-by-default profile without faccessat2 and close_range", () => {
  test("the profile is the one described: ~300 classic calls and landlock_create_ruleset", () => {
    expect(profileSize).toBeGreaterThan(300);
    const names = (classicProfile() as { syscalls: Rule[] }).syscalls[0]!.names;
    expect(names).toContain("landlock_create_ruleset");
    expect(names).not.toContain("faccessat2");
    expect(names).not.toContain("close_range");
  });

  for (const nnp of [false, true]) {
    describe(`noNewPrivileges ${nnp}`, () => {
      test("run: a program found through PATH, and one named by its path", () => {
        const found = fx.id();
        const r = fx.runSpec(found, spec(found, ["true"], nnp));
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const named = fx.id();
        const s = fx.runSpec(named, spec(named, ["/bin/sh", "-c", "echo named; exit 3"], nnp));
        expect(s.stdout).toBe("named\n");
        expect(s.code).toBe(3);
      });

      test("run as a user (uid 1000): the identity is the user's and the program still runs", () => {
        const id = fx.id();
        const r = fx.runSpec(id, spec(id, ["id", "-u"], nnp, 1000));
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("1000\n");
        const sid = fx.id();
        const status = fx.runSpec(sid, spec(sid, ["cat", "/proc/self/status"], nnp, 1000));
        // the filter is there, and the process kept none of the runtime's capabilities
        expect(status.stdout).toMatch(/^Seccomp:\s+2$/m);
        expect(status.stdout).toMatch(/^CapEff:\s+0+$/m);
        expect(status.stdout).toMatch(new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}$`, "m"));
      });

      test("run --preserve-fds 1: fd 3 reaches the program", () => {
        const id = fx.id();
        const r = rtWithFd3(["run", "--preserve-fds", "1", "--bundle", fx.bundle(id, spec(id, ["cat", "/proc/self/fd/3"], nnp)), id], "through fd 3\n");
        expect(r.stderr).toBe("");
        expect(r.stdout).toBe("through fd 3\n");
        expect(r.code).toBe(0);
      });

      test("exec: through PATH, by path, as a user, and with --preserve-fds", () => {
        const id = fx.id();
        const created = fx.rt(["run", "-d", "--bundle", fx.bundle(id, spec(id, ["sleep", "1000"], nnp)), id]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        try {
          const viaPath = fx.rt(["exec", id, "true"]);
          expect(viaPath.stderr).toBe("");
          expect(viaPath.code).toBe(0);
          expect(fx.rt(["exec", id, "/bin/sh", "-c", "echo named"]).stdout).toBe("named\n");
          expect(fx.rt(["exec", "--user", "1000:1000", id, "id", "-u"]).stdout).toBe("1000\n");
          const fd3 = rtWithFd3(["exec", "--preserve-fds", "1", id, "cat", "/proc/self/fd/3"], "exec fd 3\n");
          expect(fd3.stderr).toBe("");
          expect(fd3.stdout).toBe("exec fd 3\n");
        } finally {
          fx.rt(["delete", "--force", id]);
        }
      });
    });
  }
});
