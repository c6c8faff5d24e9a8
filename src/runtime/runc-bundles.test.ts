/**
 * Bundles written by other tools, which runc runs: berth-runtime must run them too
 * (issue 19). Each case runs real containers; where runc runs the bundle the same
 * bundle goes through runc as well, and what a user would check is compared.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../spec/runtime-spec.ts";
import { canRunContainers, cgroupDirsFor, RUNTIME, RuntimeFixture, until, type Result, copySharedRootfs } from "../../test/runtime-harness.ts";

// each test execs the runtime several times; in the cgroup v2 VM that takes seconds
setDefaultTimeout(60_000);

const fx = new RuntimeFixture("runcb");
afterAll(() => fx.cleanup(), 60_000);

/** Nothing of the container is left: no state directory, no cgroup. */
function expectGone(id: string): void {
  expect(existsSync(join(fx.root, id))).toBe(false);
  expect(cgroupDirsFor(id)).toEqual([]);
}

/** The optional fields (shared:N, master:N, unbindable) of the mount on "/" in a mountinfo text. */
function rootPropagation(mountinfo: string): string[] {
  const line = mountinfo.split("\n").findLast((l) => l.split(" ")[4] === "/");
  if (!line) throw new Error(`no / in mountinfo:\n${mountinfo}`);
  return line.split(" - ")[0]!.split(" ").slice(6);
}

