/**
 * A `run` or `create` killed (SIGKILL) before it wrote its record leaves nothing a user
 * can see: no volume it made (anonymous, or a name it used first; a volume that was there
 * before stays, as does one another container uses now), the name free again, no
 * directory under the root or run root, no monitor, no cgroup. A run of berth-runtime is
 * cleaned by its head start's monitor (the exit command); another --runtime's run and a
 * `create`, which have none, by the next command that meets the leftover: a claim of its
 * name, container prune, volume prune — never while the create still runs.
 *
 * The create is held at a known step: after it made its volumes, in the copy-up of a new
 * `--opt` volume, which mounts it under the volume's holders lock — held here, as another
 * berth mounting that volume would hold it.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH, canRunContainers, EngineFixture, until } from "../../../test/engine-harness.ts";
import { lockPath } from "../../sys/lock-file.ts";

setDefaultTimeout(300_000);

const fx = canRunContainers ? new EngineFixture("killed") : (undefined as unknown as EngineFixture);
afterAll(() => fx?.cleanup());

let serial = 0;

/** Fresh volume names for one case: `kept` exists before the run, `made` is first used by it, `held` is the --opt volume it stops in. */
function volumeNames() {
  const tag = `${process.pid}-${++serial}`;
  return { kept: `kept-${tag}`, made: `made-${tag}`, held: `held-${tag}` };
}

const volumes = () => fx.berth(["volume", "ls", "-q"]).stdout.split("\n").filter(Boolean).sort();
/** The container's directories under the root and the run root that are there. */
const containerDirs = (id: string) => [join(fx.root, "containers", id), join(fx.runroot, "containers", id)].filter((d) => existsSync(d));

/**
 * `berth VERB … --name NAME` with an anonymous volume, `made` and `kept`, stopped in
 * `held`'s copy-up once its volumes exist: the create's id (its directory, no record).
 * Returns a kill for it, which lets go of the lock; a test that fails before it lets go
 * with `release`. `root`: the fixture's rootfs, or an image.
 */
async function holdBeforeRecord(verb: string[], name: string, v: ReturnType<typeof volumeNames>, root = ["--rootfs", fx.rootfs]) {
  mkdirSync(join(fx.runroot, "volumes"), { recursive: true, mode: 0o700 });
  const lock = lockPath(join(fx.runroot, "volumes", `${v.held}.lock`), { create: true });
  let held = true;
  const release = () => {
    if (held) lock.release();
    held = false;
  };
  const before = new Set(fx.records());
  const volumesBefore = volumes();
  const p = Bun.spawn([BERTH, ...verb, "--name", name, "-v", "/anon", "-v", `${v.made}:/made`, "-v", `${v.kept}:/kept`,
    "--mount", `type=volume,src=${v.held},dst=/held,volume-opt=type=tmpfs,volume-opt=device=tmpfs`,
    "--network", "none", "--cgroup-parent", fx.cgroupParent, ...root, "true"], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: fx.env() });
  try {
    // made, held and one anonymous volume: every volume the run makes exists, its copy-up waits for the lock
    expect(await until(() => volumes().length === volumesBefore.length + 3, 60_000)).toBe(true);
    const ids = fx.records().filter((id) => !before.has(id));
    expect(ids).toHaveLength(1);
    const id = ids[0]!;
    expect(existsSync(join(fx.root, "containers", id, "container.json"))).toBe(false);
    return {
      id, volumesBefore,
      /** SIGKILL it, then let go of the lock it waits for (a failed test's finally lets go too) */
      kill: async () => {
        try {
          p.kill("SIGKILL");
          expect(await p.exited).not.toBe(0);
        } finally {
          release();
        }
      },
      release,
    };
  } catch (err) {
    p.kill("SIGKILL");
    release();
    // where it stopped instead: what it said, what it had made
    console.error(`${verb.join(" ")}: ${await new Response(p.stderr).text()}; volumes ${volumes().join(" ")}; containers ${fx.records().join(" ")}`);
    throw err;
  }
}

/** What a user checks after the dead create was cleaned: the volumes there before it (and `also`), none of its directories, no monitor or cgroup. */
async function expectNothingLeft(held: { id: string; volumesBefore: string[] }, also: string[] = []) {
  expect(volumes()).toEqual([...held.volumesBefore, ...also].sort());
  expect(containerDirs(held.id)).toEqual([]);
  expect(await until(() => fx.monitors().length === 0, 60_000)).toBe(true);
  expect(fx.leftoverCgroups()).toEqual([]);
}

/** The volumes container `id` mounts (its record's). */
const volumesOf = (id: string): string[] => (fx.inspect(id).Mounts as { Type: string; Name?: string }[]).filter((m) => m.Type === "volume").map((m) => m.Name!);

