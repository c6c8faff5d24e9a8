/**
 * Apply a layer — a tar, gzip/zstd or plain — to a directory, as an overlay upper dir:
 * the model is containerd's pkg/archive/tar.go with its overlay whiteout converter.
 *
 * - `.wh.NAME` (a file deleted from the layers below) becomes overlay's whiteout, a
 *   character device 0:0 named NAME; `.wh..wh..opq` in directory D (D's lower contents
 *   hidden) becomes `trusted.overlay.opaque=y` on D.
 * - Regular files, directories, symlinks, hardlinks, device nodes and fifos keep their
 *   mode, owner, mtime and extended attributes (PAX `SCHILY.xattr.*`); directories get
 *   their mtime last, after their entries are written.
 * - An entry that would land outside the directory — an absolute name, a `..` that climbs
 *   above it, a parent that is a symlink leading out (planted by an earlier entry), a
 *   hardlink to outside — is refused with the entry named; the lookups are the kernel's
 *   (openat2 RESOLVE_BENEATH, sys/layer-fs.ts), not string checks alone.
 *
 * The uncompressed bytes are hashed as they pass: the result's `diffId` is what the
 * image config's `rootfs.diff_ids` must say.
 */
import { BerthError } from "../../errors.ts";
import { close, O, SysError } from "../../sys/libc.ts";
import { removeTree } from "../../sys/remove-tree.ts";
import {
  BeneathDir, chmodFd, chownFd, makeDev, OVERLAY_OPAQUE_XATTR, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, setXattrFd, utimesFd, writeFd,
} from "../../sys/layer-fs.ts";
import { decompressed, type Compression } from "./compression.ts";
import { ownerOf, readTar, xattrsOf, type TarHeader } from "./tar-reader.ts";

export interface AppliedLayer {
  /** sha256 of the uncompressed tar */
  diffId: string;
  /** bytes of the uncompressed tar */
  size: number;
  compression: Compression;
}

/** A layer whose bytes or entries cannot be applied: the message names the layer and the entry. */
export class LayerError extends BerthError {}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/**
 * Normalise a tar entry name to a path relative to the layer root ("" is the root
 * itself), or throw naming the entry. `./a//b/` → `a/b`.
 */
/** An entry's name as an error quotes it: a hostile one may be thousands of characters, shown by its two ends. */
function shownName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 100)}…${name.slice(-100)}` : name);
}

export function layerPath(name: string, what: string): string {
  if (name.startsWith("/")) throw new LayerError(`${what}: entry ${shownName(name)} has an absolute path; a layer's entries must be relative to its root`);
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw new LayerError(`${what}: entry ${shownName(name)} climbs out of the layer with '..'`);
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

function split(rel: string): [parent: string, base: string] {
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? ["", rel] : [rel.slice(0, slash), rel.slice(slash + 1)];
}

/**
 * Unpack the layer `source` (compressed or not) into `dir`, which exists (an active
 * snapshot's upper dir). `what` names the layer in errors.
 */
export async function applyLayer(source: ReadableStream<Uint8Array>, dir: string, what: string): Promise<AppliedLayer> {
  const { stream, compression } = await decompressed(source);
  const hasher = new Bun.CryptoHasher("sha256");
  let size = 0;
  const hashed = stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hasher.update(chunk);
      size += chunk.length;
      controller.enqueue(chunk);
    },
  }));
  const root = BeneathDir.open(dir);
  const writer = new LayerWriter(root, what);
  try {
    for await (const entry of readTarOrExplain(hashed, what)) await writer.apply(entry.header, entry.body);
    writer.finish();
  } finally {
    root.close();
  }
  return { diffId: `sha256:${hasher.digest("hex")}`, size, compression };
}

async function* readTarOrExplain(stream: ReadableStream<Uint8Array>, what: string) {
  try {
    yield* readTar(stream);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new LayerError(`${what}: not a readable tar (${(err as Error).message}); the layer is truncated or corrupt`, { cause: err });
  }
}

class LayerWriter {
  /** directories whose mtime is set once their entries are in */
  private readonly dirTimes: [rel: string, mtimeMs: number][] = [];

