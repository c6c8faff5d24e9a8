#!/bin/sh
# Build an OCI bundle from Debian's static busybox (busybox-static), without network:
#   scripts/make-busybox-bundle.sh DIR      → DIR/rootfs, DIR/config.json
# The rootfs has /bin/busybox, one symlink per applet, /etc/passwd and /etc/group, and
# the mount points a container needs. config.json is `berth-runtime spec` with
# terminal off and `sh` as the program, so `berth-runtime run -b DIR ID` works as is.
set -eu
[ $# -eq 1 ] || { echo "usage: make-busybox-bundle.sh DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "make-busybox-bundle: $busybox not found; apt-get install busybox-static" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then echo "make-busybox-bundle: $busybox is dynamically linked; install busybox-static" >&2; exit 1; fi
dir=$1
mkdir -p "$dir/rootfs"
root=$(cd "$dir/rootfs" && pwd)
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/home"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$root/etc/group"
echo berth >"$root/etc/hostname"
if [ ! -e "$dir/config.json" ]; then
  "$here/bin/berth-runtime" spec --bundle "$dir"
  sed -i 's/"terminal": true/"terminal": false/' "$dir/config.json"
fi
echo "$dir"
