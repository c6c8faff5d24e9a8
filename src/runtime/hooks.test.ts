/**
 * OCI hooks on real containers: each kind runs at its point of the lifecycle, in the
 * namespaces the runtime-spec says, with the state JSON on stdin, its args (argv[0]
 * included, which docker's re-exec'd prestart hook depends on) and env; failures and
 * timeouts stop create, while poststart and poststop failures are warnings.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { dead, leaksOf } from "../../test/leak-check.ts";
import { canRunContainers, cgroupDirsFor, RuntimeFixture, until } from "../../test/runtime-harness.ts";
import type { Hook } from "../spec/runtime-spec.ts";

setDefaultTimeout(30_000);

const fx = new RuntimeFixture("hooks");
afterAll(() => fx.cleanup(), 60_000);

/** A hook that saves its stdin and the uts namespace it runs in under `dir` as KIND.json / KIND.ns. */
const recorder = (dir: string, kind: string): Hook => ({
  path: "/bin/sh",
  args: ["sh", "-c", `cat > ${dir}/${kind}.json; readlink /proc/self/ns/uts > ${dir}/${kind}.ns; echo "$HOOKVAR" > ${dir}/${kind}.env`],
  env: ["HOOKVAR=from-" + kind, "PATH=/usr/bin:/bin"],
});

