/*
 * The mount ops: mounts in the root (resolved by in-root.c), masked and read-only paths,
 * device nodes and symlinks, pivot_root, and idmapped trees.
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
	if (statvfs(target, &st) < 0) {
		errno = EPERM;
		return -1;
	}
	static const struct { unsigned long st, ms; } locked[] = {
		{ ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_RDONLY, MS_RDONLY }, { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long more = flags;
	for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++)
		if (st.f_flag & locked[i].st)
			more |= locked[i].ms;
	if (more == flags) {
		errno = EPERM;
		return -1;
	}
	return mount(src, target, fstype, more, data);
}

void do_mount(const struct op *op)
{
	if (mount_locked(or_null(S(0)), S(1), or_null(S(2)), I(3), or_null(S(4))) < 0)
		die("mount", S(1));
}

void do_mount_in_root(const struct op *op)
{
	const char *dest = S(1), *src = S(2);
	uint64_t flags = I(4), create = I(6), optional = I(7);
	int rootfd = open_root(S(0));
	int fd = dest_in_root(rootfd, dest, create, src);
	if (fd < 0) {
		if (optional)
			goto out;
		die("openat2", dest);
	}
	if (mount_locked(or_null(src), fd_path(fd), or_null(S(3)), flags, or_null(S(5))) < 0) {
		if (!(errno == ENOENT && optional))
			die("mount", dest);
	}
	close(fd);
out:
	close(rootfd);
}

void do_mount_setattr(const struct op *op)
{
	struct mount_attr attr = { .attr_set = I(2), .attr_clr = I(3), .propagation = I(4) };
	int fd = resolve(S(0), S(1), 0);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (I(5) ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
		die("mount_setattr", S(1));
	close(fd);
}

void do_mknod_in_root(const struct op *op)
{
	char dir[PATH_MAX];
	const char *base;
	int rootfd = open_root(S(0));
	int fd = parent_in_root(rootfd, S(1), dir, &base);
	if (unlinkat(fd, base, 0) < 0 && errno != ENOENT)
		die("unlinkat", S(1));
	mode_t old = umask(0);
	int r = mknodat(fd, base, (mode_t)I(2), (dev_t)I(3));
	int err = errno;
	umask(old);
	errno = err;
	if (r < 0)
		die("mknodat", S(1));
	if (fchownat(fd, base, (uid_t)I(4), (gid_t)I(5), AT_SYMLINK_NOFOLLOW) < 0)
		die("fchownat", S(1));
	close(fd);
	close(rootfd);
}

void do_symlink_in_root(const struct op *op)
{
	char dir[PATH_MAX];
	const char *base;
	int rootfd = open_root(S(0));
	int fd = parent_in_root(rootfd, S(2), dir, &base);
	if (symlinkat(S(1), fd, base) < 0 && errno != EEXIST)
		die("symlinkat", S(2));
	close(fd);
	close(rootfd);
}

/*
 * runc's way: pivot onto itself, so the old root ends up stacked on "/", then make it
 * rslave (our unmount must not reach the host) and detach it. "." after pivot_root is
 * the new root, not the old one, so the old root is reached through an fd opened before:
 * making "." rslave would undo the container's own shared mounts.
 */
void do_pivot_root(const char *root)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		die("open", "/");
	if (chdir(root) < 0)
		die("chdir", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root", root);
	if (fchdir(oldroot) < 0)
		die("fchdir", "old root");
	close(oldroot);
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		die("mount", "old root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount2", "old root");
	if (chdir("/") < 0)
		die("chdir", "/");
}

void do_move_chroot(const char *root)
{
	if (chdir(root) < 0)
		die("chdir", root);
	if (mount(root, "/", NULL, MS_MOVE, NULL) < 0)
		die("mount", root);
	if (chroot(".") < 0)
		die("chroot", root);
	if (chdir("/") < 0)
		die("chdir", "/");
}

/*
 * No mount namespace of the container's own: the root is a directory in the host's mount
 * table, which pivot_root or MS_MOVE would rearrange for the whole host (runc chroots too).
 */
