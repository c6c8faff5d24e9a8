/**
 * src/sys/host-facts.ts against what the host's own tools say (uname, ls, cat).
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { activeLsms, hasKcore, hostName, hugepageSizesKib, kernelBuild, kernelRelease, lastCap, memTotalBytes, onlineCpus, onlineMems, osPrettyName } from "./host-facts.ts";

const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]).stdout.toString().trim();

test("the kernel's release and build are uname -r and -v", () => {
  expect(kernelRelease()).toBe(sh("uname -r"));
  expect(kernelBuild()).toBe(sh("uname -v"));
});

test("the last capability is the kernel's, and is at least CAP_AUDIT_READ (Linux 3.16)", () => {
  expect(lastCap()).toBe(Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8")));
  expect(lastCap()).toBeGreaterThanOrEqual(37);
});

test("online CPUs and memory nodes as sysfs lists them; the CPU count is getconf _NPROCESSORS_ONLN", () => {
  expect(onlineCpus()).toBe(readFileSync("/sys/devices/system/cpu/online", "utf8").trim());
  expect(onlineMems()).toBe(existsSync("/sys/devices/system/node/online") ? readFileSync("/sys/devices/system/node/online", "utf8").trim() : "0");
  const count = onlineCpus().split(",").reduce((n, r) => {
    const [a, b] = r.split("-").map(Number);
    return n + (b === undefined ? 1 : b - a! + 1);
  }, 0);
  expect(count).toBe(Number(sh("getconf _NPROCESSORS_ONLN")));
});

test("hugepage sizes are the hugepages-<N>kB directories", () => {
  const dirs = existsSync("/sys/kernel/mm/hugepages") ? readdirSync("/sys/kernel/mm/hugepages") : [];
  expect(hugepageSizesKib().sort((a, b) => a - b)).toEqual(dirs.map((d) => Number(/^hugepages-(\d+)kB$/.exec(d)![1])).sort((a, b) => a - b));
});

test("LSMs and /proc/kcore as their files say", () => {
  const apparmor = existsSync("/sys/module/apparmor/parameters/enabled") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y");
  expect(activeLsms()).toEqual({ apparmor, selinux: existsSync("/sys/fs/selinux/enforce") });
  expect(hasKcore()).toBe(existsSync("/proc/kcore"));
});

test("the host's name, memory and distribution are uname -n, free -b's total and os-release's PRETTY_NAME", () => {
  expect(hostName()).toBe(sh("uname -n"));
  expect(memTotalBytes()).toBe(Number(sh("free -b | awk '/^Mem:/ {print $2}'")));
  expect(osPrettyName()).toBe(sh(". /etc/os-release && echo \"$PRETTY_NAME\""));
});
