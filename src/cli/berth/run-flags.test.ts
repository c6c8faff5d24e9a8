/**
 * The `run` flags container.test.ts does not reach, on real containers and both cgroup
 * layouts: the resource flags in the cgroup files docker's runtime writes (or discarded
 * with docker's warning where the kernel cannot do them), and the identity, namespace and
 * device flags as the container sees them.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectHostCgroups } from "../../cgroups/layout.ts";
import { canRunContainers, canRunConmon, EngineFixture, until } from "../../../test/engine-harness.ts";

setDefaultTimeout(300_000);

const ok = canRunContainers && canRunConmon;
// made in beforeAll, not while the file is collected: a run whose filter skips every test here runs no afterAll
let fx = undefined as unknown as EngineFixture;
beforeAll(() => {
  if (ok) fx = new EngineFixture("flags");
});
afterAll(() => fx?.cleanup());

const v2 = ok && detectHostCgroups().layout.mode === "v2";

/** A whole block device here (vd*, sd*, nvme*, else a loop device): its path and MAJ:MIN, for the I/O throttles. */
function blockDevice(): { path: string; dev: string } | undefined {
  let names: string[] = [];
  try {
    names = readdirSync("/sys/block");
  } catch {
    return undefined;
  }
  const ranked = [...names.filter((n) => /^(vd|sd|nvme|xvd)/.test(n)), ...names.filter((n) => n.startsWith("loop"))];
  for (const n of ranked) {
    const path = `/dev/${n}`;
    if (existsSync(path) && statSync(path).isBlockDevice()) return { path, dev: readFileSync(`/sys/block/${n}/dev`, "utf8").trim() };
  }
  return undefined;
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim();

describe.skipIf(!ok)("resource flags: the cgroup files docker's runtime writes", () => {
  test("--cpu-shares --cpu-period --cpu-quota --cpuset-cpus --cpuset-mems -m --memory-reservation --memory-swappiness --oom-kill-disable --kernel-memory and the I/O throttles", () => {
    const disk = blockDevice();
    const throttles = disk ? ["--device-read-bps", `${disk.path}:1mb`, "--device-write-bps", `${disk.path}:2mb`, "--device-read-iops", `${disk.path}:100`, "--device-write-iops", `${disk.path}:200`] : [];
    const r = fx.run(["-d", "--cpu-shares", "512", "--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-cpus", "0", "--cpuset-mems", "0", "-m", "64m", "--memory-reservation", "32m",
      "--memory-swappiness", "10", "--oom-kill-disable", "--kernel-memory", "8m", ...throttles], ["sleep", "600"]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.trim().split("\n");
    expect(warnings).toContain("WARNING: --kernel-memory is ignored: the kernel no longer supports limiting kernel memory (as docker 20.10+)");
    const id = r.stdout.trim();
    const pid = fx.inspect(id).State.Pid as number;
    if (v2) {
      const dir = fx.cgroupDir(pid, "memory");
      // crun's (and runc ≥ 1.3.2's) shares → weight, cgroups/convert.ts: 1024 → 100, 512 → 59 (the old linear formula gave 20)
      expect(read(dir, "cpu.weight")).toBe("59");
      expect(read(dir, "cpu.max")).toBe("25000 50000");
      expect([read(dir, "cpuset.cpus"), read(dir, "cpuset.mems")]).toEqual(["0", "0"]);
      expect([read(dir, "memory.max"), read(dir, "memory.low")]).toEqual(["67108864", "33554432"]);
      expect(warnings).toContain("WARNING: Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
      expect(warnings).toContain("WARNING: Your kernel does not support OomKillDisable. OomKillDisable discarded.");
      if (disk) expect(read(dir, "io.max")).toBe(`${disk.dev} rbps=1048576 wbps=2097152 riops=100 wiops=200`);
    } else {
      const cpu = fx.cgroupDir(pid, "cpu");
      expect([read(cpu, "cpu.shares"), read(cpu, "cpu.cfs_period_us"), read(cpu, "cpu.cfs_quota_us")]).toEqual(["512", "50000", "25000"]);
      const cpuset = fx.cgroupDir(pid, "cpuset");
      expect([read(cpuset, "cpuset.cpus"), read(cpuset, "cpuset.mems")]).toEqual(["0", "0"]);
      const memory = fx.cgroupDir(pid, "memory");
      expect([read(memory, "memory.limit_in_bytes"), read(memory, "memory.soft_limit_in_bytes"), read(memory, "memory.swappiness")]).toEqual(["67108864", "33554432", "10"]);
      expect(read(memory, "memory.oom_control")).toContain("oom_kill_disable 1");
      if (disk) {
        const blkio = fx.cgroupDir(pid, "blkio");
        expect([read(blkio, "blkio.throttle.read_bps_device"), read(blkio, "blkio.throttle.write_bps_device"), read(blkio, "blkio.throttle.read_iops_device"), read(blkio, "blkio.throttle.write_iops_device")])
          .toEqual([`${disk.dev} 1048576`, `${disk.dev} 2097152`, `${disk.dev} 100`, `${disk.dev} 200`]);
      }
    }
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
  test("--blkio-weight: in the weight file where the kernel has one, else discarded with docker's warning", () => {
    const r = fx.run(["-d", "--blkio-weight", "300"], ["sleep", "600"]);
    const id = r.stdout.trim();
    const pid = fx.inspect(id).State.Pid as number;
    const dir = fx.cgroupDir(pid, v2 ? "io" : "blkio");
    const files = v2 ? ["io.bfq.weight", "io.weight"] : ["blkio.bfq.weight", "blkio.weight"];
    const file = files.find((f) => existsSync(join(dir, f)));
    if (file) {
      expect(r).toMatchObject({ code: 0, stderr: "" });
      // io.weight takes blkio's 10…1000 mapped onto 1…10000 (1 + (300 - 10) × 9999 / 990), the BFQ files take it as it is
      expect(read(dir, file)).toMatch(file === "io.weight" ? /^default 2930$/ : /^(default )?300$/);
    } else {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.\n");
    }
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
});

describe.skipIf(!ok)("identity, namespace and device flags, seen from inside", () => {
  test("--entrypoint, --env-file, --domainname, --label-file, --annotation", async () => {
    const envFile = join(fx.dir, "env");
    writeFileSync(envFile, "# a comment\nFROM_FILE=yes\nSPACED=a b\n");
    const labelFile = join(fx.dir, "labels");
    writeFileSync(labelFile, "tier=back\nowner=ops\n");
    const r = fx.run(["-d", "--entrypoint", "/bin/sh", "--env-file", envFile, "--domainname", "example.org", "--label-file", labelFile, "--annotation", "org.example/kind=test"],
      ["-c", "echo \"$FROM_FILE|$SPACED|$(cat /proc/sys/kernel/domainname)\"; sleep 600"]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const c = fx.inspect(id);
    expect(c.Config).toMatchObject({ Entrypoint: ["/bin/sh"], Domainname: "example.org", Labels: { tier: "back", owner: "ops" } });
    expect(c.HostConfig.Annotations).toEqual({ "org.example/kind": "test" });
    expect([c.Path, c.Args[0]]).toEqual(["/bin/sh", "-c"]);
    // run -d returns once the container runs, not once it has printed
    await until(() => fx.berth(["logs", id]).stdout !== "", 60_000);
    expect(fx.berth(["logs", id]).stdout).toBe("yes|a b|example.org\n");
    expect(fx.berth(["rm", "-f", id]).code).toBe(0);
  });
  test("--ipc host, --uts host, --cgroupns host|private, --userns host: the host's namespaces or the container's own", () => {
    const ns = (kind: string) => readlinkSync(`/proc/self/ns/${kind}`);
    const inside = (flags: string[]) => fx.run(["--rm", ...flags], ["sh", "-c", "for n in ipc uts cgroup user; do readlink /proc/self/ns/$n; done"]).stdout.trim().split("\n");
    const [ipc, uts, , user] = inside(["--ipc", "host", "--uts", "host", "--userns", "host"]);
    expect([ipc, uts, user]).toEqual([ns("ipc"), ns("uts"), ns("user")]);
    const own = inside(["--cgroupns", "private", "--ipc", "private"]);
    expect(own[0]).not.toBe(ns("ipc"));
    expect(own[1]).not.toBe(ns("uts"));
    expect(own[2]).not.toBe(ns("cgroup"));
    expect(inside(["--cgroupns", "host"])[2]).toBe(ns("cgroup"));
  });
  test("--device-cgroup-rule: a node the default rules deny (/dev/kmsg, c 1:11) opens once a rule allows it", () => {
    // made in the container's own /dev (a tmpfs), opened for writing, nothing written
    const cmd = ["sh", "-c", "mknod /dev/k c 1 11 && : > /dev/k && echo opened"];
    const denied = fx.run(["--rm"], cmd);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/can't create \/dev\/k: Operation not permitted/);
    expect(fx.run(["--rm", "--device-cgroup-rule", "c 1:11 w"], cmd)).toMatchObject({ code: 0, stdout: "opened\n" });
  });
});
