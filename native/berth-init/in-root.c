/*
 * Paths inside the root filesystem. Every op that names a path in the container's root
 * resolves it here, with openat2(RESOLVE_IN_ROOT), so a symlink in the image (absolute
 * or "..") can never lead outside the root, and acts on the O_PATH fd it gets back
 * (through /proc/self/fd/N). The kernel walks every path; only a missing one is made,
 * its parent first.
 */
#include "berth-init.h"

/* Dangling symlinks followed while making a path, as the kernel's MAXSYMLINKS. */
#define MAX_HOPS 40
/* make()s nested at once (one per missing component, through every link followed): past
 * this the path with its links expanded is too long, and the stack stays under 1 MiB. */
#define MAX_DEPTH 4096

/* An O_PATH fd for path resolved inside rootfd, magic links (/proc/self/fd/...) refused
 * too. EAGAIN means a concurrent rename raced the lookup; the kernel asks to retry. */
static int open_in_root(int rootfd, const char *path)
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

static int make(int rootfd, char *path, int file, mode_t mode, const char *whole, int hops);

/* The parent of path (a buffer, cut in place and put back), made as needed, and in *base
 * its last component. */
static int parent(int rootfd, char *path, const char **base, const char *whole, int hops)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = 0;
	char *slash = strrchr(path, '/'), *cut = slash;
	*base = slash ? slash + 1 : path;
	if (!slash)
		return must(open_in_root(rootfd, "/"), "openat2", whole);
	while (cut > path && cut[-1] == '/')
		cut--;
	static int depth;
	if (++depth > MAX_DEPTH)
		fail(ENAMETOOLONG, "openat2", whole);
	*cut = 0; /* "" is the root */
	int fd = make(rootfd, path, 0, 0755, whole, hops);
	*cut = '/';
	depth--;
	return fd;
}

/*
 * A dangling symlink met while making a path: make its target (relative to the link's
 * directory, `dirlen` bytes of path), in root. Out of make(), whose frames nest once per
 * missing component, so that only a chain of links holds these buffers.
 */
__attribute__((noinline)) static void follow(int rootfd, int dir, const char *name, const char *path, size_t dirlen,
					     int file, mode_t mode, const char *whole, int hops)
{
	char link[PATH_MAX], next[PATH_MAX];
	ssize_t n = readlinkat(dir, name, link, sizeof link - 1);
	if (n <= 0)
		return; /* not a link: made by someone else meanwhile */
	link[n] = 0;
	int len = snprintf(next, sizeof next, "%.*s%s", *link == '/' ? 0 : (int)dirlen, path, link);
	if (hops >= MAX_HOPS || len >= (int)sizeof next)
		fail(hops >= MAX_HOPS ? ELOOP : ENAMETOOLONG, "openat2", whole);
	close(make(rootfd, next, file, mode, whole, hops + 1));
}

/*
 * mkdir -p inside the root: a missing path is created in its parent, made the same way
 * (directories 0755; the last one a directory with `mode`, or an empty file with `mode`
 * when `file`). A dangling symlink is followed, in root, by making what it points to, so
 * an image's `/var/run -> /run` still works and `/evil -> /tmp/x` creates <root>/tmp/x,
 * never /tmp/x. Modes are applied exactly (umask cleared). Returns an O_PATH fd.
 */
static int make(int rootfd, char *path, int file, mode_t mode, const char *whole, int hops)
{
	int fd = open_in_root(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return must(fd, "openat2", whole);
	const char *name;
	int dir = parent(rootfd, path, &name, whole, hops);
	mode_t old = umask(0);
	int r = file ? openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) : mkdirat(dir, name, mode);
	umask(old); /* never fails, never sets errno */
	if (r < 0 && errno == EEXIST)
		follow(rootfd, dir, name, path, (size_t)(name - path), file, mode, whole, hops);
	else if (r < 0)
		die(file ? "openat" : "mkdirat", whole);
	else if (file)
		close(r);
	close(dir);
	return must(open_in_root(rootfd, path), "openat2", whole);
}

/* root's fd, and path copied into buf (PATH_MAX bytes), where make() and parent() cut it */
static int open_root(const char *root, const char *path, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s", path) >= PATH_MAX)
		fail(ENAMETOOLONG, "openat2", path);
	return must(open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), "open", root);
}

int make_in_root(const char *root, const char *path, int file, mode_t mode)
{
	char buf[PATH_MAX];
	int rootfd = open_root(root, path, buf);
	int fd = make(rootfd, buf, file, mode, path, 0);
	close(rootfd);
	return fd;
}

/* The parent directory of path inside root (created as needed) and its last component,
 * for the ops that create the last component themselves; dir holds PATH_MAX bytes. */
int parent_in_root(const char *root, const char *path, char *dir, const char **base)
{
	int rootfd = open_root(root, path, dir);
	int fd = parent(rootfd, dir, base, path, 0);
	close(rootfd);
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		fail(EINVAL, "openat2", path);
	return fd;
}

const char *fd_path(int fd)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
	return buf;
}

/*
 * path resolved in root; when missing, made as MOUNT_IN_ROOT's `create` says (1 a
 * directory, 2 a file, 3 like src: `stat(src)`), or with create 0 an error (ENOENT)
 * unless optional, when it is -1.
 */
int in_root(const char *root, const char *path, uint64_t create, const char *src, int optional)
{
	char buf[PATH_MAX];
	int rootfd = open_root(root, path, buf);
	int fd = open_in_root(rootfd, path);
	if (fd < 0 && errno == ENOENT && create) {
		struct stat st = { .st_mode = create == 1 ? S_IFDIR : S_IFREG };
		if (create == 3)
			must(stat(src, &st), "stat", src);
		int file = !S_ISDIR(st.st_mode);
		fd = make(rootfd, buf, file, file ? 0644 : 0755, path, 0);
	}
	if (fd < 0 && !(errno == ENOENT && optional))
		die("openat2", path);
	close(rootfd);
	return fd;
}
