/**
 * Where the files `npm install` builds from native/ (scripts/build-native.sh) are looked
 * for: native/build/NAME of the checkout this runs from. Compiled
 * (native/build/bin/berth-runtime), the executable's own place says which checkout (its
 * import.meta.dir is inside the executable's own file system then, and finds nothing).
 * From the sources, Bun's place (node_modules/bun/bin of the checkout) or else src/sys/
 * finds it. Pure: the caller tries each in order, so
 * the executable's own layout (native/build/bin/) is put first — every call of
 * berth-runtime loads the libc binding, and each miss is a failed dlopen (~40 µs).
 */
export function nativeBuildCandidates(name: string, execPath: string, moduleDir: string): string[] {
  const parent = (d: string) => d.slice(0, d.lastIndexOf("/")) || "/";
  const out: string[] = [];
  const at = (dir: string) => `${dir === "/" ? "" : dir}/native/build/${name}`;
  const own = parent(execPath);
  if (own.endsWith("/native/build/bin")) out.push(`${parent(own)}/${name}`);
  for (const start of [parent(execPath), moduleDir]) {
    let dir = start;
    for (let i = 0; i < 4; i++) {
      out.push(at(dir));
      dir = parent(dir);
    }
  }
  out.push(at(parent(parent(moduleDir))));
  return [...new Set(out)];
}
