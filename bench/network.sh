#!/bin/sh
# `run --rm busybox true` on each engine's default network, side by side: berth's
# default bridge (CNI: loopback, bridge + host-local, portmap, firewall, tuning) against
# podman's default network (CNI here: /etc/cni/net.d's podman bridge), and both with
# --network none to show what the network set-up and teardown cost. Ratios to podman.
# Then the floor: the CNI plugins' own time for one ADD and DEL of the same conflist, each
# invocation timed on its own and as berth schedules them (bench/cni-floor.ts), plus
# berth's run without a network.
#
#   sudo bench/network.sh [--runs N] [--keep DIR]
#
# Private stores as bench/engine.sh; the cni-podman0 bridge and host-local directory
# podman's default network makes are removed again when they were not there before.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
bench_args network.sh "$@"
bench_need network.sh podman conmon jq

podman_bridge_was_there=$(ip -o link show cni-podman0 >/dev/null 2>&1 && echo yes || echo no)
podman_ipam_was_there=$([ -d /var/lib/cni/networks/podman ] && echo yes || echo no)
bench_tmp network
B="$here/bin/berth --root $tmp/berth/root --runroot $tmp/berth/run"
bench_cleanup_hook() {
  ids=$($B ps -aq --no-trunc 2>/dev/null || true)
  [ -z "$ids" ] || $B rm -f $ids >/dev/null 2>&1 || true
  # the default network's bridge stays between containers, as docker0: prune deletes it
  $B network prune -f >/dev/null 2>&1 || true
  [ "$podman_bridge_was_there" = yes ] || ip link del cni-podman0 2>/dev/null || true
  [ "$podman_ipam_was_there" = yes ] || rm -rf /var/lib/cni/networks/podman
}

bench_busybox_image "$tmp/img"
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime $(command -v runc)"
$P load -q -i "$tmp/img/busybox-oci.tar" >/dev/null
$B load -i "$tmp/img/busybox-docker.tar" >/dev/null
PR="run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
$P $PR --rm localhost/busybox:latest true
$B run --rm busybox:latest true

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# interleaved (bench/interleave.ts): each round runs all four, so a load that moves mid-run moves them all
"$here/node_modules/.bin/bun" "$here/bench/interleave.ts" "$runs" 2 "$tmp/net.json" \
  "podman (default network)" "$P $PR --rm localhost/busybox:latest true" \
  "berth (default bridge)" "$B run --rm busybox:latest true" \
  "podman --network none" "$P $PR --network none --rm localhost/busybox:latest true" \
  "berth --network none" "$B run --network none --rm busybox:latest true" </dev/null

# the floor: each plugin of the same conflist run directly for one ADD and DEL, as berth runs them (bench/cni-floor.ts)
"$here/node_modules/.bin/bun" "$here/bench/cni-floor.ts" "$runs" "$tmp/floor" >"$tmp/floor.json"

{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs; $(podman --version) (CNI backend), berth $($here/bin/berth --version); load average $load_before at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo
  echo "| \`run --rm busybox true\`, interleaved | mean ± σ (ms) | median (ms) | × podman, same network mode (means) | (medians) |"
  echo "|---|---:|---:|---:|---:|"
  jq -r '
    def f(x): (x * 1000 | round);
    def r(a; b): ((a / b * 100 | round) / 100);
    .results as $r
    | [0, 1, 2, 3][] as $i
    | $r[$i] as $x | $r[if $i % 2 == 0 then $i else $i - 1 end] as $p
    | "| \($x.command) | \(f($x.mean)) ± \(f($x.stddev)) | \(f($x.median)) | \(r($x.mean; $p.mean))× | \(r($x.median; $p.median))× |"' "$tmp/net.json"
  echo
  echo "| one ADD + DEL (bench/cni-floor.ts, $runs rounds): each invocation on its own, then as berth schedules them | median (ms) | mean (ms) |"
  echo "|---|---:|---:|"
  jq -r 'to_entries[] | (.value | sort) as $v
    | "| \(.key) | \($v[($v | length) / 2 | floor]) | \(($v | add) / ($v | length) * 10 | round / 10) |"' "$tmp/floor.json"
  jq -r --slurpfile net "$tmp/net.json" '
    def median: sort | .[length / 2 | floor];
    ([to_entries[] | select(.key | endswith(" path") | not) | .value | median] | add) as $serial
    | (.["DEL path"] | median) as $del
    | ($net[0].results[3].median * 1000) as $none | ($net[0].results[0].median * 1000) as $podman
    | "| the plugins one at a time (sum of medians) + berth --network none (median \($none | round)) | \(($serial + $none) | round) | \((($serial + $none) / $podman * 100 | round) / 100)× podman (median) |",
      "| **the floor**: berth --network none + the DEL path (the ADD path wholly hidden behind the runtime'"'"'s create) | \(($del + $none) | round) | \((($del + $none) / $podman * 100 | round) / 100)× podman (median) (target 0.25× = \($podman / 4 | round)) |"' "$tmp/floor.json"
} >"$tmp/summary.md"
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/*.json "$tmp/summary.md" "$keep/"; fi