void do_chroot(const char *root)
{
	if (chdir(root) < 0)
		die("chdir", root);
	if (chroot(".") < 0)
		die("chroot", root);
	if (chdir("/") < 0)
		die("chdir", "/");
}

/* runc's maskPath: an empty read-only tmpfs over a directory, /dev/null over the rest */
void do_mask_path(const struct op *op)
{
	struct stat st;
	int fd = resolve(S(0), S(1), 1);
	if (fd < 0)
		return; /* nothing to mask */
	if (fstat(fd, &st) < 0)
		die("fstat", S(1));
	if (S_ISDIR(st.st_mode) ? mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY, "") < 0
				: mount("/dev/null", fd_path(fd), NULL, MS_BIND, NULL) < 0)
		die("mount", S(1));
	close(fd);
}

void do_bind_self_in_root(const struct op *op)
{
	int fd = resolve(S(0), S(1), (int)I(2));
	if (fd < 0)
		return;
	if (mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0)
		die("mount", S(1));
	close(fd);
}

void do_mkdir_in_root(const struct op *op)
{
	struct stat st;
	int rootfd = open_root(S(0));
	int fd = make_in_root(rootfd, S(1), 0, (mode_t)I(2));
	if (fstat(fd, &st) < 0)
		die("fstat", S(1));
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		die("mkdirat", S(1));
	}
	close(fd);
	close(rootfd);
}

/*
 * IDMAP_TREE: a detached copy of source (open_tree) whose ids go through a user namespace
 * made for it, with the mount's uid/gid maps: a file owned by containerID on disk shows
 * as hostID. Made here, in the host's user and mount namespaces (the maps are host ids),
 * and attached inside the root later by MOVE_TREE_IN_ROOT.
 */
void do_idmap_tree(const struct op *op)
{
	const char *source = S(1);
	unsigned int rec = I(4) ? AT_RECURSIVE : 0;
	int ready[2], hold[2];
	char c = 0, path[64];
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
		die("pipe2", NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) { /* holds the namespace open until the parent has its fd */
		close(ready[0]);
		close(hold[1]);
		c = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';
		if (write(ready[1], &c, 1) < 0)
			_exit(1);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	while (read(ready[0], &c, 1) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (c != 'u') {
		errno = EPERM;
		die("unshare", "user namespace for the idmapped mount");
	}
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	write_file(path, S(2));
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	write_file(path, S(3));
	snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		die("open", path);
	close(hold[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (tree < 0)
		die("open_tree", source);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) < 0)
		die("mount_setattr", source);
	close(ns);
	slots[I(0)] = tree + 1;
}

/*
 * OPEN_TREE: a detached copy of source (open_tree), made while source is reached as the
 * host's root in the host's namespaces — in a user namespace a source only the host's
 * root can reach would be EACCES — and attached in the root later by MOVE_TREE_IN_ROOT.
 */
void do_open_tree(const struct op *op)
{
	unsigned int rec = I(2) ? AT_RECURSIVE : 0;
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, S(1), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (tree < 0)
		die("open_tree", S(1));
	slots[I(0)] = tree + 1;
}

/* MOVE_TREE_IN_ROOT: attach the tree IDMAP_TREE or OPEN_TREE made at dest (created like the
 * tree: its own fstat, since source may not be reachable from here). */
void do_move_tree(const struct op *op)
{
	int tree = slots[I(0)] - 1;
	struct stat st;
	if (tree < 0) {
		errno = EBADF;
		die("move_mount", "no tree in slot");
	}
	if (fstat(tree, &st) < 0)
		die("fstat", S(3));
	int rootfd = open_root(S(1));
	int fd = dest_in_root(rootfd, S(2), S_ISDIR(st.st_mode) ? 1 : 2, S(3));
	if (fd < 0)
		die("openat2", S(2));
	if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("move_mount", S(2));
	close(fd);
	close(rootfd);
	close(tree);
	slots[I(0)] = 0;
}
