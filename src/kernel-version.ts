/** Linux release strings (/proc/sys/kernel/osrelease, `uname -r`) as comparable numbers. Pure. */

/** "6.18.0-rc1-amd64" → 6018: major × 1000 + minor; 0 when unreadable. */
export function kernelVersion(release: string): number {
  const [major = 0, minor = 0] = release.trim().split(".").map((x) => parseInt(x, 10) || 0);
  return major * 1000 + minor;
}

/** Is `release` Linux major.minor or later. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  return kernelVersion(release) >= major * 1000 + minor;
}