  constructor(private readonly root: BeneathDir, private readonly what: string) {}

  private refuse(name: string, why: string): never {
    throw new LayerError(`${this.what}: entry ${shownName(name)} ${why}`);
  }

  /** The O_PATH fd of directory `rel`, making missing ones (0755, as tar does); refusing one that leads out. */
  private parentFd(rel: string, name: string): number {
    try {
      return this.root.dir(rel);
    } catch (err) {
      const code = (err as SysError).code;
      if (code === "EXDEV" || code === "ELOOP") this.refuse(name, `leads outside the layer through a symlink in ${JSON.stringify(rel)}; refused`);
      if (code === "ENOTDIR") this.refuse(name, `has a parent ${JSON.stringify(rel)} that is not a directory`);
      if (code !== "ENOENT") throw err;
    }
    const [up, base] = split(rel);
    const upFd = this.parentFd(up, name);
    if (!this.root.lstatAt(upFd, base)) this.root.mkdirAt(upFd, base, 0o755);
    return this.parentFd(rel, name);
  }

  /** Make room for a new entry `base` in `dirFd`: what is there goes, unless both are directories. */
  private clear(dirFd: number, base: string, keepDir: boolean): boolean {
    const st = this.root.lstatAt(dirFd, base);
    if (!st) return false;
    const isDir = (st.mode & S_IFMT) === S_IFDIR;
    if (isDir && keepDir) return true;
    if (isDir) {
      removeTree(`/proc/self/fd/${dirFd}/${base}`);
      this.root.forget();
    } else this.root.unlinkAt(dirFd, base);
    return false;
  }

  /** Apply one entry; what fails is a LayerError naming the layer and the entry. */
  async apply(h: TarHeader, body: AsyncIterable<Uint8Array>): Promise<void> {
    try {
      await this.applyEntry(h, body);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      if (err instanceof SysError && (err.code === "ENOSPC" || err.code === "EDQUOT")) throw new LayerError(`${this.what}: no space left on the device while writing entry ${shownName(h.name)}; free space under the store (--root) and pull again`, { cause: err });
      // a system call's words without its path: the entry's name says where, shortened
      const why = err instanceof SysError ? new SysError(err.syscall, err.errno).message : (err as Error).message;
      throw new LayerError(`${this.what}: entry ${shownName(h.name)}: ${why}`, { cause: err });
    }
  }

