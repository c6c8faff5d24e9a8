#!/bin/sh
# Install what berth and its tests need on a fresh Debian 12 machine (run as root).
#   - Node/npm to install Bun and TypeScript from npm (package-lock.json pins them)
#   - qemu, a Debian kernel and a static busybox for ../shared/tools/cgv2-vm, where the
#     cgroup v2 suite runs on a pure v2 kernel
#   - gcc and static glibc to build native/berth-init and native/libc-binding.node (npm ci
#     runs scripts/build-native.sh)
#   - runc, crun, hyperfine, GNU time and jq: bench/ compares berth-runtime with its peers
#   - libseccomp2 (seccomp profiles, through Bun's FFI), uidmap (newuidmap for non-root callers)
#   - the clients that drive berth-runtime in test/clients/: podman + conmon, containerd,
#     docker.io, the CNI plugins, and docker-registry + skopeo + umoci for a local registry
#   - the image tests and bench: apache2-utils (htpasswd for a registry with basic auth),
#     openssl (the token-auth registry's certificate), mmdebstrap (a real Debian root
#     filesystem built from the machine's apt sources)
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Packages with services (docker.io, containerd) must not start host daemons: the tests
# start their own, with private roots and sockets. policy-rc.d 101 = "do not start".
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y --no-install-recommends \
  ca-certificates procps util-linux bsdutils coreutils \
  qemu-system-x86 linux-image-amd64 busybox-static binutils cpio zstd xz-utils \
  gcc libc6-dev libseccomp2 uidmap runc crun hyperfine time jq strace \
  podman conmon catatonit containerd docker.io containernetworking-plugins iproute2 iptables conntrack \
  docker-registry skopeo umoci apache2-utils openssl mmdebstrap
command -v npm >/dev/null 2>&1 || apt-get install -y --no-install-recommends nodejs npm
npm ci --no-audit --no-fund
