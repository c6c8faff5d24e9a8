#!/bin/sh
# `berth stats` against `podman stats --no-stream` over the same running containers,
# side by side in one hyperfine run (ratio to podman). See bench/README.md.
#
#   sudo bench/stats.sh [--containers N] [--runs N] [--keep DIR]
#
# N (default 20) busybox containers run `sleep` under podman with runc, in a private
# podman store (own --root/--runroot/--tmpdir, removed at the end). podman's one-shot
# sample reports CPU % averaged since each container started, without waiting; berth's
# equivalent is `--no-stream --interval 0` (its default `--no-stream` waits one
# 1-second window, as `docker stats --no-stream` does), so that is what is compared.
# Both must list all N containers before anything is timed.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
count=20
runs=30
bench_usage="--containers N"
bench_flag() { case "$1" in --containers) count=$2 ;; *) return 1 ;; esac; }
bench_args stats.sh "$@"
bench_need stats.sh hyperfine podman conmon runc skopeo umoci jq bash
berth="$here/bin/berth"

bench_tmp stats
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime $(command -v runc)"

echo "== image"
bench_busybox_image "$tmp/img"
$P load -q -i "$tmp/img/busybox-oci.tar" >/dev/null

echo "== $count containers"
i=0
while [ $i -lt "$count" ]; do
  i=$((i + 1))
  $P run -d --name "stats-bench-$i" --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/busybox:latest sleep 1000000 >/dev/null
done

# Both tools must see the same N containers (berth finds them on the host, podman in its store).
podman_rows=$($P stats --no-stream --format '{{.ID}}' | grep -c .)
berth_rows=$("$berth" stats --no-stream --interval 0 --format '{{.ID}}' | grep -c .)
[ "$podman_rows" = "$count" ] && [ "$berth_rows" = "$count" ] || {
  echo "stats.sh: podman lists $podman_rows containers and berth $berth_rows; expected $count (other containers on this host?)" >&2
  exit 1
}

hyperfine -N --warmup 3 --min-runs "$runs" --export-json "$tmp/stats.json" \
  -n "podman stats --no-stream" "$P stats --no-stream" \
  -n "berth stats --no-stream --interval 0" "$berth stats --no-stream --interval 0" \
  -n "berth stats --no-stream --interval 0 --format json" "$berth stats --no-stream --interval 0 --format json" </dev/null

{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version); $(podman --version), $(runc --version | head -1); $count running containers."
  echo
  echo "| command | mean ± σ (ms) | × podman |"
  echo "|---|---:|---:|"
  jq -r '
    def f1: (. * 10 | round) as $x | "\($x / 10 | floor).\($x % 10)";
    def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
    .results[0].mean as $r | .results[]
    | "| `\(.command)` | \(.mean * 1000 | f1) ± \(.stddev * 1000 | f1) | \(.mean / $r | f2)× |"' "$tmp/stats.json"
} >"$tmp/summary.md"
echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp/stats.json" "$tmp/summary.md" "$keep/"; fi