  private async applyEntry(h: TarHeader, body: AsyncIterable<Uint8Array>): Promise<void> {
    const type = h.type ?? "file";
    if (type === "pax-global-header" || type === "pax-header" || type === "gnu-long-path" || type === "gnu-long-link-path") return;
    const rel = layerPath(h.name, this.what);
    const [parentRel, base] = split(rel);
    if (base.startsWith(WHITEOUT)) return this.whiteout(h.name, parentRel, base);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const { uid, gid } = ownerOf(h);
    const mtimeMs = h.mtime ? h.mtime.getTime() : 0;
    // Go's archive/tar refuses such a header too; a NaN would reach utimensat's timespec
    if (Number.isNaN(mtimeMs)) this.refuse(h.name, "has an mtime that is not a number; the layer is corrupt");
    if (rel === "") {
      // the layer's root itself ("./"): its metadata, as docker applies it
      if (type !== "directory") this.refuse(h.name, "names the layer's root but is not a directory");
      const fd = this.root.openBeneath("", O.RDONLY | O.DIRECTORY);
      try {
        chownFd(fd, uid, gid);
        chmodFd(fd, mode);
      } finally {
        close(fd);
      }
      this.dirTimes.push(["", mtimeMs]);
      return;
    }
    const dirFd = this.parentFd(parentRel, h.name);
    switch (type) {
      case "file":
      case "contiguous-file": {
        this.clear(dirFd, base, false);
        const fd = this.root.createFileAt(dirFd, base, 0o600);
        try {
          for await (const chunk of body) writeFd(fd, chunk);
          chownFd(fd, uid, gid);
          chmodFd(fd, mode);
          for (const [name, value] of xattrsOf(h)) setXattrFd(fd, name, value);
          utimesFd(fd, mtimeMs);
        } finally {
          close(fd);
        }
        return;
      }
      case "directory": {
        if (!this.clear(dirFd, base, true)) this.root.mkdirAt(dirFd, base, 0o700);
        this.root.chownAt(dirFd, base, uid, gid);
        this.root.chmodAt(dirFd, base, mode);
        const xattrs = xattrsOf(h);
        if (xattrs.size > 0) {
          const fd = this.root.openDirAt(dirFd, base);
          try {
            for (const [name, value] of xattrs) setXattrFd(fd, name, value);
          } finally {
            close(fd);
          }
        }
        this.dirTimes.push([rel, mtimeMs]);
        return;
      }
      case "symlink":
        this.clear(dirFd, base, false);
        this.root.symlinkAt(h.linkname ?? "", dirFd, base);
        this.root.chownAt(dirFd, base, uid, gid);
        this.root.utimesAt(dirFd, base, mtimeMs);
        return;
      case "link": {
        const target = layerPath(h.linkname ?? "", this.what);
        if (target === "") this.refuse(h.name, "is a hardlink to the layer's root");
        const [targetParent, targetBase] = split(target);
        let fromFd: number;
        try {
          fromFd = this.root.dir(targetParent);
        } catch (err) {
          const code = (err as SysError).code;
          if (code === "EXDEV" || code === "ELOOP") this.refuse(h.name, `is a hardlink to ${JSON.stringify(h.linkname)}, which leads outside the layer; refused`);
          this.refuse(h.name, `is a hardlink to ${JSON.stringify(h.linkname)}, which is not in this layer`);
        }
        const st = this.root.lstatAt(fromFd, targetBase);
        if (!st) this.refuse(h.name, `is a hardlink to ${JSON.stringify(h.linkname)}, which is not in this layer`);
        if ((st.mode & S_IFMT) === S_IFDIR) this.refuse(h.name, `is a hardlink to directory ${JSON.stringify(h.linkname)}`);
        if (target === rel) return;
        this.clear(dirFd, base, false);
        this.root.linkAt(fromFd, targetBase, dirFd, base);
        return;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        this.clear(dirFd, base, false);
        const kind = type === "fifo" ? S_IFIFO : type === "character-device" ? S_IFCHR : S_IFBLK;
        this.root.mknodAt(dirFd, base, kind | mode, type === "fifo" ? 0n : makeDev(h.devmajor ?? 0, h.devminor ?? 0));
        this.root.chownAt(dirFd, base, uid, gid);
        this.root.chmodAt(dirFd, base, mode);
        this.root.utimesAt(dirFd, base, mtimeMs);
        return;
      }
      default:
        // sparse files and other GNU extensions docker never writes
        this.refuse(h.name, `has tar type ${JSON.stringify(type)}, which berth cannot unpack`);
    }
  }

  private whiteout(name: string, parentRel: string, base: string): void {
    const dirFd = this.parentFd(parentRel, name);
    if (base === OPAQUE) {
      const fd = this.root.openBeneath(parentRel, O.RDONLY | O.DIRECTORY);
      try {
        setXattrFd(fd, OVERLAY_OPAQUE_XATTR, new TextEncoder().encode("y"));
      } finally {
        close(fd);
      }
      return;
    }
    if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return; // aufs's own bookkeeping (.wh..wh.plnk): nothing to apply
    const hidden = base.slice(WHITEOUT.length);
    this.clear(dirFd, hidden, false);
    this.root.mknodAt(dirFd, hidden, S_IFCHR, 0n);
  }

  /** Directory mtimes, now that nothing more is written in them. */
  finish(): void {
    for (const [rel, mtimeMs] of this.dirTimes.reverse()) {
      if (rel === "") {
        const fd = this.root.openBeneath("", O.RDONLY | O.DIRECTORY);
        try {
          utimesFd(fd, mtimeMs);
        } finally {
          close(fd);
        }
        continue;
      }
      const [parent, base] = split(rel);
      try {
        this.root.utimesAt(this.root.dir(parent), base, mtimeMs);
      } catch {
        // replaced or removed by a later entry
      }
    }
  }
}
