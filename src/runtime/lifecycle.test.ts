/**
 * The lifecycle as containerd and podman drive it, on the real kernel: create leaves an
 * init blocked before the user's program, start lets it run, state/kill/delete answer
 * with runc's words and exit codes, and nothing is left behind.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canRunContainers, cgroupDirsFor, REPO, RuntimeFixture, until } from "../../test/runtime-harness.ts";
import { detectHostCgroups } from "../cgroups/layout.ts";
import { deleteStopped } from "./lifecycle.ts";

// each test execs the runtime several times; in the cgroup v2 VM that takes seconds
setDefaultTimeout(30_000);

const fx = new RuntimeFixture("life");
afterAll(() => fx.cleanup(), 60_000);

describe.skipIf(!canRunContainers)("berth-runtime lifecycle", () => {
  test("run: the program is PID 1 in its own namespaces and its exit code comes back", () => {
    const id = fx.id();
    const r = fx.runSpec(id, fx.spec(id, (s) => {
      s.process!.args = ["sh", "-c", "echo pid=$$; hostname; exit 7"];
    }));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`pid=1\n${id}\n`);
    expect(r.code).toBe(7);
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
  });

  test("a .env or bunfig.toml in the caller's directory changes nothing (engines run the runtime in the bundle)", () => {
    // Bun reads both from the working directory by default: a bunfig.toml `preload` would
    // run its code as root inside berth-runtime, a .env would set BERTH_INIT.
    const id = fx.id();
    const bundle = fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["echo", "ran"])));
    const marker = join(bundle, "preloaded");
    writeFileSync(join(bundle, ".env"), "BERTH_INIT=/nonexistent/berth-init\n");
    writeFileSync(join(bundle, "preload.js"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
    writeFileSync(join(bundle, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    const r = fx.rt(["run", "--bundle", bundle, id], { cwd: bundle });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ran\n");
    expect(r.code).toBe(0);
    expect(Bun.spawnSync([join(REPO, "bin", "berth"), "--version"], { cwd: bundle }).exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  const exe = join(REPO, "native", "build", "bin", "berth-runtime");
  // skipped only when run from the sources, with no executable to move
  test.skipIf(!existsSync(exe))("the compiled executable runs the berth-init beside it, wherever the checkout is", () => {
    // a copy of the checkout's build elsewhere, its helper a wrapper that leaves a mark
    const tree = join(fx.dir, "moved");
    mkdirSync(join(tree, "native", "build", "bin"), { recursive: true });
    copyFileSync(exe, join(tree, "native", "build", "bin", "berth-runtime"));
    chmodSync(join(tree, "native", "build", "bin", "berth-runtime"), 0o755);
    // an executable finds the libc binding beside it too (the next test): a copy of the build has it
    copyFileSync(join(REPO, "native", "build", "libc-binding.node"), join(tree, "native", "build", "libc-binding.node"));
    const mark = join(tree, "helper-used");
    writeFileSync(join(tree, "native", "build", "berth-init"), `#!/bin/sh\necho used > ${mark}\nexec ${join(REPO, "native", "build", "berth-init")} "$@"\n`, { mode: 0o755 });
    const id = fx.id();
    const p = Bun.spawnSync([join(tree, "native", "build", "bin", "berth-runtime"), "--root", fx.root, "run", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["true"]))), id], { stdin: "ignore" });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    expect(readFileSync(mark, "utf8")).toBe("used\n");
  });

  test.skipIf(!existsSync(exe))("the compiled executable loads the libc binding beside it, wherever the checkout is", () => {
    const tree = join(fx.dir, "moved-binding");
    mkdirSync(join(tree, "native", "build", "bin"), { recursive: true });
    copyFileSync(exe, join(tree, "native", "build", "bin", "berth-runtime"));
    chmodSync(join(tree, "native", "build", "bin", "berth-runtime"), 0o755);
    copyFileSync(join(REPO, "native", "build", "libc-binding.node"), join(tree, "native", "build", "libc-binding.node"));
    // glibc's loader names each shared object it maps ("generating link map") when LD_DEBUG=files
    const p = Bun.spawnSync([join(tree, "native", "build", "bin", "berth-runtime"), "--version"], { env: { ...process.env, LD_DEBUG: "files" }, stdin: "ignore" });
    expect(p.exitCode).toBe(0);
    const loaded = p.stderr.toString().split("\n").filter((l) => l.includes("libc-binding.node") && l.includes("generating link map"));
    expect(loaded.map((l) => /file=(\S+)/.exec(l)![1])).toEqual([join(tree, "native", "build", "libc-binding.node")]);
  });

  test("start of a program that exits at once always succeeds (the init may be gone before start looks)", () => {
    // ctr run --rm … true, podman run … true: the init writes exec.fifo's byte, execs
    // /bin/true and exits, possibly before start checks on it; 3 in 80 starts failed so.
    const id = fx.id();
    const bundle = fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["/bin/true"])));
    const failures: string[] = [];
    // 60 rounds take ~5 s on the host; the cgroup v2 VM execs ten times slower
    const rounds = detectHostCgroups().layout.mode === "v2" ? 15 : 60;
    for (let i = 0; i < rounds; i++) {
      const c = fx.rt(["create", "--bundle", bundle, id]);
      expect(c.code).toBe(0);
      const s = fx.rt(["start", id]);
      if (s.code !== 0) failures.push(s.stderr.trim());
      expect(fx.rt(["delete", "--force", id]).code).toBe(0);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  test("create waits before the program; start runs it; the pid file has no newline", async () => {
    const id = fx.id();
    const proof = join(fx.dir, `proof-${id}`);
    mkdirSync(proof);
    const spec = fx.spec(id, (s) => {
      s.process!.args = ["sh", "-c", "echo ran > /proof/ran; sleep 30"];
      s.mounts!.push({ destination: "/proof", type: "bind", source: proof, options: ["rbind", "rw"] });
    });
    const pidFile = join(fx.dir, `${id}.pid`);
    const c = fx.rt(["create", "--bundle", fx.bundle(id, spec), "--pid-file", pidFile, id]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const pidText = readFileSync(pidFile, "utf8");
    expect(pidText).toMatch(/^\d+$/);
    const pid = Number(pidText);
    const st = fx.state(id);
    expect(st).toMatchObject({ ociVersion: "1.0.2-dev", id, pid, status: "created", owner: "" });
    expect(st.bundle).toBe(join(fx.dir, `bundle-${id}`));
    expect(Date.parse(st.created as string)).toBeGreaterThan(0);
    // in its cgroup before start, and the program has not run
    for (const dir of cgroupDirsFor(id)) {
      expect(readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
    }
    expect(existsSync(join(proof, "ran"))).toBe(false);
    // no berth process stays behind as the init's parent: it went to the nearest subreaper (or PID 1)
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    expect(readFileSync(`/proc/${ppid}/comm`, "utf8").trim()).not.toMatch(/berth|bun/);

    expect(fx.rt(["start", id]).code).toBe(0);
    expect(await until(() => existsSync(join(proof, "ran")))).toBe(true);
    expect(fx.state(id).status).toBe("running");
    expect(fx.rt(["start", id]).stderr).toContain("cannot start an already running container");

    expect(fx.rt(["delete", id])).toMatchObject({ code: 1 });
    expect(fx.rt(["delete", id]).stderr).toContain(`cannot delete container ${id} that is not stopped: running`);
    expect(fx.rt(["kill", id, "KILL"]).code).toBe(0);
    expect(await until(() => fx.state(id).status === "stopped")).toBe(true);
    expect(fx.state(id).pid).toBe(0);

    const k = fx.rt(["kill", id, "TERM"]);
    expect(k.code).toBe(1);
    expect(k.stderr).toContain("container not running");
    expect(fx.rt(["kill", "--all", id, "9"]).code).toBe(0);

    expect(fx.rt(["delete", id]).code).toBe(0);
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
  });

  test("unknown ids: runc's words and exit codes", () => {
    for (const verb of [["kill", "nope-x"], ["delete", "nope-x"], ["state", "nope-x"], ["start", "nope-x"]]) {
      const r = fx.rt(verb);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("container nope-x does not exist");
    }
    expect(fx.rt(["delete", "--force", "nope-x"]).code).toBe(0);
  });

  test("delete of a created container kills its waiting init", async () => {
    const id = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id)), id]).code).toBe(0);
    const pid = fx.state(id).pid;
    expect(fx.rt(["delete", id]).code).toBe(0);
    expect(await until(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"))).toBe(true);
    expect(cgroupDirsFor(id)).toEqual([]);
  });

  test("deleteStopped (the engine's in-process delete): a live container is left as it was; a stopped one goes with its cgroups", async () => {
    const id = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => (s.process!.args = ["sh", "-c", "exit 0"]))), id]).code).toBe(0);
    expect(deleteStopped({ root: fx.root, id })).toBe(false);
    expect(fx.state(id).status).toBe("created");
    expect(cgroupDirsFor(id)).not.toEqual([]);
    expect(fx.rt(["start", id]).code).toBe(0);
    expect(await until(() => fx.state(id).status === "stopped")).toBe(true);
    expect(await until(() => deleteStopped({ root: fx.root, id }))).toBe(true);
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
    expect(deleteStopped({ root: fx.root, id: "nope-x" })).toBe(true);
  });

  test("a create killed half-way: delete --force still leaves nothing", async () => {
    for (let round = 0; round < 3; round++) {
      const id = fx.id();
      const b = fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["sleep", "60"]; }));
      const p = Bun.spawn([join(import.meta.dir, "../../bin/berth-runtime"), "--root", fx.root, "create", "--bundle", b, id], { stdio: ["ignore", "ignore", "ignore"] });
      // kill it at a different point each round: as soon as its state directory exists, a bit later, later still
      await until(() => existsSync(join(fx.root, id)), 5000);
      if (round > 0) await Bun.sleep(round * 15);
      p.kill("SIGKILL");
      await p.exited;
      expect(fx.rt(["delete", "--force", id]).code).toBe(0);
      expect(existsSync(join(fx.root, id))).toBe(false);
      expect(await until(() => cgroupDirsFor(id).length === 0)).toBe(true);
    }
  });

  test("two creates of one id: exactly one wins", async () => {
    const id = fx.id();
    const b = fx.bundle(id, fx.spec(id));
    const spawn = () => Bun.spawn([join(import.meta.dir, "../../bin/berth-runtime"), "--root", fx.root, "create", "--bundle", b, id], { stderr: "pipe" });
    const [p1, p2] = [spawn(), spawn()];
    const codes = [await p1.exited, await p2.exited].sort();
    expect(codes).toEqual([0, 1]);
    expect(fx.state(id).status).toBe("created");
    expect(fx.rt(["delete", "--force", id]).code).toBe(0);
  });

  test("list shows containers in runc's columns and as JSON", () => {
    const id = fx.id();
    expect(fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id)), id]).code).toBe(0);
    const table = fx.rt(["list"]).stdout.split("\n");
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table.some((l) => l.startsWith(id) && l.includes("created"))).toBe(true);
    const json = JSON.parse(fx.rt(["list", "--format", "json"]).stdout) as { id: string; status: string }[];
    expect(json.find((s) => s.id === id)?.status).toBe("created");
    expect(fx.rt(["list", "-q"]).stdout.split("\n")).toContain(id);
    fx.rt(["delete", "--force", id]);
  });

  test("--log-format json: a failed create leaves exactly one error record with an RFC 3339 time", () => {
    const id = fx.id();
    const log = join(fx.dir, `${id}.log`);
    const r = fx.rt(["create", "--bundle", fx.bundle(id, fx.spec(id, (s) => { s.process!.args = ["/no/such/program"]; })), id], {
      globals: ["--log", log, "--log-format=json"],
    });
    expect(r.code).toBe(1);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec.level).toBe("error");
    expect(rec.msg).toContain('process.args[0]: "/no/such/program": executable file not found');
    expect(new Date(rec.time).toISOString()).toBe(rec.time);
    expect(existsSync(join(fx.root, id))).toBe(false);
    expect(cgroupDirsFor(id)).toEqual([]);
  });
});
