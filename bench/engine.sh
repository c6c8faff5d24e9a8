#!/bin/sh
# The engine side by side with podman (both daemonless; podman with conmon and runc,
# berth with berth-monitor and berth-runtime): `run --rm IMAGE true`,
# `ps` with 20 containers, `inspect`, `exec true`, `logs` of a 100k-line log, 16
# parallel `run -d` (p50 and max, against one alone), and the memory that stays per
# container (PSS of its monitor). Ratios to podman. See bench/README.md.
#
# And the floors under them, in the same run: `berth --version` (a Bun start of berth's
# executable, which every berth command pays) and 16 parallel `runc run -d` against one
# (what the runtime alone does to the parallel ratio on this host's CPUs).
#
#   sudo bench/engine.sh [--runs N] [--keep DIR] [--only run] [--baseline DIR]
#
# --only run: the `run --rm` row alone (a quick pass while working on it). --baseline DIR:
# a second berth (another checkout, built) in the `run --rm` row, on its own store, so a
# change is measured side by side with the build before it.
#
# Everything is private: the image is built offline (../shared/reference/
# make-busybox-image.sh); podman gets its own --root/--runroot/--tmpdir, berth its own
# --root/--runroot; both run with --network none; podman with the ulimits this host
# allows (no CAP_SYS_RESOURCE).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
only=
baseline=
bench_usage="--only run, --baseline DIR"
bench_flag() {
  case "$1" in
    --only) [ "$2" = run ] || { echo "engine.sh: --only takes run" >&2; exit 2; }; only=$2 ;;
    --baseline) [ -x "$2/bin/berth" ] || { echo "engine.sh: --baseline $2 has no bin/berth (a built checkout)" >&2; exit 2; }; baseline=$(cd "$2" && pwd) ;;
    *) return 1 ;;
  esac
}
bench_args engine.sh "$@"
bench_need engine.sh hyperfine podman conmon jq runc

bench_tmp engine
# berth as an install runs it — its compiled executable, as podman is /usr/bin/podman; bin/berth is
# the checkout's launcher, a /bin/sh that execs it (≈1–1.7 ms more per command, measured)
exe() { if [ -x "$1/native/build/bin/berth" ]; then echo "$1/native/build/bin/berth"; else echo "$1/bin/berth"; fi; }
B="$(exe "$here") --root $tmp/berth/root --runroot $tmp/berth/run"
bench_cleanup_hook() {
  for id in $(runc --root "$tmp/runc-root" list -q 2>/dev/null); do runc --root "$tmp/runc-root" delete -f "$id" 2>/dev/null || true; done
  ids=$($B ps -aq --no-trunc 2>/dev/null || true)
  [ -z "$ids" ] || $B rm -f $ids >/dev/null 2>&1 || true
}
O="$(exe "${baseline:-$here}") --root $tmp/berth-baseline/root --runroot $tmp/berth-baseline/run"

echo "== image"
bench_busybox_image "$tmp/img"
# runc: podman's crun here refuses the hybrid cgroup layout
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime $(command -v runc)"
$P load -q -i "$tmp/img/busybox-oci.tar" >/dev/null
$B load -i "$tmp/img/busybox-docker.tar" >/dev/null
PR="run --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
PI=localhost/busybox:latest
BI=busybox:latest
$P $PR --rm $PI true
$B run --network none --rm $BI true
if [ -n "$baseline" ]; then
  $O load -i "$tmp/img/busybox-docker.tar" >/dev/null
  $O run --network none --rm $BI true
fi

hf() {  # hf NAME PODMAN-COMMAND BERTH-COMMAND [BASELINE-COMMAND]
  hyperfine -N --warmup 3 --min-runs "$runs" --export-json "$tmp/$1.json" -n podman "$2" -n berth "$3" ${4:+-n baseline "$4"} </dev/null >/dev/null
}

