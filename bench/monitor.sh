#!/bin/sh
# The memory that stays per detached container: the PSS of berth's monitor
# (native/berth-monitor) against podman's (conmon) and containerd's
# (containerd-shim-runc-v2, one per container as `ctr run -d` makes them), with 1 and
# with N containers each (`sleep`, busybox, --network none). PSS divides shared pages
# among the processes that map them, so N monitors of one executable cost less each
# than one alone. See bench/README.md.
#
#   sudo bench/monitor.sh [--count N] [--keep DIR]
#
# Everything is private: the image is built offline (../shared/reference/
# make-busybox-image.sh); podman gets its own --root/--runroot/--tmpdir (runc, cgroupfs),
# containerd its own root, state and socket (stopped by PID at the end), berth its own
# --root/--runroot.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
count=10
bench_usage="--count N"
bench_flag() { [ "$1" = --count ] && count=$2; }
bench_args monitor.sh "$@"
bench_need monitor.sh podman conmon containerd ctr containerd-shim-runc-v2 runc

bench_tmp monitor
B="$here/bin/berth --root $tmp/berth/root --runroot $tmp/berth/run"
ctd_pid=
bench_cleanup_hook() {
  ids=$($B ps -aq --no-trunc 2>/dev/null || true)
  [ -z "$ids" ] || $B rm -f $ids >/dev/null 2>&1 || true
  if [ -n "$ctd_pid" ]; then
    for c in $($C task ls -q 2>/dev/null); do $C task kill -s KILL "$c" >/dev/null 2>&1 || true; done
    sleep 0.5
    for c in $($C container ls -q 2>/dev/null); do $C task delete -f "$c" >/dev/null 2>&1 || true; $C container delete "$c" >/dev/null 2>&1 || true; done
    kill "$ctd_pid" 2>/dev/null; wait "$ctd_pid" 2>/dev/null || true
  fi
}

echo "== image"
bench_busybox_image "$tmp/img"
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime $(command -v runc)"
$P load -q -i "$tmp/img/busybox-oci.tar" >/dev/null
$B load -i "$tmp/img/busybox-docker.tar" >/dev/null
bench_containerd "$tmp/ctd"
C="ctr --address $tmp/ctd/containerd.sock"
$C images import "$tmp/img/busybox-oci.tar" >/dev/null

pss_of() {  # pss_of COMM PATTERN: the PSS (kB) of the processes named COMM whose command line holds PATTERN, and how many
  total=0 procs=0
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] || continue
    grep -qs -- "$2" "$d/cmdline" || continue
    kb=$(awk '/^Pss:/ {print $2}' "$d/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0})) procs=$((procs + 1))
  done
  echo "$total $procs"
}

start() {  # start N: N more containers of each (numbered from the ones running)
  i=0
  while [ $i -lt "$1" ]; do
    k=$((started + i))
    $B run --network none -d --name "b$k" busybox:latest sleep 600 >/dev/null
    $P run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -d --name "p$k" localhost/busybox:latest sleep 600 >/dev/null
    $C run -d --runc-binary "$(command -v runc)" localhost/busybox:latest "c$k" sleep 600 >/dev/null
    i=$((i + 1))
  done
  started=$((started + $1))
}

row() {  # row: one line per monitor with the containers now running
  sleep 1 # the monitors settle (conmon and the shim finish starting their threads)
  for e in "berth-monitor:berth-monitor:$tmp/berth" "conmon:conmon:$tmp/podman" "containerd-shim:containerd-shim-runc-v2:$tmp/ctd"; do
    comm=${e%%:*} rest=${e#*:}
    name=${rest%%:*} pattern=${rest#*:}
    set -- $(pss_of "$comm" "$pattern")
    [ "$2" -eq "$started" ] || { echo "monitor.sh: $2 $name processes for $started containers" >&2; exit 1; }
    echo "| $started | $name | $1 | $(($1 / started)) |"
  done
}

started=0
start 1
{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs; $(podman --version), conmon $(conmon --version | head -1 | awk '{print $3}'), $(containerd --version | cut -d' ' -f1,3)."
  echo
  echo "| containers | monitor | PSS, all (kB) | PSS per container (kB) |"
  echo "|---:|---|---:|---:|"
  row
  start $((count - 1))
  row
} >"$tmp/summary.md"
echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp/summary.md" "$keep/"; fi
