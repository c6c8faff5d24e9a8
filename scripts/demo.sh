#!/bin/sh
# The main job on a fresh Debian 12 machine: install, then run a command in a cgroup
# limited to half a CPU and 64 MiB — a busy loop (throttled) and a 100 MiB allocation
# (OOM-killed) — and show what the kernel counted. Leaves nothing behind. Run as root.
set -eu
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/bun ] || scripts/setup.sh
trap 'bin/berth cgroup rm --kill -q /berth-demo 2>/dev/null || true' EXIT
bin/berth cgroup run /berth-demo --cpus 0.5 --memory 64m --pids 32 -- \
  sh -c 'timeout 2 sh -c "while :; do :; done"; dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null; echo "dd exited $? (137 = SIGKILL from the OOM killer)"'
echo
bin/berth cgroup stat /berth-demo
