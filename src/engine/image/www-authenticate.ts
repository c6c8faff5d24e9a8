/**
 * The `WWW-Authenticate` challenge of a registry's 401 (RFC 7235 as the distribution
 * spec uses it): `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`
 * or `Basic realm="Registry Realm"`. Pure.
 */

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Every challenge in the header, scheme lower-cased. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][\w-]*)(?:\s+|$)|\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?/y;
  let at = 0;
  let current: Challenge | undefined;
  while (at < header.length) {
    re.lastIndex = at;
    const m = re.exec(header);
    if (!m || re.lastIndex === at) break;
    at = re.lastIndex;
    if (m[1] !== undefined && !/^\s*=/.test(header.slice(at))) {
      current = { scheme: m[1].toLowerCase(), params: {} };
      out.push(current);
    } else if (m[2] !== undefined && current) {
      const raw = m[3]!;
      current.params[m[2].toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    }
    while (header[at] === "," || header[at] === " ") at++;
  }
  return out;
}
