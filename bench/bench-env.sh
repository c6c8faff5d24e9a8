# Sourced by the bench/*.sh scripts: their flags, the checks and the private scratch
# directory they need, and a cleanup that leaves no container, mount or file behind.
#
#   . "$(dirname "$0")/bench-env.sh"
#   bench_need NAME TOOL...          # root, and each TOOL on PATH, or exit 1 naming it
#   bench_tmp NAME                   # sets tmp=/tmp/berth-NAME-bench.XXXXXX and the traps
#   bench_cleanup_hook() { … }       # optional: run first on exit (stop daemons)
#   P="podman --root $tmp/podman/root …"   # optional: the private podman, emptied on exit

bench_need() {
  name=$1; shift
  [ "$(id -u)" = 0 ] || { echo "$name: run as root" >&2; exit 1; }
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$name: $t not found (scripts/setup.sh installs it)" >&2; exit 1; }
  done
}

# conmon and the `podman container cleanup` each conmon starts when its container goes,
# which re-creates store directories: wait for those naming $tmp before removing it.
bench_store_processes() {
  for d in /proc/[0-9]*; do
    case "$(cat "$d/comm" 2>/dev/null)" in conmon | podman) ! grep -qs -- "$tmp" "$d/cmdline" || echo "${d#/proc/}" ;; esac
  done
}

bench_cleanup() {
  trap - EXIT INT TERM
  ! command -v bench_cleanup_hook >/dev/null || bench_cleanup_hook
  [ -z "${P:-}" ] || [ ! -d "$tmp/podman" ] || $P rm --all --force --time 0 >/dev/null 2>&1 || true
  n=0; while [ -n "$(bench_store_processes)" ] && [ $n -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
  # overlay mounts of the stores, innermost first, then the files
  grep " $tmp/" /proc/self/mounts | cut -d' ' -f2 | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$tmp"
  # podman (cgroupfs) keeps its parent cgroup and conmon's in it: remove them where this
  # run made them, deepest first; a cgroup still in use refuses rmdir and stays
  for d in ${bench_made_cgroups:-}; do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# The hierarchies without podman's cgroupfs parent before this run (bench_cleanup removes it there).
bench_note_cgroups() {
  bench_made_cgroups=
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    if [ -e "${h}cgroup.procs" ] && [ ! -d "${h}libpod_parent" ]; then bench_made_cgroups="$bench_made_cgroups ${h}libpod_parent"; fi
  done
}

bench_tmp() {
  bench_note_cgroups
  tmp=$(mktemp -d "/tmp/berth-$1-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_args NAME "$@": the flags every bench takes — --runs N (default 20, or the runs= the
# bench set before), --keep DIR. A bench with flags of its own defines
# `bench_flag FLAG VALUE` (0 when it took FLAG and its VALUE) and lists them in bench_usage.
bench_args() {
  name=$1; shift
  runs=${runs:-20}
  keep=
  while [ $# -gt 0 ]; do
    case "$1" in
      --runs) runs=${2:?}; shift 2 ;;
      --keep) keep=${2:?}; shift 2 ;;
      *)
        if [ $# -ge 2 ] && command -v bench_flag >/dev/null && bench_flag "$1" "$2"; then shift 2; continue; fi
        echo "$name: unknown argument $1 (${bench_usage:+$bench_usage, }--runs N, --keep DIR)" >&2; exit 2 ;;
    esac
  done
}

# bench_busybox_image DIR: the busybox image built offline by ../shared/reference/
# make-busybox-image.sh (a bash script; $here is the repository) into DIR.
bench_busybox_image() {
  bash "$here/../shared/reference/make-busybox-image.sh" "$1" >/dev/null
}

# bench_containerd DIR: a containerd of its own in DIR (no CRI plugin), its socket
# DIR/containerd.sock ready on return; its pid in ctd_pid, for the caller's cleanup.
bench_containerd() {
  mkdir -p "$1"
  cat >"$1/config.toml" <<TOML
version = 2
root = "$1/root"
state = "$1/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$1/containerd.sock"
[ttrpc]
  address = "$1/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$1/opt"
TOML
  containerd --config "$1/config.toml" >"$1/log" 2>&1 &
  ctd_pid=$!
  n=0
  until [ -S "$1/containerd.sock" ]; do
    n=$((n + 1)); [ $n -lt 500 ] || { cat "$1/log" >&2; exit 1; }; sleep 0.02
  done
}
