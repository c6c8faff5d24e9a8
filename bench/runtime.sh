#!/bin/sh
# Benchmark berth-runtime against runc and crun, side by side, with hyperfine; then the
# peak RSS of each CLI call (bench/rss.ts). See bench/README.md.
#
#   sudo bench/runtime.sh [--only berth-runtime,runc,crun] [--bench LIST] [--runs N] [--rss-reps N] [--keep DIR] [--no-tmpfs] [--baseline DIR]
#
#   --only LIST    runtimes to compare, comma-separated (default: berth-runtime,runc,crun)
#   --bench LIST   benchmarks, comma-separated (default: run,lifecycle,state,version,seccomp,rss)
#   --runs N       minimum hyperfine runs for run and lifecycle (default 30; state and
#                  --version get 4N); hyperfine also runs each command for at least 3 s
#   --rss-reps N   repetitions of each call for the RSS measurement (default 10)
#   --keep DIR     copy hyperfine's JSON exports, the RSS samples and summary.md to DIR
#   --no-tmpfs     leave /sys/fs/cgroup/unified visible (crun 1.8 then refuses a hybrid host)
#   --baseline DIR another built berth checkout (e.g. a git worktree of an older commit after
#                  npm ci): its bin/berth-runtime is timed too, as berth-baseline, listed just
#                  before berth-runtime (with --only berth-runtime it is the reference)
#
# Everything runs in one private mount namespace (unshare -m --propagation private) with
# an empty tmpfs over /sys/fs/cgroup/unified when that is a cgroup2 mount (a hybrid
# host), because crun 1.8 refuses hybrid hosts; all runtimes see the same mounts. Every
# runtime gets its own --root under a temporary directory and an absolute
# linux.cgroupsPath under /berth-bench, so nothing lands in the caller's cgroups.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
self="$here/bench/runtime.sh"

