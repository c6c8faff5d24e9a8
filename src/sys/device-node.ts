/**
 * A device node's type and numbers (stat(2)'s st_rdev), for --device and the block
 * devices of I/O limits. Undefined when the path does not exist.
 */
export interface DeviceNode {
  kind: "c" | "b" | "other";
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export function statDeviceNode(path: string): DeviceNode | undefined {
  let st;
  try {
    st = (require("node:fs") as typeof import("node:fs")).statSync(path);
  } catch {
    return undefined;
  }
  // Linux dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff);
  return { kind: st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : "other", major, minor, mode: st.mode, uid: st.uid, gid: st.gid };
}