echo "== run --rm"
hf run "$P $PR --rm $PI true" "$B run --network none --rm $BI true" "${baseline:+$O run --network none --rm $BI true}"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }
table() {  # table NAME TITLE [RESULT]: podman's (results[0]) against berth's (results[1], or RESULT)
  jq -r --arg title "$2" --argjson i "${3:-1}" '
    def f1: (. * 10 | round) as $x | "\($x / 10 | floor).\($x % 10)";
    def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
    .results[0] as $p | .results[$i] as $b | ($p.user + $p.system) as $pc | ($b.user + $b.system) as $bc
    | "| \($title) | \($p.mean * 1000 | f1) | \($b.mean * 1000 | f1) | \($b.mean / $p.mean | f2)× | \($pc * 1000 | f1) / \($bc * 1000 | f1) (\($bc / $pc | f2)×) |"' "$tmp/$1.json"
}
header() {
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version); $(podman --version), conmon $(conmon --version | head -1 | cut -d' ' -f3), berth $($here/bin/berth --version)${baseline:+ (baseline: $(git -C "$baseline" log -1 --format=%h))}."
  echo
  echo "| what | podman (ms) | berth (ms) | berth ÷ podman | CPU podman / berth (ms, user + system) |"
  echo "|---|---:|---:|---:|---:|"
  table run '`run --rm busybox true`'
  [ -z "$baseline" ] || table run '`run --rm busybox true`, baseline' 2
}
if [ -n "$only" ]; then
  # the same commands interleaved (bench/interleave.ts: each round runs each once, the order
  # rotating), so a load that moves between hyperfine's blocks moves them all — the baseline
  # too, the A/B that --baseline is for; medians
  "$here/node_modules/.bin/bun" "$here/bench/interleave.ts" "$runs" 2 "$tmp/run-interleaved.json" podman "$P $PR --rm $PI true" berth "$B run --network none --rm $BI true" \
    ${baseline:+baseline} ${baseline:+"$O run --network none --rm $BI true"}
  interleaved=$(jq -r '.results[0].median as $p | .results[1:][] | "| `run --rm busybox true`, \(if .command == "baseline" then "baseline, " else "" end)interleaved (\(.times | length) rounds), medians | \($p * 10000 | round / 10) | \(.median * 10000 | round / 10) | \((.median / $p) * 100 | round / 100)× | |"' "$tmp/run-interleaved.json")
  { header; echo "$interleaved"; } >"$tmp/summary.md"
  echo
  cat "$tmp/summary.md"
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/*.json "$tmp/summary.md" "$keep/"; fi
  exit 0
fi

echo "== 20 containers: ps, inspect, exec"
i=0
while [ $i -lt 20 ]; do
  $P $PR -d --name "p$i" $PI sleep 600 >/dev/null
  $B run --network none -d --name "b$i" $BI sleep 600 >/dev/null
  i=$((i + 1))
done
hf ps "$P ps" "$B ps"
hf inspect "$P inspect p0" "$B inspect b0"
hf version "podman --version" "$B --version"
hf exec "$P exec p0 true" "$B exec b0 true"

pss_of() {  # the PSS (kB) of the monitors named $1 (comm) whose command line names $2
  total=0
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] || continue
    grep -qs -- "$2" "$d/cmdline" || continue
    kb=$(awk '/^Pss:/ {print $2}' "$d/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
pss_podman=$(pss_of conmon "$tmp/podman")
pss_berth=$(pss_of berth-monitor "$tmp/berth")
$P rm -f -t 0 $(i=0; while [ $i -lt 20 ]; do echo "p$i"; i=$((i + 1)); done) >/dev/null
$B rm -f $(i=0; while [ $i -lt 20 ]; do echo "b$i"; i=$((i + 1)); done) >/dev/null

echo "== logs of 100k lines"
$P $PR --name plog $PI seq 1 100000 >/dev/null
$B run --network none --name blog $BI seq 1 100000 >/dev/null
hf logs "$P logs plog" "$B logs blog"
$P rm plog >/dev/null
$B rm blog >/dev/null

echo "== 16 parallel run -d"
parallel() {  # parallel CMD...: 16 at once, each one's wall time in ms, one per line
  i=0
  while [ $i -lt 16 ]; do
    ( s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000)) >>"$tmp/par.$$" ) &
    i=$((i + 1))
  done
  wait
  sort -n "$tmp/par.$$"
  rm -f "$tmp/par.$$"
}
one() {  # the wall time of one CMD, in ms
  s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000))
}
p1=$(one $P $PR -d $PI sleep 600)
b1=$(one $B run --network none -d $BI sleep 600)
$P rm -f -a -t 0 >/dev/null
ids=$($B ps -aq --no-trunc); [ -z "$ids" ] || $B rm -f $ids >/dev/null
par_p=$(parallel $P $PR -d $PI sleep 600)
par_b=$(parallel $B run --network none -d $BI sleep 600)
# the runtime alone: runc on a bundle of the same rootfs (read-only, shared by all 16)
mkdir -p "$tmp/runc-bundle"
(cd "$tmp/runc-bundle" && runc spec && jq --arg root "$tmp/img/rootfs" '.process.args = ["sleep", "600"] | .process.terminal = false | .root = {path: $root, readonly: true}' config.json >c && mv c config.json)
R="runc --root $tmp/runc-root"
r1=$(one $R run -d -b "$tmp/runc-bundle" "berth-bench-$$-one")
par_r=$(parallel sh -c "$R run -d -b $tmp/runc-bundle berth-bench-\$\$ </dev/null")
for id in $($R list -q); do $R delete -f "$id"; done
p50() { echo "$1" | sed -n 8p; }
pmax() { echo "$1" | tail -1; }
$P rm -f -a -t 0 >/dev/null
ids=$($B ps -aq --no-trunc); [ -z "$ids" ] || $B rm -f $ids >/dev/null

{
  header
  table ps '`ps` with 20 running'
  table inspect '`inspect`'
  table exec '`exec true`'
  table logs '`logs` of 100k lines'
  echo "| one \`run -d\` | $p1 | $b1 | | |"
  echo "| 16 parallel \`run -d\`, p50 / max | $(p50 "$par_p") / $(pmax "$par_p") | $(p50 "$par_b") / $(pmax "$par_b") | | |"
  echo "| 16 parallel ÷ one, p50 | $(ratio "$(p50 "$par_p")" "$p1") | $(ratio "$(p50 "$par_b")" "$b1") | | |"
  table version 'floor: `--version` (start-up)'
  echo "| floor: \`runc run -d\` one / 16 parallel p50 / max (÷ one at p50) | $r1 / $(p50 "$par_r") / $(pmax "$par_r") ($(ratio "$(p50 "$par_r")" "$r1")) | | | |"
  echo "| PSS per container (kB, its monitor: conmon, berth-monitor) | $((pss_podman / 20)) | $((pss_berth / 20)) | | |"
} >"$tmp/summary.md"
echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/*.json "$tmp/summary.md" "$keep/"; fi
