import { describe, expect, test } from "bun:test";
import { parseMountOptions, PROPAGATION } from "./mount-options.ts";
import {
  MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC, MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME, MS_STRICTATIME, MS_LAZYTIME, MS_I_VERSION, MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOSYMFOLLOW,
} from "../../test/kernel-constants.ts";

describe("parseMountOptions: nothing given", () => {
  test("no options is no flags, no propagation, no data", () => {
    expect(parseMountOptions()).toEqual({ flags: 0, clear: 0, propagation: [], attrSet: 0, attrClr: 0, data: "", bind: false });
    expect(parseMountOptions([])).toEqual({ flags: 0, clear: 0, propagation: [], attrSet: 0, attrClr: 0, data: "", bind: false });
  });

  test("defaults sets nothing and is not passed to the filesystem", () => {
    const o = parseMountOptions(["defaults"]);
    expect(o.flags).toBe(0);
    expect(o.clear).toBe(0);
    expect(o.data).toBe("");
  });
});

describe("parseMountOptions: options that set a mount(2) flag", () => {
  const cases: [string, number][] = [
    ["ro", MS_RDONLY],
    ["nosuid", MS_NOSUID],
    ["nodev", MS_NODEV],
    ["noexec", MS_NOEXEC],
    ["sync", MS_SYNCHRONOUS],
    ["remount", MS_REMOUNT],
    ["mand", MS_MANDLOCK],
    ["dirsync", MS_DIRSYNC],
    ["nosymfollow", MS_NOSYMFOLLOW],
    ["noatime", MS_NOATIME],
    ["nodiratime", MS_NODIRATIME],
    ["relatime", MS_RELATIME],
    ["strictatime", MS_STRICTATIME],
    ["lazytime", MS_LAZYTIME],
    ["iversion", MS_I_VERSION],
    ["silent", MS_SILENT],
    ["bind", MS_BIND],
    ["rbind", MS_BIND | MS_REC],
  ];
  for (const [opt, flag] of cases) {
    test(`${opt} sets ${flag}`, () => {
      const o = parseMountOptions([opt]);
      expect(o.flags).toBe(flag);
      expect(o.clear).toBe(0);
      expect(o.data).toBe("");
      expect(o.propagation).toEqual([]);
      expect(o.attrSet).toBe(0);
      expect(o.attrClr).toBe(0);
    });
  }
});

describe("parseMountOptions: options that clear a mount(2) flag", () => {
  const cases: [string, number][] = [
    ["rw", MS_RDONLY],
    ["suid", MS_NOSUID],
    ["dev", MS_NODEV],
    ["exec", MS_NOEXEC],
    ["async", MS_SYNCHRONOUS],
    ["nomand", MS_MANDLOCK],
    ["symfollow", MS_NOSYMFOLLOW],
    ["atime", MS_NOATIME],
    ["diratime", MS_NODIRATIME],
    ["norelatime", MS_RELATIME],
    ["nostrictatime", MS_STRICTATIME],
    ["nolazytime", MS_LAZYTIME],
    ["noiversion", MS_I_VERSION],
    ["loud", MS_SILENT],
  ];
  for (const [opt, flag] of cases) {
    test(`${opt} clears ${flag}`, () => {
      const o = parseMountOptions([opt]);
      expect(o.flags).toBe(0);
      expect(o.clear).toBe(flag);
      expect(o.data).toBe("");
    });
  }
});

