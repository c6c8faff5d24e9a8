/**
 * `features`: the runtime-spec features document (features.md, features-linux.md) —
 * what config.json fields this berth-runtime understands. containerd's shim reads it
 * without any global flag: it refuses idmapped mounts unless
 * linux.mountExtensions.idmap.enabled is true, and its CRI plugin looks for `rro` in
 * mountOptions. So every list comes from the table the runtime itself uses, and
 * whatever berth refuses (Intel RDT) is reported as not there.
 */
import { parseMountOptions } from "../plan/mount-options.ts";
import { CAPABILITIES } from "../security/capabilities.ts";
import { SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../spec/linux-seccomp.ts";
import { NAMESPACE_TYPES } from "../spec/validate-config.ts";

/**
 * Every mount option name the runtime-spec lists (features.md's example, which is runc's
 * table). Only those that berth's own parser (src/plan/mount-options.ts) takes as
 * options rather than filesystem data are reported; `acl`, `iversion` and `tmpcopyup`
 * are not among them.
 */
const SPEC_MOUNT_OPTIONS = [
  "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap", "iversion", "lazytime", "loud",
  "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
  "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount",
  "rexec", "ridmap", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow",
  "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid", "rsymfollow",
  "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable",
];

/** The mount options berth-runtime recognises, sorted as runc lists them. */
export function knownMountOptions(): string[] {
  return SPEC_MOUNT_OPTIONS.filter((o) => parseMountOptions([o]).data === "").sort();
}

/** Flags seccomp(2) takes from a profile; WAIT_KILLABLE_RECV only with a listener (5.19+), so it is known but not promised. */
const SUPPORTED_SECCOMP_FLAGS = SECCOMP_FLAGS.filter((f) => f !== "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");

export interface FeaturesOptions {
  /** berth-runtime's version, for the annotations */
  version: string;
  /** the newest runtime-spec version berth-runtime speaks (what `--version` prints) */
  specVersion: string;
}

/**
 * The features document, keys in runtime-spec order.
 *
 * @example runtimeFeatures({ version: "0.1.0", specVersion: "1.0.2-dev" }).linux.cgroup.v2 // → true
 */
export function runtimeFeatures(opts: FeaturesOptions) {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: opts.specVersion,
    // every runtime-spec hook kind runs (src/runtime/hooks.ts)
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: [...CAPABILITIES],
      cgroup: {
        v1: true,
        v2: true,
        // --systemd-cgroup's slice:prefix:name paths are mapped to the cgroupfs path systemd
        // would use (src/cgroups/path.ts); there is no rootless (user) systemd support
        systemd: true,
        systemdUser: false,
        rdma: true,
      },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS].sort(),
        operators: [...SECCOMP_OPERATORS].sort(),
        archs: [...SECCOMP_ARCHITECTURES].sort(),
        knownFlags: [...SECCOMP_FLAGS],
        supportedFlags: SUPPORTED_SECCOMP_FLAGS,
      },
      // applied when the host runs the LSM, refused when it does not (docs/security.md)
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false },
      // mounts[].uidMappings: open_tree + MOUNT_ATTR_IDMAP (src/plan/compile.ts)
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: {
      "org.berth.runtime.version": opts.version,
    },
  };
}