usage() { sed -n '5,15p' "$self" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# Remove /berth-bench in every cgroup hierarchy this mount namespace can see.
rmdir_cgroups() {
  for d in /sys/fs/cgroup/berth-bench /sys/fs/cgroup/*/berth-bench; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- outside the namespace
if [ "${BERTH_BENCH_INNER:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "runtime.sh: run as root (sudo bench/runtime.sh)" >&2; exit 1; }
  case "$here" in *[[:space:]]*) echo "runtime.sh: the checkout path must not contain spaces (hyperfine -N splits commands on them)" >&2; exit 1 ;; esac
  for t in hyperfine jq unshare mount find; do
    command -v "$t" >/dev/null || { echo "runtime.sh: $t not found (apt-get install -y hyperfine jq)" >&2; exit 1; }
  done
  [ -x /usr/bin/time ] || { echo "runtime.sh: /usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }
  status=0
  BERTH_BENCH_INNER=1 unshare -m --propagation private "$self" "$@" || status=$?
  # The namespace is gone with its tmpfs; clean the host's view too (v1 hierarchies and the real cgroup2).
  rmdir_cgroups
  exit "$status"
fi

# ----------------------------------------------------------------- inside the namespace
only=berth-runtime,runc,crun
benches=run,lifecycle,state,version,seccomp,rss
runs=30
rss_reps=10
keep=
tmpfs=yes
baseline=
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=${2:?}; shift 2 ;;
    --bench) benches=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --rss-reps) rss_reps=${2:?}; shift 2 ;;
    --keep) keep=${2:?}; shift 2 ;;
    --no-tmpfs) tmpfs=no; shift ;;
    --baseline) baseline=$(cd "${2:?}" && pwd); shift 2 ;;
    -h|--help) usage ;;
    *) echo "runtime.sh: unknown argument $1" >&2; usage ;;
  esac
done

wants() { case ",$benches," in *",$1,"*) return 0 ;; esac; return 1; }
# docker's default seccomp profile, as dockerd hands it to the runtime (a real config.json)
docker_spec="$here/../shared/reference/client-specs/docker-run.json"
if wants seccomp && [ ! -f "$docker_spec" ]; then
  echo "runtime.sh: $docker_spec not found; the seccomp benchmark needs ../shared beside the checkout (or drop it from --bench)" >&2; exit 1
fi

bun="$here/node_modules/.bin/bun"
[ -x "$bun" ] || { echo "runtime.sh: $bun not found; run npm install" >&2; exit 1; }

# Runtimes in table order: runc first (the reference for the ratios), then crun, then
# berth-baseline (--baseline), then berth-runtime.
only=$(echo ",$only," | sed 's/,berth,/,berth-runtime,/')
for rt in $(echo "$only" | tr , ' '); do
  case "$rt" in runc|crun|berth-runtime) ;; *) echo "runtime.sh: unknown runtime $rt (runc, crun, berth-runtime)" >&2; exit 2 ;; esac
done
if [ -n "$baseline" ]; then
  [ -x "$baseline/native/build/bin/berth-runtime" ] || { echo "runtime.sh: $baseline has no native/build/bin/berth-runtime; run npm ci there" >&2; exit 1; }
  only="$only,berth-baseline,"
fi
rts=
for rt in runc crun berth-baseline berth-runtime; do
  case "$only" in *",$rt,"*) rts="$rts $rt" ;; esac
done
[ -n "$rts" ] || usage
bin_of() {
  case "$1" in
    berth-runtime) echo "$here/bin/berth-runtime" ;;
    berth-baseline) echo "$baseline/bin/berth-runtime" ;;
    *) command -v "$1" || { echo "runtime.sh: $1 not found (apt-get install -y $1)" >&2; exit 1; } ;;
  esac
}
for rt in $rts; do bin_of "$rt" >/dev/null; done

if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null || true)" = cgroup2fs ]; then
  if [ $tmpfs = no ]; then
    case "$rts" in *crun*) echo "runtime.sh: crun 1.8 refuses this hybrid host without the tmpfs; drop --no-tmpfs or crun" >&2; exit 2 ;; esac
  else
    mount -t tmpfs -o size=1m berth-bench-unified /sys/fs/cgroup/unified
  fi
fi

tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
cleanup() {
  trap - EXIT INT TERM
  for rt in $rts; do
    for id in bench-run bench-life bench-state bench-seccomp; do
      "$(bin_of "$rt")" --root "$tmp/$rt/root" delete --force "$id" >/dev/null 2>&1 || true
    done
    for st in "$tmp/$rt/root"/*; do  # whatever else is left (an interrupted RSS pass)
      [ -e "$st" ] && "$(bin_of "$rt")" --root "$tmp/$rt/root" delete --force "$(basename "$st")" >/dev/null 2>&1 || true
    done
  done
  rmdir_cgroups
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== bundle"
"$here/scripts/make-busybox-bundle.sh" "$tmp/base" >/dev/null
for rt in $rts; do
  mkdir -p "$tmp/$rt/root" "$tmp/$rt/true" "$tmp/$rt/sleep" "$tmp/$rt/seccomp"
  chmod 700 "$tmp/$rt/root"
  jq --arg root "$tmp/base/rootfs" --arg cg "/berth-bench/$rt" \
    '.root.path = $root | .root.readonly = true | .process.terminal = false | .process.args = ["/bin/true"] | .linux.cgroupsPath = $cg' \
    "$tmp/base/config.json" >"$tmp/$rt/true/config.json"
  jq --arg root "$tmp/base/rootfs" --arg cg "/berth-bench/$rt-state" \
    '.root.path = $root | .root.readonly = true | .process.terminal = false | .process.args = ["/bin/sleep", "1000"] | .linux.cgroupsPath = $cg' \
    "$tmp/base/config.json" >"$tmp/$rt/sleep/config.json"
  if wants seccomp; then
    jq --slurpfile docker "$docker_spec" --arg cg "/berth-bench/$rt-seccomp" '.linux.seccomp = $docker[0].linux.seccomp | .linux.cgroupsPath = $cg' \
      "$tmp/$rt/true/config.json" >"$tmp/$rt/seccomp/config.json"
  fi
done

# berth-runtime with its seccomp cache emptied first, and the same through sh for a fair comparison
printf '%s\n' 'rm -rf "$1/.seccomp-cache"; exec "$2" --root "$1" run --bundle "$3" bench-seccomp' >"$tmp/seccomp-cold.sh"
printf '%s\n' 'exec "$2" --root "$1" run --bundle "$3" bench-seccomp' >"$tmp/seccomp-warm.sh"

# create → start → wait until stopped → delete, as one command for hyperfine.
cat >"$tmp/lifecycle.sh" <<'EOF'
rt=$1 root=$2 bundle=$3 id=$4
"$rt" --root "$root" create --bundle "$bundle" "$id"
"$rt" --root "$root" start "$id"
n=0
while :; do
  case $("$rt" --root "$root" state "$id") in *'"status":"stopped"'*|*'"status": "stopped"'*) break ;; esac
  n=$((n + 1)); [ $n -lt 1000 ] || { echo "lifecycle: $id did not stop" >&2; exit 1; }
done
"$rt" --root "$root" delete "$id"
EOF

# Sanity pass: every runtime must run the bundle before we time it.
for rt in $rts; do
  "$(bin_of "$rt")" --root "$tmp/$rt/root" run --bundle "$tmp/$rt/true" bench-run </dev/null ||
    { echo "runtime.sh: $rt cannot run the bundle; see above" >&2; exit 1; }
done

# bench NAME MINRUNS HYPERFINE-ARGS...: one hyperfine invocation, exported to $tmp/NAME.json
bench() {
  name=$1 min=$2; shift 2
  set -- hyperfine -N --warmup 3 --min-runs "$min" --export-json "$tmp/$name.json" "$@"
  echo
  echo "== $name"
  "$@" </dev/null
}
cmds() {  # cmds KIND: hyperfine -n/command pairs for every runtime
  for rt in $rts; do
    b=$(bin_of "$rt") r="$tmp/$rt/root"
    case "$1" in
      run) printf '%s\n%s\n' "$rt" "$b --root $r run --bundle $tmp/$rt/true bench-run" ;;
      seccomp)
        if [ "$rt" = berth-runtime ] || [ "$rt" = berth-baseline ]; then
          printf '%s\n%s\n' "$rt (cached BPF)" "sh $tmp/seccomp-warm.sh $r $b $tmp/$rt/seccomp"
          printf '%s\n%s\n' "$rt (cache cleared)" "sh $tmp/seccomp-cold.sh $r $b $tmp/$rt/seccomp"
        else
          printf '%s\n%s\n' "$rt" "$b --root $r run --bundle $tmp/$rt/seccomp bench-seccomp"
        fi ;;
      lifecycle) printf '%s\n%s\n' "$rt" "sh $tmp/lifecycle.sh $b $r $tmp/$rt/true bench-life" ;;
      state) printf '%s\n%s\n' "$rt" "$b --root $r state bench-state" ;;
      version) printf '%s\n%s\n' "$rt" "$b --version" ;;
    esac
  done
}
run_bench() {  # run_bench NAME MINRUNS KIND [extra LABEL CMD]
  name=$1 min=$2 kind=$3; shift 3
  {
    cmds "$kind"
    [ $# -eq 0 ] || printf '%s\n%s\n' "$1" "$2"
  } >"$tmp/$name.cmds"
  set --
  while IFS= read -r label && IFS= read -r cmd; do set -- "$@" -n "$label" "$cmd"; done <"$tmp/$name.cmds"
  bench "$name" "$min" "$@"
}

! wants run || run_bench run "$runs" run
! wants lifecycle || run_bench lifecycle "$runs" lifecycle
if wants state; then
  for rt in $rts; do
    "$(bin_of "$rt")" --root "$tmp/$rt/root" create --bundle "$tmp/$rt/sleep" bench-state </dev/null
  done
  run_bench state "$((runs * 4))" state
  for rt in $rts; do
    "$(bin_of "$rt")" --root "$tmp/$rt/root" delete --force bench-state
  done
fi
! wants version || run_bench version "$((runs * 4))" version "bun -e 0" "$bun -e 0"
! wants seccomp || run_bench seccomp "$runs" seccomp

if wants rss; then
echo
echo "== peak RSS ($rss_reps repetitions)"
{
  # the files to drop from the page cache first (rss.ts says why): what bin/berth-runtime execs too
  evict="\"$here/native/build/bin/berth-runtime\""
  [ -z "$baseline" ] || evict="$evict, \"$baseline/native/build/bin/berth-runtime\""
  printf '{"reps": %s, "bun": "%s", "out": "%s", "evict": [%s], "runtimes": [' "$rss_reps" "$bun" "$tmp/rss.json" "$evict"
  sep=
  for rt in $rts; do
    printf '%s{"name": "%s", "bin": "%s", "root": "%s", "bundle": "%s"}' "$sep" "$rt" "$(bin_of "$rt")" "$tmp/$rt/root" "$tmp/$rt/true"
    sep=", "
  done
  printf ']}\n'
} >"$tmp/rss-config.json"
"$bun" "$here/bench/rss.ts" "$tmp/rss-config.json" >"$tmp/rss.md"
cat "$tmp/rss.md"
fi

# ------------------------------------------------------------------------------ summary
ref=$(echo $rts | cut -d' ' -f1)
table() {  # table NAME TITLE: one markdown row per command, ratio to the reference runtime
  jq -r --arg ref "$ref" --arg title "$2" '
    def f1: (. * 10 | round) as $x | "\($x / 10 | floor).\($x % 10)";
    def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
    (.results | map(select(.command == $ref)) | .[0].mean) as $r
    | .results[]
    | "| \($title) | \(.command) | \(.mean * 1000 | f1) ± \(.stddev * 1000 | f1) | \(if $r then (.mean / $r | f2) + "×" else "" end) |"
' "$tmp/$1.json"
}
{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version)."
  printf 'Runtimes:'
  for rt in $rts; do
    printf ' %s' "$("$(bin_of "$rt")" --version | head -1)"
    [ "$rt" != berth-runtime ] || printf ' (Bun %s)' "$("$bun" --version)"
    [ "$rt" != berth-baseline ] || printf ' (baseline: %s, commit %s)' "$baseline" "$(git -C "$baseline" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf ';'
  done
  echo
  case "$(stat -fc %T /sys/fs/cgroup 2>/dev/null || true)/$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null || true)" in
    cgroup2fs/*) echo "cgroup v2 host." ;;
    */tmpfs) echo "cgroup v1 hybrid host, measured in a private mount namespace with an empty tmpfs over /sys/fs/cgroup/unified (for crun)." ;;
    */cgroup2fs) echo "cgroup v1 hybrid host (/sys/fs/cgroup/unified visible: --no-tmpfs)." ;;
    *) echo "cgroup v1 host." ;;
  esac
  echo
  echo "| benchmark | runtime | mean ± σ (ms) | × $ref |"
  echo "|---|---|---:|---:|"
  ! wants run || table run '`run` /bin/true'
  ! wants lifecycle || table lifecycle 'create → start → wait → delete'
  ! wants state || table state '`state` (created)'
  ! wants version || table version '`--version`'
  ! wants seccomp || table seccomp '`run` /bin/true, docker'"'"'s seccomp profile'
  echo
  ! wants rss || cat "$tmp/rss.md"
} >"$tmp/summary.md"

echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  for f in run lifecycle state version seccomp rss; do [ ! -f "$tmp/$f.json" ] || cp "$tmp/$f.json" "$keep"/; done
  cp "$tmp"/summary.md "$keep"/
  echo "(JSON exports and summary.md copied to $keep)"
fi