describe("parseMountOptions: combining and overriding", () => {
  test("nosuid,nodev,noexec,ro add up", () => {
    expect(parseMountOptions(["nosuid", "nodev", "noexec", "ro"]).flags).toBe(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
  });

  test("ro then rw ends read-write, with RDONLY to clear", () => {
    const o = parseMountOptions(["ro", "rw"]);
    expect(o.flags).toBe(0);
    expect(o.clear).toBe(MS_RDONLY);
  });

  test("rw then ro ends read-only, with nothing to clear", () => {
    const o = parseMountOptions(["rw", "ro"]);
    expect(o.flags).toBe(MS_RDONLY);
    expect(o.clear).toBe(0);
  });

  test("a later suid undoes only nosuid, leaving the other flags", () => {
    const o = parseMountOptions(["nosuid", "nodev", "suid"]);
    expect(o.flags).toBe(MS_NODEV);
    expect(o.clear).toBe(MS_NOSUID);
  });

  test("noatime then atime, then noatime again, ends noatime", () => {
    const o = parseMountOptions(["noatime", "atime", "noatime"]);
    expect(o.flags).toBe(MS_NOATIME);
    expect(o.clear).toBe(0);
  });

  test("bind and rbind mark the mount as a bind mount; other flags do not", () => {
    expect(parseMountOptions(["bind"]).bind).toBe(true);
    expect(parseMountOptions(["rbind", "ro"]).bind).toBe(true);
    expect(parseMountOptions(["ro", "nosuid", "remount"]).bind).toBe(false);
  });

  test("rbind,ro is a recursive read-only bind", () => {
    expect(parseMountOptions(["rbind", "ro"]).flags).toBe(MS_BIND | MS_REC | MS_RDONLY);
  });
});

describe("parseMountOptions: propagation", () => {
  const cases: [string, number][] = [
    ["private", MS_PRIVATE],
    ["rprivate", MS_PRIVATE | MS_REC],
    ["shared", MS_SHARED],
    ["rshared", MS_SHARED | MS_REC],
    ["slave", MS_SLAVE],
    ["rslave", MS_SLAVE | MS_REC],
    ["unbindable", MS_UNBINDABLE],
    ["runbindable", MS_UNBINDABLE | MS_REC],
  ];
  for (const [opt, flag] of cases) {
    test(`${opt} is propagation ${flag}, not a mount flag`, () => {
      const o = parseMountOptions([opt]);
      expect(o.propagation).toEqual([flag]);
      expect(o.flags).toBe(0);
      expect(o.data).toBe("");
      expect(PROPAGATION[opt]).toBe(flag);
    });
  }

  test("several propagation options are each kept, in order", () => {
    const o = parseMountOptions(["rshared", "nosuid", "private", "rslave"]);
    expect(o.propagation).toEqual([MS_SHARED | MS_REC, MS_PRIVATE, MS_SLAVE | MS_REC]);
    expect(o.flags).toBe(MS_NOSUID);
  });
});

describe("parseMountOptions: recursive attributes (mount_setattr)", () => {
  const sets: [string, number][] = [
    ["rro", MOUNT_ATTR_RDONLY],
    ["rnosuid", MOUNT_ATTR_NOSUID],
    ["rnodev", MOUNT_ATTR_NODEV],
    ["rnoexec", MOUNT_ATTR_NOEXEC],
    ["rnodiratime", MOUNT_ATTR_NODIRATIME],
    ["rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW],
  ];
  for (const [opt, attr] of sets) {
    test(`${opt} sets attribute ${attr}`, () => {
      const o = parseMountOptions([opt]);
      expect(o.attrSet).toBe(attr);
      expect(o.attrClr).toBe(0);
      expect(o.flags).toBe(0);
      expect(o.data).toBe("");
    });
  }

  const clears: [string, number][] = [
    ["rrw", MOUNT_ATTR_RDONLY],
    ["rsuid", MOUNT_ATTR_NOSUID],
    ["rdev", MOUNT_ATTR_NODEV],
    ["rexec", MOUNT_ATTR_NOEXEC],
    ["rdiratime", MOUNT_ATTR_NODIRATIME],
    ["rsymfollow", MOUNT_ATTR_NOSYMFOLLOW],
    ["ratime", MOUNT_ATTR_NOATIME],
    ["rnostrictatime", MOUNT_ATTR_STRICTATIME],
  ];
  for (const [opt, attr] of clears) {
    test(`${opt} clears attribute ${attr}`, () => {
      const o = parseMountOptions([opt]);
      expect(o.attrSet).toBe(0);
      expect(o.attrClr).toBe(attr);
      expect(o.flags).toBe(0);
    });
  }

  const atime: [string, number][] = [
    ["rnoatime", MOUNT_ATTR_NOATIME],
    ["rstrictatime", MOUNT_ATTR_STRICTATIME],
    ["rrelatime", MOUNT_ATTR_RELATIME],
  ];
  for (const [opt, attr] of atime) {
    test(`${opt} sets ${attr} and clears the whole atime mask, as mount_setattr(2) requires`, () => {
      const o = parseMountOptions([opt]);
      expect(o.attrSet).toBe(attr);
      expect(o.attrClr).toBe(MOUNT_ATTR__ATIME);
    });
  }

  test("rnodiratime is not an atime mode: the atime mask is left alone", () => {
    expect(parseMountOptions(["rnodiratime"]).attrClr).toBe(0);
  });

  test("rro then rrw ends read-write", () => {
    const o = parseMountOptions(["rro", "rrw"]);
    expect(o.attrSet).toBe(0);
    expect(o.attrClr).toBe(MOUNT_ATTR_RDONLY);
  });

  test("rrw then rro ends read-only", () => {
    const o = parseMountOptions(["rrw", "rro"]);
    expect(o.attrSet).toBe(MOUNT_ATTR_RDONLY);
    expect(o.attrClr).toBe(0);
  });

  test("rro,rnosuid,rnodev,rnoexec add up", () => {
    const o = parseMountOptions(["rro", "rnosuid", "rnodev", "rnoexec"]);
    expect(o.attrSet).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    expect(o.attrClr).toBe(0);
  });

  test("a later atime mode replaces an earlier one (rnoatime then rstrictatime)", () => {
    const o = parseMountOptions(["rnoatime", "rstrictatime"]);
    expect(o.attrSet).toBe(MOUNT_ATTR_STRICTATIME);
    expect(o.attrClr).toBe(MOUNT_ATTR__ATIME);
  });

  test("rnoatime then rrelatime ends relatime (no atime bit set)", () => {
    const o = parseMountOptions(["rnoatime", "rrelatime"]);
    expect(o.attrSet).toBe(MOUNT_ATTR_RELATIME);
    expect(o.attrClr).toBe(MOUNT_ATTR__ATIME);
  });

  test("an atime mode keeps the other recursive attributes", () => {
    const o = parseMountOptions(["rro", "rnoatime", "rnosuid"]);
    expect(o.attrSet).toBe(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME | MOUNT_ATTR_NOSUID);
    expect(o.attrClr).toBe(MOUNT_ATTR__ATIME);
  });

  test("ro and rro are independent: one is a mount flag, the other an attribute", () => {
    const o = parseMountOptions(["ro", "rro"]);
    expect(o.flags).toBe(MS_RDONLY);
    expect(o.attrSet).toBe(MOUNT_ATTR_RDONLY);
  });
});

describe("parseMountOptions: filesystem data", () => {
  test("unknown options go to the filesystem joined with commas", () => {
    const o = parseMountOptions(["nosuid", "strictatime", "mode=755", "size=65536k"]);
    expect(o.data).toBe("mode=755,size=65536k");
    expect(o.flags).toBe(MS_NOSUID | MS_STRICTATIME);
  });

  test("a bare word like newinstance is data too, in the order given", () => {
    const o = parseMountOptions(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
    expect(o.data).toBe("newinstance,ptmxmode=0666,mode=0620,gid=5");
    expect(o.flags).toBe(MS_NOSUID | MS_NOEXEC);
  });

  test("options are case-sensitive: RO is not ro", () => {
    const o = parseMountOptions(["RO"]);
    expect(o.flags).toBe(0);
    expect(o.data).toBe("RO");
  });

  test("flags, propagation and recursive options never leak into data", () => {
    const o = parseMountOptions(["rbind", "rprivate", "rro", "ro", "lowerdir=/a:/b"]);
    expect(o.data).toBe("lowerdir=/a:/b");
  });
});
