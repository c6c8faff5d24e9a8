#!/bin/sh
# The main job on a fresh Debian 12 machine: install, then
#  0. berth run, as the seed's `docker run --cpus --memory`: a busybox image built here
#     (Debian's busybox-static, scripts/make-busybox-bundle.sh), imported with
#     `berth import`, run with --cpus 0.5 --memory 64m, showing the cgroup files;
#  1. berth-runtime runs a busybox OCI bundle (built here from busybox-static): PID 1 in
#     its own namespaces, its own hostname, a read-only root, limits in its cgroup;
#  2. berth cgroup runs a command limited to half a CPU and 64 MiB — a busy loop
#     (throttled) and a 100 MiB allocation (OOM-killed) — and shows what the kernel counted.
# Leaves nothing behind. Run as root.
set -eu
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/bun ] && [ -x native/build/berth-init ] || scripts/setup.sh
tmp=$(mktemp -d)
trap 'bin/berth --root "$tmp/root" --runroot "$tmp/run" rm -f berth-demo >/dev/null 2>&1 || true; bin/berth --root "$tmp/root" --runroot "$tmp/run" network prune -f >/dev/null 2>&1 || true; bin/berth-runtime --root "$tmp/state" delete --force demo 2>/dev/null || true; bin/berth cgroup rm --kill -q /berth-demo 2>/dev/null || true; rm -rf "$tmp"' EXIT

echo "== berth run: an image built here from busybox-static, limited as the seed's docker run"
scripts/make-busybox-bundle.sh "$tmp/image" >/dev/null
tar -C "$tmp/image/rootfs" -c . | bin/berth --root "$tmp/root" --runroot "$tmp/run" import - busybox:demo
bin/berth --root "$tmp/root" --runroot "$tmp/run" run --rm --name berth-demo --cpus 0.5 --memory 64m busybox:demo sh -c '
  cd /sys/fs/cgroup
  if [ -f cpu.max ]; then echo "cpu.max: $(cat cpu.max)"; echo "memory.max: $(cat memory.max)"
  else echo "cpu.cfs_quota_us / cpu.cfs_period_us: $(cat cpu/cpu.cfs_quota_us) / $(cat cpu/cpu.cfs_period_us)"; echo "memory.limit_in_bytes: $(cat memory/memory.limit_in_bytes)"; fi'
echo

echo "== berth-runtime run: a busybox bundle"
scripts/make-busybox-bundle.sh "$tmp/bundle" >/dev/null
./node_modules/.bin/bun -e '
  const f = process.argv[1] + "/config.json";
  const s = JSON.parse(require("fs").readFileSync(f, "utf8"));
  s.hostname = "berth-demo";
  s.process.args = ["sh", "-c", "echo \"pid $$ on $(hostname)\"; id; ls /; touch /x 2>&1; echo \"memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null)\""];
  s.linux.cgroupsPath = "/berth-demo-container";
  s.linux.resources.memory = { limit: 64 * 1024 * 1024 };
  s.linux.resources.pids = { limit: 32 };
  require("fs").writeFileSync(f, JSON.stringify(s, null, 2));
' "$tmp/bundle"
bin/berth-runtime --root "$tmp/state" run --bundle "$tmp/bundle" demo
echo
echo "== berth cgroup run: throttled, then OOM-killed"
bin/berth cgroup run /berth-demo --cpus 0.5 --memory 64m --pids 32 -- \
  sh -c 'timeout 2 sh -c "while :; do :; done"; dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null; echo "dd exited $? (137 = SIGKILL from the OOM killer)"'
echo
bin/berth cgroup stat /berth-demo
