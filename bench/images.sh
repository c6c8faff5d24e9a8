#!/bin/sh
# berth's image commands against podman and skopeo + umoci, side by side in one run
# (ratios to podman). See bench/README.md.
#
#   sudo bench/images.sh [--runs N] [--keep DIR] [--floor]
#
# A docker-registry on 127.0.0.1 holds two images made here: a Debian root filesystem
# (mmdebstrap --variant=minbase bookworm, one gzip layer) and a 20-layer image (20 gzip
# layers of text files). Each tool pulls each into an empty store every run (its store is
# removed by hyperfine's --prepare): `berth pull`, `podman pull` (overlay driver),
# `skopeo copy` to an OCI layout followed by `umoci unpack` to a bundle. Then `load` of a
# docker-archive of the Debian image (made by berth save): `berth load`, `podman load`,
# `skopeo copy docker-archive:` + `umoci unpack`. Also the single-core gunzip rate of
# Bun's DecompressionStream (what berth unpacks with) on the Debian layer.
#
# --floor: instead, one hyperfine run of the Debian pull by podman and berth beside what
# any tool must pay for the same image on the same disk, done by GNU tools into an empty
# directory: the download alone (curl), the unpack alone (tar -x of the uncompressed
# layer; gzip -dc | tar -x of the blob), and berth's writes without berth (download, keep
# the blob and fsync it as the content store does, unpack from the same stream).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/bench-env.sh"
runs=5
# --floor takes no value (bench_flag's flags do): taken out before bench_args
floor=
for a; do shift; if [ "$a" = --floor ]; then floor=1; else set -- "$@" "$a"; fi; done
bench_usage=--floor
bench_args images.sh "$@"
bench_need images.sh hyperfine podman skopeo umoci docker-registry mmdebstrap jq gzip
berth="$here/bin/berth"
bun="$here/node_modules/.bin/bun"