describe.skipIf(!canRunContainers)("root.path \".\": a bundle that is its own root filesystem", () => {
  // config.json inside the rootfs, as several tools lay a bundle out
  const bundle = join(fx.dir, "self-root");
  copySharedRootfs(bundle);

  const expected: Record<string, (fields: string[]) => boolean> = {
    private: (f) => !f.some((x) => x.startsWith("shared:") || x === "unbindable"),
    rprivate: (f) => !f.some((x) => x.startsWith("shared:") || x === "unbindable"),
    slave: (f) => !f.some((x) => x.startsWith("shared:") || x === "unbindable"),
    rslave: (f) => !f.some((x) => x.startsWith("shared:") || x === "unbindable"),
    shared: (f) => f.some((x) => x.startsWith("shared:")),
    rshared: (f) => f.some((x) => x.startsWith("shared:")),
    unbindable: (f) => f.includes("unbindable"),
    runbindable: (f) => f.includes("unbindable"),
  };
  for (const [propagation, holds] of Object.entries(expected)) {
    test(`linux.rootfsPropagation ${propagation}: runs, and / has that propagation inside`, () => {
      const id = fx.id("self");
      const spec = fx.spec(id, (s) => {
        s.root = { path: ".", readonly: true };
        s.linux!.rootfsPropagation = propagation as never;
        s.process!.args = ["cat", "/proc/self/mountinfo"];
      });
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
      const r = fx.rt(["run", "--bundle", bundle, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const fields = rootPropagation(r.stdout);
      expect({ propagation, fields, holds: holds(fields) }).toEqual({ propagation, fields, holds: true });
      expectGone(id);
    });
  }
});

describe.skipIf(!canRunContainers)("a config without process", () => {
  const noProcess = (id: string) => fx.bundle(id, fx.spec(id, (s) => delete s.process));

  test("create succeeds; start fails naming process, and the container stays created until delete", () => {
    const id = fx.id("noproc");
    const c = fx.rt(["create", "--bundle", noProcess(id), id]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const st = fx.state(id);
    expect(st.status).toBe("created");
    expect(st.pid).toBeGreaterThan(0);
    const s = fx.rt(["start", id]);
    expect(s.code).toBe(1);
    expect(s.stderr.trim().split("\n")).toEqual(["process: config.json has no process, so there is nothing to start; add process to config.json, then delete and create the container again"]);
    expect(fx.state(id).status).toBe("created");
    expect(fx.rt(["delete", id]).code).toBe(0);
    expectGone(id);
  });

  test("run fails the same way and leaves nothing", () => {
    const id = fx.id("noproc");
    const r = fx.rt(["run", "--bundle", noProcess(id), id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("process: config.json has no process");
    expectGone(id);
  });
});

describe.skipIf(!canRunContainers)("hostname in a uts namespace joined by path", () => {
  /** A uts namespace of its own, held by a sleeping process (killed by the test). */
  function utsHolder(): Bun.Subprocess {
    return Bun.spawn(["unshare", "--uts", "sleep", "600"], { stdout: "ignore", stderr: "inherit" });
  }
  async function nsPath(holder: Bun.Subprocess): Promise<string> {
    // unshare execs sleep once it is in the new namespace: wait until the holder's uts is not ours
    const path = `/proc/${holder.pid}/ns/uts`;
    const ours = readlinkSync("/proc/self/ns/uts");
    await until(() => readlinkSync(path) !== ours);
    return path;
  }
  const hostnameIn = (pid: number) => Bun.spawnSync(["nsenter", "-t", String(pid), "-u", "hostname"]).stdout.toString().trim();

  test("is set there, as runc sets it", async () => {
    const holder = utsHolder();
    try {
      const path = await nsPath(holder);
      for (const [who, run] of [["berth", fx.rt.bind(fx)], ["runc", fx.runc.bind(fx)]] as const) {
        const id = fx.id("uts");
        const name = `${who}-${id}`.slice(0, 60);
        const spec = fx.spec(id, (s) => {
          s.hostname = name;
          s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "uts" ? { type: "uts", path } : n));
          s.process!.args = ["hostname"];
        });
        const r = run(["run", "--bundle", fx.bundle(id, spec), id]);
        expect({ who, code: r.code, stdout: r.stdout.trim() }).toEqual({ who, code: 0, stdout: name });
        // the joined namespace itself was renamed
        expect(hostnameIn(holder.pid)).toBe(name);
      }
    } finally {
      holder.kill(9);
      await holder.exited;
    }
  });

  test("is refused when the path is the runtime's own uts namespace (it would rename the host)", () => {
    const id = fx.id("uts");
    const before = Bun.spawnSync(["hostname"]).stdout.toString();
    const spec = fx.spec(id, (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === "uts" ? { type: "uts", path: "/proc/self/ns/uts" } : n));
    });
    const r = fx.rt(["create", "--bundle", fx.bundle(id, spec), id]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([`hostname: cannot be set in the uts namespace /proc/self/ns/uts: it is berth-runtime's own, so the host would be renamed; join another or drop the path`]);
    expect(Bun.spawnSync(["hostname"]).stdout.toString()).toBe(before);
    expectGone(id);
  });
});

describe.skipIf(!canRunContainers)("unknown properties and annotation keys (config.md: extensibility)", () => {
  /** An unknown property on every object of the default spec, unknown annotations, and platform sections for other OSes. */
  function everywhere(s: Spec): void {
    const x = { "org.example.unknown": { nested: [1, null, "s"] } };
    const add = (o: object | undefined) => o && Object.assign(o, x);
    add(s);
    add(s.root);
    add(s.process);
    add(s.process!.user);
    add(s.process!.capabilities);
    for (const r of s.process!.rlimits ?? []) add(r);
    add(s.linux);
    for (const n of s.linux!.namespaces ?? []) add(n);
    for (const m of s.mounts ?? []) add(m);
    s.linux!.resources = { ...x, pids: { limit: 100, ...x }, memory: { limit: 64 << 20, ...x }, cpu: { shares: 512, ...x }, devices: [{ allow: false, access: "rwm", ...x }] } as never;
    s.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", ...x, syscalls: [{ names: ["getcwd"], action: "SCMP_ACT_ALLOW", ...x, args: [{ index: 0, value: 0, op: "SCMP_CMP_GE", ...x }] }] } as never;
    s.hooks = { ...x, prestart: [{ path: "/bin/true", ...x }] } as never;
    s.annotations = { "org.example.unknown": "v", "io.kubernetes.cri.unknown": "w", "run.oci.unknown": "y" };
    Object.assign(s, { windows: { layerFolders: [] }, vm: { kernel: { path: "/vmlinuz" } }, solaris: {}, zos: {} });
  }

  test("runs under berth-runtime as under runc, the annotations in its state", () => {
    for (const [who, rt] of [["berth", fx.rt.bind(fx)], ["runc", fx.runc.bind(fx)]] as const) {
      const id = fx.id("unknown");
      const spec = fx.spec(id, (s) => {
        everywhere(s);
        s.process!.args = ["sh", "-c", "echo ok"];
      });
      const bundle = fx.bundle(id, spec);
      const c = rt(["create", "--bundle", bundle, id]);
      expect({ who, code: c.code, stderr: c.stderr }).toEqual({ who, code: 0, stderr: "" });
      const st = JSON.parse(rt(["state", id]).stdout);
      expect(st.annotations).toEqual(spec.annotations);
      expect(rt(["delete", "--force", id]).code).toBe(0);
      if (who === "berth") expectGone(id);
    }
  });
});

describe.skipIf(!canRunContainers)("no mount namespace in linux.namespaces: the runtime's is inherited", () => {
  /**
   * berth-runtime run inside a mount namespace of the test's own (all mounts private), so
   * that namespace is "the runtime's" and no other test's mounts come and go in it: its
   * mountinfo is compared whole. runc is not run here: 1.1 makes the runtime's / rslave
   * (prepareRoot) and leaves its mounts behind, which on a shared host would reach others.
   */
  function inOwnMountNamespace(script: string, env: Record<string, string>): Result {
    const p = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script], { env: { ...process.env, ...env, RT: `${RUNTIME} --root ${fx.root}` }, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode ?? 128, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  }
  /**
   * mountinfo as it was, less the mounts whose mount point someone else removed meanwhile
   * (the kernel drops a mount in every namespace when its directory is deleted: other
   * tests' containers come and go on this host).
   */
  function stillThere(mountinfo: string): string {
    return mountinfo.split("\n").filter((l) => !l || existsSync(l.split(" ")[4]!.replace(/\\040/g, " "))).join("\n");
  }
  const noMountNs = (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== "mount"));
  /** A private copy of the busybox rootfs: its mounts are made in the (test's) runtime mount namespace. */
  function ownRootfs(id: string): string {
    const dir = join(fx.dir, `rootfs-${id}`);
    copySharedRootfs(dir);
    return dir;
  }

  test("the config's mounts are made under the root, the init chroots, exec enters the same root, and delete leaves mountinfo exactly as before", () => {
    const id = fx.id("nomnt");
    const rootfs = ownRootfs(id);
    const spec = fx.spec(id, (s) => {
      noMountNs(s);
      s.root = { path: rootfs, readonly: true };
      s.process!.args = ["sleep", "600"];
    });
    const out = join(fx.dir, `out-${id}`);
    mkdirSync(out);
    const r = inOwnMountNamespace(`
      cat /proc/self/mountinfo > "$OUT/before"
      readlink /proc/self/ns/mnt > "$OUT/ns"
      $RT run --detach --bundle "$BUNDLE" "$ID"
      cat /proc/self/mountinfo > "$OUT/during"
      $RT exec "$ID" sh -c 'readlink /proc/self/ns/mnt; readlink /proc/1/root; ls /dev/null /proc/self/status; touch /x 2>&1 || true' > "$OUT/exec"
      $RT delete --force "$ID"
      cat /proc/self/mountinfo > "$OUT/after"
    `, { OUT: out, BUNDLE: fx.bundle(id, spec), ID: id });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const read = (f: string) => readFileSync(join(out, f), "utf8");
    // the container's mount namespace is the runtime's; its / is the rootfs, read-only
    expect(read("exec").split("\n").slice(0, 4)).toEqual([read("ns").trim(), "/", "/dev/null", "/proc/self/status"]);
    expect(read("exec")).toContain("Read-only file system");
    // while it ran, the spec's mounts were in the runtime's table, below the root only
    const added = read("during").split("\n").filter((l) => l && !read("before").includes(`${l}\n`)).map((l) => l.split(" ")[4]!);
    expect(added).toContain(`${rootfs}/proc`);
    expect(added).toContain(`${rootfs}/dev`);
    for (const m of added) expect(m === rootfs || m.startsWith(`${rootfs}/`)).toBe(true);
    expect(read("after")).toBe(stillThere(read("before")));
    expectGone(id);
  });

  test("a create that fails half-way leaves mountinfo exactly as before too", () => {
    const id = fx.id("nomnt");
    const spec = fx.spec(id, (s) => {
      noMountNs(s);
      s.root = { path: ownRootfs(id), readonly: true };
      s.mounts!.push({ destination: "/x", type: "nosuchfs", source: "none" });
    });
    const out = join(fx.dir, `out-${id}`);
    mkdirSync(out);
    const r = inOwnMountNamespace(`
      cat /proc/self/mountinfo > "$OUT/before"
      $RT create --bundle "$BUNDLE" "$ID" 2> "$OUT/err" || echo $? > "$OUT/code"
      cat /proc/self/mountinfo > "$OUT/after"
    `, { OUT: out, BUNDLE: fx.bundle(id, spec), ID: id });
    expect(r.code).toBe(0);
    const read = (f: string) => readFileSync(join(out, f), "utf8");
    expect(read("code").trim()).toBe("1");
    expect(read("err").trim()).toBe("mounts[7] (/x): mount nosuchfs on /x: no such device");
    expect(read("after")).toBe(stillThere(read("before")));
    expectGone(id);
  });
});
