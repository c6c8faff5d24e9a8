/*
 * The mount ops: mounts in the root (resolved by in-root.c), masked and read-only paths,
 * device nodes and symlinks, pivot_root, and the detached trees host.c opened attached.
 */
#include "berth-init.h"

static const char *or_null(const char *s)
{
	return *s ? s : NULL;
}

/*
 * mount(2), and for a remount refused with EPERM, once more with the flags the kernel
 * locks on this mount (a mount from a less privileged user namespace keeps nosuid, nodev,
 * noexec, ro and its atime mode) or-ed in: asking for fewer of them is what EPERM means.
 */
static int mount_locked(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)
{
	if (mount(src, target, fstype, flags, data) == 0)
		return 0;
	if (!(flags & MS_REMOUNT) || errno != EPERM)
		return -1;
	struct statvfs st;
	static const struct { unsigned long st, ms; } locked[] = {
		{ ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_RDONLY, MS_RDONLY }, { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long more = flags;
	if (statvfs(target, &st) == 0)
		for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++)
			if (st.f_flag & locked[i].st)
				more |= locked[i].ms;
	errno = EPERM;
	return more == flags ? -1 : mount(src, target, fstype, more, data);
}

void do_mount(const struct op *op)
{
	must(mount_locked(or_null(S(0)), S(1), or_null(S(2)), I(3), or_null(S(4))), "mount", S(1));
}

/* MOUNT_IN_ROOT; an optional dest that is missing, or vanishes before the mount, is skipped. */
void do_mount_in_root(const struct op *op)
{
	int fd = in_root(S(0), S(1), I(6), S(2), (int)I(7));
	if (fd >= 0 && mount_locked(or_null(S(2)), fd_path(fd), or_null(S(3)), I(4), or_null(S(5))) < 0 && !(errno == ENOENT && I(7)))
		die("mount", S(1));
	close(fd);
}

void do_mount_setattr(const struct op *op)
{
	struct mount_attr attr = { .attr_set = I(2), .attr_clr = I(3), .propagation = I(4) };
	int fd = in_root(S(0), S(1), 0, NULL, 0);
	must(mount_setattr(fd, "", AT_EMPTY_PATH | (I(5) ? AT_RECURSIVE : 0), &attr, sizeof attr), "mount_setattr", S(1));
	close(fd);
}

/* MKNOD_IN_ROOT and SYMLINK_IN_ROOT: the last component made in its parent, resolved in root. */
void do_node_in_root(const struct op *op)
{
	char buf[PATH_MAX];
	const char *path = S(op->code == MKNOD_IN_ROOT ? 1 : 2), *base;
	int fd = parent_in_root(S(0), path, buf, &base);
	if (op->code == SYMLINK_IN_ROOT) {
		if (symlinkat(S(1), fd, base) < 0 && errno != EEXIST)
			die("symlinkat", path);
	} else {
		if (unlinkat(fd, base, 0) < 0 && errno != ENOENT)
			die("unlinkat", path);
		mode_t old = umask(0);
		int r = mknodat(fd, base, (mode_t)I(2), (dev_t)I(3));
		umask(old); /* never fails, never sets errno */
		must(r, "mknodat", path);
		must(fchownat(fd, base, (uid_t)I(4), (gid_t)I(5), AT_SYMLINK_NOFOLLOW), "fchownat", path);
	}
	close(fd);
}

/*
 * PIVOT_ROOT is runc's way: pivot onto itself, so the old root ends up stacked on "/",
 * then make it rslave (our unmount must not reach the host) and detach it. "." after
 * pivot_root is the new root, not the old one, so the old root is reached through an fd
 * opened before: making "." rslave would undo the container's own shared mounts.
 * MOVE_CHROOT (--no-pivot) moves the root onto "/" and chroots. CHROOT alone is for a
 * container without a mount namespace of its own: its root is a directory in the host's
 * mount table, which pivot_root or MS_MOVE would rearrange for the whole host (runc
 * chroots too).
 */
void do_enter_root(const struct op *op)
{
	const char *root = S(0);
	int oldroot = op->code == PIVOT_ROOT ? must(open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC), "open", "/") : -1;
	must(chdir(root), "chdir", root);
	if (op->code == PIVOT_ROOT) {
		must(syscall(SYS_pivot_root, ".", "."), "pivot_root", root);
		must(fchdir(oldroot), "fchdir", "old root");
		must(mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL), "mount", "old root");
		must(umount2(".", MNT_DETACH), "umount2", "old root");
	} else {
		if (op->code == MOVE_CHROOT)
			must(mount(root, "/", NULL, MS_MOVE, NULL), "mount", root);
		must(chroot("."), "chroot", root);
	}
	close(oldroot);
	must(chdir("/"), "chdir", "/");
}

/*
 * MASK_PATH is runc's maskPath: an empty read-only tmpfs over a directory, /dev/null
 * over the rest. BIND_SELF_IN_ROOT binds a path onto itself, the first half of a
 * read-only path. A missing path is nothing to mask, and an optional one to bind.
 */
void do_cover_in_root(const struct op *op)
{
	struct stat st;
	int mask = op->code == MASK_PATH;
	int fd = in_root(S(0), S(1), 0, NULL, mask || I(2));
	if (fd < 0)
		return;
	must(fstat(fd, &st), "fstat", S(1));
	const char *target = fd_path(fd);
	int r;
	if (!mask)
		r = mount(target, target, NULL, MS_BIND | MS_REC, NULL);
	else if (S_ISDIR(st.st_mode))
		r = mount("tmpfs", target, "tmpfs", MS_RDONLY, "");
	else
		r = mount("/dev/null", target, NULL, MS_BIND, NULL);
	must(r, "mount", S(1));
	close(fd);
}

void do_mkdir_in_root(const struct op *op)
{
	struct stat st;
	int fd = make_in_root(S(0), S(1), 0, (mode_t)I(2));
	must(fstat(fd, &st), "fstat", S(1));
	if (!S_ISDIR(st.st_mode))
		fail(ENOTDIR, "mkdirat", S(1));
	close(fd);
}

/* MOVE_TREE_IN_ROOT: attach the tree OPEN_TREE or IDMAP_TREE made at dest (created like the
 * tree: its own fstat, since source may not be reachable from here). */
void do_move_tree(const struct op *op)
{
	int tree = slots[I(0)] - 1;
	struct stat st;
	must(fstat(tree, &st), "fstat", S(3));
	int fd = in_root(S(1), S(2), S_ISDIR(st.st_mode) ? 1 : 2, NULL, 0);
	must(syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH), "move_mount", S(2));
	close(fd);
	close(tree);
	slots[I(0)] = 0;
}
