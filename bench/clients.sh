#!/bin/sh
# The whole client, side by side: `podman run --rm IMAGE true` and `ctr run --rm IMAGE ID
# true` with berth-runtime and with runc (hyperfine, one run, ratios to runc). berth's
# runtime part must make the client faster, not slower. See bench/README.md.
#
#   sudo bench/clients.sh [--runs N] [--keep DIR]
#
# Everything is private: the image is built offline (../shared/reference/
# make-busybox-image.sh), podman gets its own --root/--runroot, containerd its own root,
# state and socket (stopped by PID at the end). podman runs with --network none and the
# ulimits this host allows (no CAP_SYS_RESOURCE).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
bench_args clients.sh "$@"
bench_need clients.sh hyperfine podman conmon containerd ctr skopeo umoci jq
runc=$(command -v runc)
berth="$here/bin/berth-runtime"

bench_tmp clients
ctd_pid=
bench_cleanup_hook() {
  [ -z "$ctd_pid" ] || { kill "$ctd_pid" 2>/dev/null; wait "$ctd_pid" 2>/dev/null || true; }
}

echo "== image"
bench_busybox_image "$tmp/img"

echo "== podman"
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
$P load -q -i "$tmp/img/busybox-oci.tar" >/dev/null
run_args="run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 localhost/busybox:latest true"
$P --runtime "$berth" $run_args
$P --runtime "$runc" $run_args

echo "== containerd"
bench_containerd "$tmp/ctd"
C="ctr --address $tmp/ctd/containerd.sock"
$C images import "$tmp/img/busybox-oci.tar" >/dev/null
$C run --rm --runc-binary "$berth" localhost/busybox:latest bench-check true
$C run --rm --runc-binary "$runc" localhost/busybox:latest bench-check true

hyperfine -N --warmup 3 --min-runs "$runs" --export-json "$tmp/podman.json" \
  -n "podman + runc" "$P --runtime $runc $run_args" \
  -n "podman + berth-runtime" "$P --runtime $berth $run_args" </dev/null
hyperfine -N --warmup 3 --min-runs "$runs" --export-json "$tmp/ctr.json" \
  -n "ctr + runc" "$C run --rm --runc-binary $runc localhost/busybox:latest bench-runc true" \
  -n "ctr + berth-runtime" "$C run --rm --runc-binary $berth localhost/busybox:latest bench-berth true" </dev/null

table() {  # table NAME TITLE: rows with the ratio to the first (runc) command
  jq -r --arg title "$2" '
    def f1: (. * 10 | round) as $x | "\($x / 10 | floor).\($x % 10)";
    def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
    .results[0].mean as $r | .results[]
    | "| \($title) | \(.command) | \(.mean * 1000 | f1) ± \(.stddev * 1000 | f1) | \(.mean / $r | f2)× |"' "$tmp/$1.json"
}
{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version); $(podman --version), $(containerd --version | cut -d' ' -f1,3), $($runc --version | head -1), $($berth --version | head -1)."
  echo
  echo "| client | runtime | mean ± σ (ms) | × runc |"
  echo "|---|---|---:|---:|"
  table podman '`podman run --rm busybox true`'
  table ctr '`ctr run --rm busybox true`'
} >"$tmp/summary.md"
echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp/podman.json" "$tmp/ctr.json" "$tmp/summary.md" "$keep/"; fi