describe.skipIf(!canRunContainers)("hooks", () => {
  test("each kind runs at its point, in its namespaces, with the state on stdin and its env", () => {
    const dir = join(fx.dir, "rec");
    mkdirSync(dir);
    const id = fx.id();
    const spec = fx.spec(id, (s) => {
      s.process!.args = ["sh", "-c", "cat /dev/shm/startContainer.json; echo; cat /dev/shm/startContainer.env"];
      s.hooks = {
        prestart: [recorder(dir, "prestart")],
        createRuntime: [recorder(dir, "createRuntime")],
        createContainer: [recorder(dir, "createContainer")],
        // runs in the container after start: its paths are the container's
        startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "cat > /dev/shm/startContainer.json; echo $HOOKVAR > /dev/shm/startContainer.env"], env: ["HOOKVAR=from-startContainer"] }],
        poststart: [recorder(dir, "poststart")],
        poststop: [recorder(dir, "poststop")],
      };
    });
    expect(fx.rt(["create", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
    const pid = fx.state(id).pid;
    const containerUts = readlinkSync(`/proc/${pid}/ns/uts`);
    for (const kind of ["prestart", "createRuntime", "createContainer"]) {
      const st = JSON.parse(readFileSync(join(dir, `${kind}.json`), "utf8"));
      // the pid as seen where the hook runs (runtime.md): the container's init is its pid namespace's 1
      expect([kind, st.id, st.status, st.pid]).toEqual([kind, id, "creating", kind === "createContainer" ? 1 : pid]);
      expect(readFileSync(join(dir, `${kind}.env`), "utf8")).toBe(`from-${kind}\n`);
    }
    // the runtime's namespaces for prestart/createRuntime, the container's for createContainer
    expect(readFileSync(join(dir, "prestart.ns"), "utf8").trim()).toBe(readlinkSync("/proc/self/ns/uts"));
    expect(readFileSync(join(dir, "createRuntime.ns"), "utf8").trim()).toBe(readlinkSync("/proc/self/ns/uts"));
    expect(readFileSync(join(dir, "createContainer.ns"), "utf8").trim()).toBe(containerUts);
    expect(existsSync(join(dir, "poststart.json"))).toBe(false);

    const started = Bun.spawnSync([join(import.meta.dir, "..", "..", "bin", "berth-runtime"), "--root", fx.root, "start", id], { stdout: "ignore", stderr: "pipe" });
    expect(started.exitCode).toBe(0);
    const post = JSON.parse(readFileSync(join(dir, "poststart.json"), "utf8"));
    expect([post.status, post.pid]).toEqual(["running", pid]);
    expect(existsSync(join(dir, "poststop.json"))).toBe(false);

    // wait for the program to finish, then delete: poststop runs after the container is gone
    for (let i = 0; i < 500 && fx.state(id).status !== "stopped"; i++) Bun.sleepSync(10);
    expect(fx.rt(["delete", id]).code).toBe(0);
    const stop = JSON.parse(readFileSync(join(dir, "poststop.json"), "utf8"));
    expect([stop.id, stop.status]).toEqual([id, "stopped"]);
    expect(existsSync(join(fx.root, id))).toBe(false);
  });

  test("startContainer hooks see the state and run before the program, inside the container", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.args = ["sh", "-c", "cat /dev/shm/seen"];
      s.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "grep -o '\"pid\":[0-9]*,\"status\":\"created\"' > /dev/shm/seen; hostname >> /dev/shm/seen"] }] };
    }));
    // the pid as the container sees it (runtime.md): its init is 1 in its pid namespace
    expect(r.stdout).toBe(`"pid":1,"status":"created"\n${id.slice(0, 60)}\n`);
  });

  test("argv[0] is the hook's own (docker re-execs itself as libnetwork-setkey this way)", () => {
    const dir = join(fx.dir, "argv0");
    mkdirSync(dir);
    const id = fx.id();
    // busybox picks its applet by argv[0]: "touch", not "busybox"
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.args = ["true"];
      s.hooks = { prestart: [{ path: "/bin/busybox", args: ["touch", join(dir, "made-by-argv0")] }] };
    }));
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "made-by-argv0"))).toBe(true);
  });

  test("a hook past its timeout is killed and create fails, leaving nothing", () => {
    const id = fx.id();
    const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => {
      s.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
    })), id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("hooks.createRuntime[0]: /bin/sleep timed out after 1 s");
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
  });

  test("a hook past its timeout is killed with everything it started (its process group)", async () => {
    const id = fx.id();
    const pidFile = join(fx.dir, `${id}.child`);
    const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => {
      s.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `sleep 30 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; wait`], timeout: 1 }] };
    })), id]);
    expect(r.stderr.trim()).toBe("hooks.createRuntime[0]: /bin/sh timed out after 1 s");
    const child = Number(readFileSync(pidFile, "utf8"));
    // SIGKILLed as create returns; under the v2 VM's emulation its exit may come a moment later
    expect(await until(() => dead(child), 10_000)).toBe(true);
    expect(leaksOf(fx.root, id)).toEqual([]);
  });

  test("a startContainer hook past its timeout is killed with what it started, in the container's own pid namespace or not", async () => {
    const out = join(fx.dir, "hook-out");
    mkdirSync(out, { recursive: true });
    const id = fx.id();
    const spec = fx.spec(id, (s) => {
      // the host's pid namespace: nothing dies with the container's init but what berth kills
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "pid");
      s.mounts!.push({ destination: "/out", type: "bind", source: out, options: ["rbind", "rw"] });
      s.process!.args = ["true"];
      s.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "sleep 30 & echo $! > /out/child.tmp; mv /out/child.tmp /out/child; wait"], timeout: 1 }] };
    });
    expect(fx.rt(["create", "--bundle", fx.bundle(id, spec), id]).code).toBe(0);
    expect(fx.rt(["start", id]).code).toBe(0);
    expect(await until(() => fx.state(id).status === "stopped", 10_000)).toBe(true);
    expect(dead(Number(readFileSync(join(out, "child"), "utf8")))).toBe(true);
    expect(fx.rt(["delete", "--force", id]).code).toBe(0);
  });

  test("hooks run where runc runs them: prestart and createRuntime in the bundle, createContainer in the root filesystem — never the host's /", () => {
    const dir = join(fx.dir, "cwd");
    mkdirSync(dir);
    const id = fx.id();
    const pwd = (kind: string): Hook => ({ path: "/bin/sh", args: ["sh", "-c", `pwd > ${dir}/${kind}`] });
    const spec = fx.spec(id, (s) => {
      s.process!.args = ["true"];
      s.hooks = { prestart: [pwd("prestart")], createRuntime: [pwd("createRuntime")], createContainer: [pwd("createContainer")] };
    });
    const bundle = fx.bundle(id, spec);
    expect(fx.runSpec(id, spec).code).toBe(0);
    expect(readFileSync(join(dir, "prestart"), "utf8")).toBe(`${bundle}\n`);
    expect(readFileSync(join(dir, "createRuntime"), "utf8")).toBe(`${bundle}\n`);
    expect(readFileSync(join(dir, "createContainer"), "utf8")).toBe(`${spec.root!.path}\n`);
  });

  test("startContainer hooks run under the container's seccomp filter, as runc's do (no_new_privileges: the late filter)", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.noNewPrivileges = true;
      s.process!.args = ["cat", "/dev/shm/hook"];
      s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
      s.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /dev/shm/made-by-hook 2>/dev/null; echo mkdir status $? > /dev/shm/hook"] }] };
    }));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "mkdir status 1\n" });
  });

  test("a failing startContainer hook stops the program from running; failing poststart and poststop hooks are warnings", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.args = ["echo", "program ran"];
      s.hooks = { startContainer: [{ path: "/bin/false" }] };
    }));
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("startContainer hook /bin/false exited with status 1");

    const id2 = fx.id();
    const ok = fx.runSpec(id2, fx.spec(id2, (s) => {
      s.process!.args = ["echo", "program ran"];
      s.hooks = {
        // the second poststart hook still runs after the first fails (runtime-spec)
        poststart: [{ path: "/bin/false" }, { path: "/bin/touch", args: ["touch", join(fx.dir, `${id2}.second-poststart`)] }],
        poststop: [{ path: "/bin/sh", args: ["sh", "-c", "echo cleanup failed >&2; exit 2"] }],
      };
    }));
    expect(existsSync(join(fx.dir, `${id2}.second-poststart`))).toBe(true);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("program ran\n");
    expect(ok.stderr).toContain("warning: hooks.poststart[0]: /bin/false exited with status 1");
    expect(ok.stderr).toContain("warning: hooks.poststop[0]: /bin/sh exited with status 2: cleanup failed");
    expect(existsSync(join(fx.root, id2))).toBe(false);
  });
});
