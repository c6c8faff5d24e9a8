/**
 * A directory tree as a tar stream, written with tar-stream (as `save` writes archives):
 * `export` archives a container's merged root, `commit` its overlay upper directory as an
 * image layer. The tree may belong to a running container, so it is read with
 * sys/layer-fs.ts's entriesBeneath (no lookup leaves it) and every file is opened on its
 * directory's fd with O_NOFOLLOW and checked by fstat to be the regular file that was
 * listed; a file that grew meanwhile is cut at its listed size, one that shrank is padded
 * with zeros, so the archive is always well formed.
 *
 * Names are relative, without "./" (docker's), directories with a trailing "/". A file
 * with more than one link is archived once, its other names as hard links. Extended
 * attributes are not archived (file capabilities are lost, as with a plain `tar -c`).
 */
import tarStream from "tar-stream";
import { packEntry } from "../image/archive-save.ts";
import { BerthError } from "../../errors.ts";
import { close, readFd, statFd } from "../../sys/libc.ts";
import { devParts, entriesBeneath, getXattrFd, isOverlayOpaque, isOverlayWhiteout, openFileAt, OVERLAY_OPAQUE_XATTR, readLinkAt, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, type WalkedEntry } from "../../sys/layer-fs.ts";

export interface TreeArchiveOptions {
  /**
   * The tree is an overlay upper directory to publish as a layer: a whiteout (character
   * device 0:0) becomes the OCI whiteout `.wh.NAME`, an opaque directory (xattr
   * trusted.overlay.opaque=y) gets `.wh..wh..opq` — what docker's overlay2 driver writes.
   */
  overlayWhiteouts?: boolean;
  /** entries left out (a path from the root, `etc/hostname`); a directory left out is left out whole */
  exclude?: (rel: string) => boolean;
}

const CHUNK = 1 << 20;

/** The largest uid or gid tar-stream's header field holds (six octal digits); it writes a larger one as this */
const USTAR_ID_MAX = 0o777777;

const TYPES: Record<number, tarStream.Header["type"]> = { [S_IFCHR]: "character-device", [S_IFBLK]: "block-device", [S_IFIFO]: "fifo" };

/** The bytes of a tar of the tree under `root`, as they are produced. */
export function archiveTree(root: string, opts: TreeArchiveOptions = {}): AsyncIterable<Uint8Array> {
  const pack = tarStream.pack();
  const linked = new Map<bigint, string>();
  const add = (header: Partial<tarStream.Header>, body?: Iterable<Uint8Array>) => packEntry(pack, header, body);
  // the whole st_mode: tar-stream writes mode & 07777, and would take a mode of 0 (a 0000 /etc/shadow) for "none" and write 0644;
  // an id above its 6-digit octal field (OpenShift's 1000680000) goes in a PAX record, as Go's archive/tar writes one
  const base = (e: WalkedEntry) => ({
    mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs),
    ...((e.uid > USTAR_ID_MAX || e.gid > USTAR_ID_MAX) && { pax: { uid: String(e.uid), gid: String(e.gid) } }),
  });
  const produce = async () => {
    // tar-stream writes names as UTF-8: one that is not cannot be archived as it is, and a silent gap would lose the file
    const undecodable = (rel: string) => {
      throw new BerthError(`/${rel}: the name is not UTF-8, which berth cannot archive; rename it (mv) in the container and try again`);
    };
    for (const e of entriesBeneath(root, { undecodable })) {
      if (opts.exclude?.(e.rel)) {
        e.skip = true;
        continue;
      }
      const type = e.mode & S_IFMT;
      const slash = e.rel.lastIndexOf("/");
      const dir = e.rel.slice(0, slash + 1);
      if (type === S_IFDIR) {
        await add({ ...base(e), name: `${e.rel}/`, type: "directory" });
        if (opts.overlayWhiteouts && isOverlayOpaque(getXattrFd(e.dirFd!, OVERLAY_OPAQUE_XATTR))) {
          await add({ ...base(e), mode: S_IFREG | 0o644, name: `${e.rel}/.wh..wh..opq`, type: "file", size: 0 });
        }
      } else if (type === S_IFLNK) {
        await add({ ...base(e), name: e.rel, type: "symlink", linkname: readLinkAt(e.parentFd, e.name) });
      } else if (opts.overlayWhiteouts && isOverlayWhiteout(e)) {
        await add({ ...base(e), mode: S_IFREG | 0o644, name: `${dir}.wh.${e.name}`, type: "file", size: 0 });
      } else if (type === S_IFREG && e.nlink > 1 && linked.has(e.ino)) {
        await add({ ...base(e), name: e.rel, type: "link", linkname: linked.get(e.ino)!, size: 0 });
      } else if (type === S_IFREG) {
        if (e.nlink > 1) linked.set(e.ino, e.rel);
        await add({ ...base(e), name: e.rel, type: "file", size: e.size }, fileChunks(e));
      } else if (TYPES[type]) {
        await add({ ...base(e), name: e.rel, type: TYPES[type], ...devParts(e.rdev) });
      }
      // a socket is not archived (tar cannot hold one)
    }
    pack.finalize();
  };
  produce().catch((err) => pack.destroy(err));
  return pack as unknown as AsyncIterable<Uint8Array>;
}

/** Exactly `e.size` bytes of the file listed as `e`: cut if it grew, zeros if it shrank or was replaced. */
function* fileChunks(e: WalkedEntry): Generator<Uint8Array> {
  let fd = -1;
  try {
    fd = openFileAt(e.parentFd, e.name);
    const st = statFd(fd);
    if (!st.isFile || st.ino !== e.ino) {
      close(fd);
      fd = -1;
    }
  } catch {
    fd = -1; // removed or replaced meanwhile: the listed size in zeros
  }
  const buf = new Uint8Array(CHUNK);
  let left = e.size;
  try {
    while (left > 0) {
      let n = fd < 0 ? 0 : readFd(fd, buf.subarray(0, Math.min(CHUNK, left)));
      if (n === 0) {
        n = Math.min(CHUNK, left);
        buf.fill(0, 0, n);
      }
      left -= n;
      yield Buffer.from(buf.subarray(0, n));
    }
  } finally {
    if (fd >= 0) close(fd);
  }
}
