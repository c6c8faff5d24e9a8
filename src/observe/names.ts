/**
 * Container names from the engines' own state files, for the NAME column. Pure parsers;
 * the reader (host-scan.ts) reads the files only for engines whose containers it found.
 * A name is a courtesy: a file that is missing or malformed gives none, never an error.
 */

/**
 * docker's `/var/lib/docker/containers/<id>/config.v2.json`: `"Name": "/web"`.
 *
 * @example dockerName('{"ID":"4f…","Name":"/web"}') // → "web"
 */
export function dockerName(configV2: string): string | undefined {
  try {
    const name = (JSON.parse(configV2) as { Name?: unknown }).Name;
    return typeof name === "string" && name !== "" ? name.replace(/^\//, "") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * podman's (containers/storage) `overlay-containers/containers.json`: `[{ "id", "names": [...] }]`.
 *
 * @example podmanNames('[{"id":"4f…","names":["web"]}]') // → Map { "4f…" => "web" }
 */
export function podmanNames(containersJson: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const list = JSON.parse(containersJson) as unknown;
    if (!Array.isArray(list)) return out;
    for (const c of list as { id?: unknown; names?: unknown }[]) {
      const name = Array.isArray(c?.names) ? c.names[0] : undefined;
      if (typeof c?.id === "string" && typeof name === "string") out.set(c.id, name);
    }
  } catch {
    // not JSON (being rewritten, or another version's format): no names
  }
  return out;
}

/**
 * The name conmon (podman's and CRI-O's container monitor, the parent of the container's
 * init) was started with: `-n NAME` / `--name NAME`, if its `-c`/`--cid` is `id`. It
 * names containers in any store, where containers.json is only the default store's.
 *
 * @example conmonName("/usr/bin/conmon\0--api-version\0001\0-c\0004f…\0-n\0web\0", "4f…") // → "web"
 */
export function conmonName(cmdline: string, id: string): string | undefined {
  const args = cmdline.split("\0");
  const value = (short: string, long: string): string | undefined => {
    for (let i = 1; i < args.length; i++) {
      const a = args[i]!;
      if ((a === short || a === long) && i + 1 < args.length) return args[i + 1];
      if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    }
    return undefined;
  };
  if (value("-c", "--cid") !== id) return undefined;
  const name = value("-n", "--name");
  return name === undefined || name === "" ? undefined : name;
}

/**
 * The kubelet's `/var/log/containers/<pod>_<namespace>_<container>-<id>.log` links, as
 * `namespace/pod/container` by container id. Pod and namespace names cannot hold "_".
 *
 * @example kubeLogNames(["web-7d9_shop_nginx-4f…e1.log"]) // → Map { "4f…e1" => "shop/web-7d9/nginx" }
 */
export function kubeLogNames(files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    const m = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/.exec(f);
    if (m) out.set(m[4]!, `${m[2]}/${m[1]}/${m[3]}`);
  }
  return out;
}
