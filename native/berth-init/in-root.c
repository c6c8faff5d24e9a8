/*
 * Paths inside the root filesystem. Every op that names a path in the container's root
 * resolves it here, with openat2(RESOLVE_IN_ROOT), so a symlink in the image (absolute
 * or "..") can never lead outside the root, and acts on the O_PATH fd it gets back
 * (through /proc/self/fd/N).
 */
#include "berth-init.h"

/* Symlinks followed while creating missing parents, as the kernel's MAXSYMLINKS. */
#define MAX_HOPS 40

/*
 * An O_PATH fd for path resolved inside rootfd: ".." and absolute symlinks stop at the
 * root, magic links (/proc/self/fd/...) are refused. EAGAIN means a concurrent rename
 * raced the lookup; the kernel asks to retry.
 */
int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int tries = 0; tries < 64; tries++) {
		int fd = (int)syscall(SYS_openat2, rootfd, *path ? path : "/", &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			return fd;
	}
	return -1;
}

int open_root(const char *root)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open", root);
	return fd;
}

/* The O_PATH fd of path in root; -1 when it is missing and missing_ok. */
int resolve(const char *root, const char *path, int missing_ok)
{
	int rootfd = open_root(root);
	int fd = open_in_root(rootfd, path), err = errno;
	close(rootfd);
	errno = err;
	if (fd < 0 && !(err == ENOENT && missing_ok))
		die("openat2", path);
	return fd;
}

static void too_long(const char *path)
{
	errno = ENAMETOOLONG;
	die("openat2", path);
}

/*
 * mkdir -p inside the root: every missing component of path is created (directories 0755;
 * the last one a directory with `mode`, or an empty file with `mode` when `file`), each in
 * its parent as resolved in root. A dangling symlink is followed, in root, by creating
 * what it points to, so an image's `/var/run -> /run` still works and `/evil -> /tmp/x`
 * creates <root>/tmp/x, never /tmp/x. Modes are applied exactly (umask cleared). Returns
 * an O_PATH fd of the last component.
 */
int make_in_root(int rootfd, const char *path, int file, mode_t mode)
{
	char done[PATH_MAX] = "", rest[PATH_MAX], cand[PATH_MAX], link[PATH_MAX];
	int hops = 0;
	if (strlen(path) >= sizeof rest)
		too_long(path);
	strcpy(rest, path);
	for (;;) {
		char *p = rest + strspn(rest, "/");
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (snprintf(cand, sizeof cand, "%s/%.*s", done, (int)n, p) >= (int)sizeof cand)
			too_long(path);
		memmove(rest, p + n, strlen(p + n) + 1); /* rest is now "" or "/more" */
		int last = rest[strspn(rest, "/")] == 0;
		int fd = open_in_root(rootfd, cand);
		if (fd >= 0) {
			close(fd);
			strcpy(done, cand);
			continue;
		}
		if (errno != ENOENT)
			die("openat2", path);
		int dirfd = open_in_root(rootfd, done);
		if (dirfd < 0)
			die("openat2", path);
		const char *name = cand + strlen(done) + 1, *call = "mkdirat";
		mode_t old = umask(0);
		int r;
		if (last && file) {
			call = "openat";
			r = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (r >= 0)
				close(r);
		} else {
			r = mkdirat(dirfd, name, last ? mode : 0755);
		}
		int err = errno;
		umask(old);
		if (r < 0 && err == EEXIST) {
			ssize_t ln = readlinkat(dirfd, name, link, sizeof link - 1);
			if (ln > 0) { /* dangling symlink: continue with its target in front of rest */
				if (++hops > MAX_HOPS) {
					errno = ELOOP;
					die("openat2", path);
				}
				if ((size_t)ln + strlen(rest) >= sizeof rest)
					too_long(path);
				memmove(rest + ln, rest, strlen(rest) + 1);
				memcpy(rest, link, (size_t)ln);
				if (link[0] == '/')
					done[0] = 0;
				close(dirfd);
				continue;
			}
			r = 0; /* created by someone else meanwhile */
		}
		close(dirfd);
		if (r < 0) {
			errno = err;
			die(call, path);
		}
		strcpy(done, cand);
	}
	int fd = open_in_root(rootfd, done);
	if (fd < 0)
		die("openat2", path);
	return fd;
}

/* The parent directory of path inside the root (created as needed) and its last
 * component, for the ops that create the last component themselves. */
int parent_in_root(int rootfd, const char *path, char *dir, const char **base)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= PATH_MAX)
		too_long(path);
	memcpy(dir, path, len);
	dir[len] = 0;
	char *slash = strrchr(dir, '/');
	*base = slash ? slash + 1 : dir;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, "..")) {
		errno = EINVAL;
		die("openat2", path);
	}
	if (slash)
		*slash = 0; /* base stays intact after the cut; make_in_root only reads dir */
	return make_in_root(rootfd, slash ? dir : "/", 0, 0755);
}

const char *fd_path(int fd)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
	return buf;
}

/* dest resolved in root, made when missing as MOUNT_IN_ROOT's `create` says; -1 when it
 * is missing and create is 0 (errno ENOENT). */
int dest_in_root(int rootfd, const char *dest, uint64_t create, const char *src)
{
	int fd = open_in_root(rootfd, dest);
	if (fd >= 0 || errno != ENOENT || create == 0) {
		if (fd < 0 && errno != ENOENT)
			die("openat2", dest);
		return fd;
	}
	int file = create == 2;
	if (create == 3) {
		struct stat st;
		if (stat(src, &st) < 0)
			die("stat", src);
		file = !S_ISDIR(st.st_mode);
	}
	return make_in_root(rootfd, dest, file, file ? 0644 : 0755);
}