bench_tmp images
registry_pid=
bench_cleanup_hook() { [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true; }

echo "== Debian root filesystem (mmdebstrap, cached per boot)"
debian_tar=$("$bun" -e 'import { debianRootfsTar } from "'"$here"'/test/debian-rootfs.ts"; console.log(debianRootfsTar())')
gzip -6 -c "$debian_tar" >"$tmp/debian.tar.gz"

echo "== registry"
port=$("$bun" -e 'import { freeLoopbackPort } from "'"$here"'/test/clients/client-env.ts"; console.log(await freeLoopbackPort())')
reg=127.0.0.1:$port
mkdir -p "$tmp/registry"
cat >"$tmp/registry/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/registry/storage
http:
  addr: $reg
YML
docker-registry serve "$tmp/registry/config.yml" >"$tmp/registry/log" 2>&1 &
registry_pid=$!
n=0; until curl -sf "http://$reg/v2/" >/dev/null 2>&1 || [ $n -ge 100 ]; do n=$((n + 1)); sleep 0.1; done

echo "== images: $reg/debian:bookworm, $reg/layers20:1"
"$berth" --root "$tmp/prep" import "$tmp/debian.tar.gz" "$reg/debian:bookworm" >/dev/null
"$berth" --root "$tmp/prep" push -q "$reg/debian:bookworm"
P="podman --root $tmp/podman/root --runroot $tmp/podman/runroot --tmpdir $tmp/podman/tmp --storage-driver overlay --events-backend file"

if [ -n "$floor" ]; then
  manifests="application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"
  layer=$(curl -sf -H "Accept: $manifests" "http://$reg/v2/debian/manifests/bookworm" | jq -r '.layers[0].digest')
  blob="http://$reg/v2/debian/blobs/$layer"
  curl -sf -o "$tmp/layer.tar.gz" "$blob"
  out=$tmp/out
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  hyperfine -N --runs "$runs" --export-json "$tmp/floor.json" --prepare "sh -c 'rm -rf $tmp/berth $tmp/podman $out; mkdir $out; sync'" \
    -n "podman pull debian" "$P pull -q --tls-verify=false $reg/debian:bookworm" \
    -n "berth pull debian" "$berth --root $tmp/berth pull -q --tls-verify=false $reg/debian:bookworm" \
    -n "download: curl -o /dev/null of the blob" "curl -sf -o /dev/null $blob" \
    -n "unpack: tar -x of the uncompressed layer" "tar -x -f $debian_tar -C $out" \
    -n "unpack: gzip -dc blob | tar -x" "sh -c 'gzip -dc $tmp/layer.tar.gz | tar -x -C $out'" \
    -n "berth's writes: curl | tee blob | gzip -dc | tar -x; fsync blob" "sh -c 'curl -sf $blob | tee $out/blob | gzip -dc | tar -x -C $out && sync $out/blob'" </dev/null
  {
    echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version), $(podman --version), $(tar --version | head -1); registry on 127.0.0.1; load average (1, 5, 15 min) $load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after."
    echo
    echo "| command | mean ± σ (s) | × podman pull | berth pull ÷ this |"
    echo "|---|---:|---:|---:|"
    jq -r '
      def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
      .results[0].mean as $p | .results[1].mean as $b | .results[]
      | "| `\(.command | gsub("[|]"; "\\|"))` | \(.mean | f2) ± \(.stddev | f2) | \(.mean / $p | f2)× | \($b / .mean | f2)× |"' "$tmp/floor.json"
  } >"$tmp/summary.md"
  echo
  echo "==================== summary (for docs/performance.md) ===================="
  cat "$tmp/summary.md"
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/*.json "$tmp/summary.md" "$keep/"; fi
  exit 0
fi

"$berth" --root "$tmp/prep" save -o "$tmp/debian-docker.tar" "$reg/debian:bookworm"
"$bun" "$here/bench/make-layered-image.ts" "$tmp/layers20" 1 20
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$tmp/layers20:1" "docker://$reg/layers20:1"
empty="rm -rf $tmp/berth $tmp/podman $tmp/oci $tmp/bundle"

for image in debian:bookworm layers20:1; do
  name=${image%%:*}
  hyperfine -N --runs "$runs" --export-json "$tmp/pull-$name.json" --prepare "sh -c '$empty; sync'" \
    -n "podman pull $name" "$P pull -q --tls-verify=false $reg/$image" \
    -n "skopeo copy + umoci unpack $name" "sh -c 'skopeo --insecure-policy copy --quiet --src-tls-verify=false docker://$reg/$image oci:$tmp/oci:x && umoci unpack --image $tmp/oci:x $tmp/bundle >/dev/null'" \
    -n "berth pull $name" "$berth --root $tmp/berth pull -q --tls-verify=false $reg/$image" </dev/null
done
hyperfine -N --runs "$runs" --export-json "$tmp/load-debian.json" --prepare "sh -c '$empty; sync'" \
  -n "podman load debian" "$P load -q -i $tmp/debian-docker.tar" \
  -n "skopeo copy + umoci unpack debian (archive)" "sh -c 'skopeo --insecure-policy copy --quiet docker-archive:$tmp/debian-docker.tar oci:$tmp/oci:x && umoci unpack --image $tmp/oci:x $tmp/bundle >/dev/null'" \
  -n "berth load debian" "$berth --root $tmp/berth load -q -i $tmp/debian-docker.tar" </dev/null
sh -c "$empty"

echo "== gunzip rate of Bun's DecompressionStream, one core"
gunzip_rate=$("$bun" -e '
  const file = Bun.file(process.argv[1]);
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now(); let n = 0;
    for await (const c of file.stream().pipeThrough(new DecompressionStream("gzip"))) n += c.length;
    best = Math.max(best, n / 1048576 / ((performance.now() - t0) / 1000));
  }
  console.log(best.toFixed(0));' "$tmp/debian.tar.gz")

{
  echo "Measured $(date -u +%Y-%m-%d) on $(uname -sr), $(nproc) CPUs, $(hyperfine --version); $(podman --version), $(skopeo --version), $(umoci --version); registry on 127.0.0.1; every pull into an empty store."
  echo "Debian image: $(du -m "$tmp/debian.tar.gz" | cut -f1) MiB gzip, $(du -m "$debian_tar" | cut -f1) MiB unpacked; Bun's gunzip on one core: $gunzip_rate MiB/s of output."
  echo
  echo "| command | mean ± σ (s) | × podman |"
  echo "|---|---:|---:|"
  for f in pull-debian pull-layers20 load-debian; do
    jq -r '
      def f2: (. * 100 | round) as $x | "\($x / 100 | floor).\(if $x % 100 < 10 then "0" else "" end)\($x % 100)";
      .results[0].mean as $r | .results[]
      | "| `\(.command)` | \(.mean | f2) ± \(.stddev | f2) | \(.mean / $r | f2)× |"' "$tmp/$f.json"
  done
} >"$tmp/summary.md"
echo
echo "==================== summary (for docs/performance.md) ===================="
cat "$tmp/summary.md"
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$tmp"/*.json "$tmp/summary.md" "$keep/"; fi
