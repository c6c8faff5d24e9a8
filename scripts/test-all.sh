#!/bin/sh
# All of berth's tests: type-check, the host suite (this host's cgroup layout), and the
# cgroup v2 suite inside a throw-away pure-v2 VM (../shared/tools/cgv2-vm). Ends with
# one line "N passed, N failed" summed over all of them. Run as root.
set -u
cd "$(dirname "$0")/.."
bun=./node_modules/.bin/bun
vm=${CGV2_VM:-../shared/tools/cgv2-vm}
# Tests read ../shared/reference; the VM sees only the checkout and what is shared with
# it (its /tmp is fresh), so hand it the physical path of ../shared explicitly.
BERTH_SHARED=$(cd ../shared 2>/dev/null && pwd -P || echo "")
export BERTH_SHARED
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0
failed=0

count() { # file → adds bun test's " N pass" / " N fail" summary to the totals
  p=$(grep -aE '^ *[0-9]+ pass$' "$1" | tail -1 | tr -dc 0-9)
  f=$(grep -aE '^ *[0-9]+ fail$' "$1" | tail -1 | tr -dc 0-9)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  # a run that died before its summary is a failure too
  [ -n "$p" ] || failed=$((failed + 1))
}

echo "== build native/berth-init and the berth-runtime executable"
if sh scripts/build-native.sh && sh scripts/build-runtime.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# built: the test harnesses need not rebuild (in the VM, writing 111 MB over 9p)
export BERTH_PREBUILT=1

echo "== type-check (tsc --noEmit)"
if ./node_modules/.bin/tsc --noEmit; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== host suite (bun test)"
$bun test 2>&1 | tee "$log/host"
count "$log/host"

# The files whose tests need a pure cgroup v2 kernel (they skip themselves elsewhere),
# the runtime suites, which run real containers on both layouts, and the image store's
# kernel-facing parts (overlay mounts, whiteouts, xattrs on the VM's tmpfs /tmp).
V2_TESTS="
  src/engine/image/unpack.test.ts
  src/engine/snapshot/overlay.test.ts
  src/engine/content/store.test.ts
  src/cgroups/v2.test.ts
  src/sys/bpf.test.ts
  src/cli/cgroup/cgroup-cli.test.ts
  src/runtime/lifecycle.test.ts
  src/runtime/spec-fields.test.ts
  src/runtime/broken-bundles.test.ts
  src/runtime/fault-injection.test.ts
  src/runtime/hostile-input.test.ts
  src/runtime/boundaries.test.ts
  src/runtime/cve-classes.test.ts
  src/runtime/verbs.test.ts
  src/runtime/security.test.ts
  src/runtime/security-checklist.test.ts
  src/runtime/seccomp-order.test.ts
  src/runtime/mount-setup.test.ts
  src/runtime/hooks.test.ts
  src/runtime/exec.test.ts
  src/runtime/terminal.test.ts
  src/runtime/runc-bundles.test.ts
  src/runtime/runc-verbs.test.ts
  src/cli/stats.test.ts
  src/cli/top.test.ts
  src/cli/ns.test.ts
  src/cli/enter.test.ts
  src/observe/host-scan.test.ts
  src/cli/diagnose.test.ts
  src/cli/diagnose-podman.test.ts
  src/cli/diagnose-network.test.ts
  src/cli/doctor.test.ts
  src/cli/events.test.ts
  src/cli/metrics.test.ts
  src/cli/berth/container.test.ts
  src/cli/berth/engine-observe.test.ts
  src/cli/berth/run-flags.test.ts
  src/cli/berth/monitor.test.ts
  src/engine/network/cni.test.ts
  src/cli/berth/network.test.ts"
# Under QEMU TCG the v2 suite takes ~30 min on a busy 2-core host. It runs in three VMs
# one after another, so a batch that hangs or dies loses only its own counts, all of them
# within one budget (CI has 90 min for everything): each VM may use what is left of it.
V2_BUDGET=${V2_BUDGET:-3600}
v2_deadline=$(($(date +%s) + V2_BUDGET))
v2_batch() { # files… → runs them in one VM, adds its counts
  left=$((v2_deadline - $(date +%s)))
  if [ "$left" -lt 120 ]; then
    echo "the v2 budget (${V2_BUDGET}s) is spent: not run:" "$@"
    failed=$((failed + 1))
    return
  fi
  # 9p's loose cache keeps the executables' pages between execs (the default, coherent
  # mmap mode reads them from the host on every exec: ~3 s per berth-runtime call under
  # TCG instead of ~0.3 s). Nothing on the host changes the checkout during the run.
  # no_timer_check: on a busy host the emulated IO-APIC timer can miss the kernel's boot
  # check, which then panics ("IO-APIC + timer doesn't work!") before the suite starts.
  "$vm" --mem 4G --timeout "$left" --append no_timer_check --share-cache loose ${BERTH_SHARED:+--share "$BERTH_SHARED:ro"} -- $bun test "$@" 2>&1 | tee "$log/v2"
  count "$log/v2"
}
echo "== cgroup v2 suite in cgv2-vm:" $V2_TESTS
if [ -x "$vm" ]; then
  set -- $V2_TESTS
  per=$((($# + 2) / 3))
  while [ $# -gt 0 ]; do
    batch=""
    i=0
    while [ $# -gt 0 ] && [ $i -lt $per ]; do batch="$batch $1"; shift; i=$((i + 1)); done
    echo "== v2 batch:" $batch
    v2_batch $batch
  done
else
  echo "cgv2-vm not found at $vm: the v2 suite did not run"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