describe.skipIf(!canRunContainers)("a run or create killed before its record leaves nothing", () => {
  test("run (berth-runtime: a head start): its monitor's exit command removes the volumes it made — not one there before, nor one another container uses now — and its name is free", async () => {
    const v = volumeNames();
    const name = `headstart-${process.pid}`;
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    const held = await holdBeforeRecord(["run"], name, v);
    let user = "";
    try {
      // the monitor and the runtime's create wait for the spec meanwhile
      expect(fx.monitors().length).toBeGreaterThan(0);
      // another container takes up `made` while the run is held: it stays
      const c = fx.berth(["create", "-v", `${v.made}:/m`, "--network", "none", "--rootfs", fx.rootfs, "true"]);
      expect(c.code).toBe(0);
      user = c.stdout.trim();
      await held.kill();
    } finally {
      held.release();
    }
    const gone = await until(() => !existsSync(join(fx.root, "containers", held.id)), 60_000);
    // should it stay, what its monitor and runtime said tells why
    if (!gone) for (const f of ["monitor.log", "runtime.log"]) console.error(f, existsSync(join(fx.runroot, "containers", held.id, f)) && readFileSync(join(fx.runroot, "containers", held.id, f), "utf8"));
    expect(gone).toBe(true);
    expect(volumes()).toEqual([...held.volumesBefore, v.made].sort());
    expect(fx.berth(["rm", user]).code).toBe(0);
    await expectNothingLeft(held, [v.made]);
    expect(fx.run(["--rm", "--name", name], ["true"]).code).toBe(0);
    expect(fx.berth(["volume", "rm", v.kept, v.made]).code).toBe(0);
  });

  test.skipIf(!Bun.which("runc"))("run --runtime runc (no head start): the leftover stays until a run of its name, which removes it — volumes it made, directories — and takes the name", async () => {
    const v = volumeNames();
    const name = `runc-${process.pid}`;
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    const held = await holdBeforeRecord(["run", "--runtime", "runc"], name, v);
    try {
      // nothing watches a run without a head start
      expect(fx.monitors()).toEqual([]);
      await held.kill();
    } finally {
      held.release();
    }
    expect(existsSync(join(fx.root, "containers", held.id))).toBe(true);
    const again = fx.run(["--rm", "--runtime", "runc", "--name", name], ["echo", "again"]);
    expect(again).toMatchObject({ code: 0, stdout: "again\n" });
    await expectNothingLeft(held);
    expect(fx.berth(["volume", "rm", v.kept]).code).toBe(0);
  });

  test("create: while it runs, neither container prune nor a run of its name touches it; killed, container prune removes it and the volumes it made", async () => {
    const v = volumeNames();
    const name = `create-${process.pid}`;
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    const held = await holdBeforeRecord(["create"], name, v);
    try {
      expect(fx.berth(["container", "prune", "-f"]).code).toBe(0);
      const taken = fx.run(["--rm", "--name", name], ["true"]);
      expect(taken.code).toBe(125);
      expect(taken.stderr).toContain(`is already in use by container "${held.id}"`);
      expect(existsSync(join(fx.root, "containers", held.id))).toBe(true);
      expect(volumes()).toHaveLength(held.volumesBefore.length + 3);
      await held.kill();
    } finally {
      held.release();
    }
    expect(fx.berth(["container", "prune", "-f"]).code).toBe(0);
    await expectNothingLeft(held);
    expect(fx.run(["--rm", "--name", name], ["true"]).code).toBe(0);
    expect(fx.berth(["volume", "rm", v.kept]).code).toBe(0);
  });

  test("create of an image killed: its snapshot goes with it too (a create of its name) — nothing under the root or run root names it", async () => {
    const image = `killed-image-${process.pid}`;
    const tar = join(fx.dir, "image.tar");
    expect(Bun.spawnSync(["tar", "--numeric-owner", "-C", fx.rootfs, "-cf", tar, "."]).exitCode).toBe(0);
    expect(fx.berth(["import", "-c", 'VOLUME ["/data"]', tar, image]).code).toBe(0);
    const v = volumeNames();
    const name = `image-${process.pid}`;
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    // the image's VOLUME comes after the flags' volumes: the create is held before it makes that one
    const held = await holdBeforeRecord(["create"], name, v, [image]);
    try {
      // its snapshot is made: the snapshotter's metadata names it
      expect(Bun.spawnSync(["grep", "-rlF", held.id, fx.root]).stdout.toString()).toContain("snapshots/metadata.json\n");
      await held.kill();
    } finally {
      held.release();
    }
    const c = fx.berth(["create", "--name", name, "--network", "none", image, "true"]);
    expect(c.code).toBe(0);
    // the new create's own anonymous volume for the image's VOLUME aside
    await expectNothingLeft(held, volumesOf(c.stdout.trim()));
    expect(Bun.spawnSync(["grep", "-rlF", held.id, fx.root, fx.runroot]).stdout.toString()).toBe("");
    expect(Bun.spawnSync(["find", fx.root, fx.runroot, "-name", `*${held.id}*`]).stdout.toString()).toBe("");
    expect(fx.berth(["rm", "-v", name]).code).toBe(0);
    expect(fx.berth(["volume", "rm", v.kept]).code).toBe(0);
    expect(fx.berth(["rmi", image]).code).toBe(0);
  });

  test("a volume the killed create named first, used since by a container now gone, keeps what that one wrote: container prune leaves it", async () => {
    const v = volumeNames();
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    const held = await holdBeforeRecord(["create"], `used-${process.pid}`, v);
    await held.kill();
    expect(fx.run(["--rm", "-v", `${v.made}:/m`], ["sh", "-c", "echo written > /m/f"]).code).toBe(0);
    expect(fx.berth(["container", "prune", "-f"]).code).toBe(0);
    await expectNothingLeft(held, [v.made]);
    expect(fx.run(["--rm", "-v", `${v.made}:/m`], ["cat", "/m/f"])).toMatchObject({ code: 0, stdout: "written\n" });
    expect(fx.berth(["volume", "rm", v.kept, v.made]).code).toBe(0);
  });

  test("create killed: volume prune removes the volumes it made, named ones too (without -a), and the leftover with them", async () => {
    const v = volumeNames();
    expect(fx.berth(["volume", "create", v.kept]).code).toBe(0);
    const held = await holdBeforeRecord(["create"], `prune-${process.pid}`, v);
    await held.kill();
    expect(fx.berth(["volume", "prune", "-f"]).code).toBe(0);
    await expectNothingLeft(held);
    expect(fx.berth(["volume", "rm", v.kept]).code).toBe(0);
  });
});
