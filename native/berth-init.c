/*
 * berth-init: the code that runs between clone() and execve(), where the multi-threaded
 * runtime (Bun) cannot be. It executes an init plan built in TypeScript (src/plan/), op
 * by op, and stops at the first failure. It decides nothing: no JSON, no defaults, no
 * policy. native/PROTOCOL.md is the contract; change the two together.
 *
 * Single-threaded and static. Reports are formatted into a buffer and written with one
 * write(2): no stdio buffer that fork() could duplicate or _exit() could drop.
 *
 *   gcc -static -O2 -Wall -Wextra -Werror -o native/build/berth-init native/berth-init.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Op codes: the wire interface with src/plan/ops.ts. */
enum {
	SETNS = 1, UNSHARE, USERNS_SYNC, FORK, WRITE_FILE, MOUNT, MOUNT_IN_ROOT, MOUNT_SETATTR,
	MKNOD_IN_ROOT, SYMLINK_IN_ROOT, PIVOT_ROOT, MOVE_CHROOT, SETHOSTNAME, SETDOMAINNAME,
	SETRLIMIT, LOOPBACK_UP, CHDIR, SETGROUPS, SETRESGID, SETRESUID, UMASK, KEEPCAPS, CAPS,
	NO_NEW_PRIVS, SECCOMP, OPEN_DIR, READY, WAIT_START, FIND_EXEC, EXEC, CLOSE_FROM,
	RESET_SIGNALS, SETSID, JOIN_KEYRING, MASK_PATH, BIND_SELF_IN_ROOT, MKDIR_IN_ROOT,
	PERSONALITY, IOPRIO, SCHED_SETATTR, IDMAP_TREE, MOVE_TREE_IN_ROOT, CONNECT_UNIX,
	SECCOMP_NOTIFY, HOOK_SYNC, RUN_HOOK, CONSOLE, CONSOLE_STDIO, OPEN_PATH, NOPS
};

/* Fds an op keeps for a later op (an idmapped tree, a connected socket), by slot. */
#define NSLOTS 64

/*
 * Argument types per op: s = string (NUL-terminated, no NUL inside), i = 8-byte integer,
 * u = 8-byte integer that fits in 32 bits (so a cast can never change its meaning),
 * g = a uid/gid: fits in 32 bits and is not -1, which set*id(2) reads as "leave unchanged",
 * b = raw bytes. A trailing * repeats the type before it zero or more times, + one or more.
 */
static const char *const SIGNATURE[NOPS] = {
	[SETNS] = "su", [UNSHARE] = "u", [USERNS_SYNC] = "", [FORK] = "uuu",
	[WRITE_FILE] = "ss", [MOUNT] = "sssis", [MOUNT_IN_ROOT] = "ssssisuu",
	[MOUNT_SETATTR] = "ssiiiu", [MKNOD_IN_ROOT] = "ssuiuu", [SYMLINK_IN_ROOT] = "sss",
	[PIVOT_ROOT] = "s", [MOVE_CHROOT] = "s", [SETHOSTNAME] = "s", [SETDOMAINNAME] = "s",
	[SETRLIMIT] = "uii", [LOOPBACK_UP] = "", [CHDIR] = "s", [SETGROUPS] = "g*",
	[SETRESGID] = "g", [SETRESUID] = "g", [UMASK] = "u", [KEEPCAPS] = "u",
	[CAPS] = "iiiii", [NO_NEW_PRIVS] = "", [SECCOMP] = "ub", [OPEN_DIR] = "s",
	[READY] = "", [WAIT_START] = "s", [FIND_EXEC] = "s+", [EXEC] = "us*",
	[CLOSE_FROM] = "u", [RESET_SIGNALS] = "", [SETSID] = "", [JOIN_KEYRING] = "s",
	[MASK_PATH] = "ss", [BIND_SELF_IN_ROOT] = "ssu", [MKDIR_IN_ROOT] = "ssu",
	[PERSONALITY] = "u", [IOPRIO] = "u", [SCHED_SETATTR] = "b", [IDMAP_TREE] = "usssu",
	[MOVE_TREE_IN_ROOT] = "usss", [CONNECT_UNIX] = "us", [SECCOMP_NOTIFY] = "ubu",
	[HOOK_SYNC] = "", [RUN_HOOK] = "usus*", [CONSOLE] = "suuu", [CONSOLE_STDIO] = "",
	[OPEN_PATH] = "us",
};

/* A plan bigger than this is a runtime bug, not a container: refuse it before malloc. */
#define MAX_PLAN (64u << 20)
/* Symlinks followed while creating missing parents, as the kernel's MAXSYMLINKS. */
#define MAX_HOPS 40

struct arg {
	const unsigned char *p;
	uint32_t len;
};

struct op {
	uint32_t code, argc;
	struct arg *args;
};

static int sock = -1;		/* closed by FORK (parent) and READY */
static long step = -1;		/* the op being run, for error reports; -1 = the header */
static int startdir = -1;	/* OPEN_DIR, for WAIT_START after pivot_root */
static const char *found;	/* FIND_EXEC's winner, for EXEC */
static int slots[NSLOTS];	/* kept fds + 1 (0 = empty) */
static char *hook_state;	/* HOOK_SYNC: the state JSON hooks read on stdin */
static int console_peer = -1;	/* FORK with a console: the child's end, where CONSOLE sends the master */
static int console_slave = -1;	/* CONSOLE: the pty's slave, for CONSOLE_STDIO */
static int proxy_status = -1;	/* the proxied process's wait status, once reaped by the proxy */
static uint32_t hook_state_len;

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line on fd, in one write; a line too long for the buffer is cut but stays a line. */
static int vline(int fd, const char *fmt, va_list ap)
{
	char buf[8192];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof buf) {
		n = sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	return write_all(fd, buf, (size_t)n);
}

/* A report on the socket. A runtime that went away cannot be told anything more. */
__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vline(sock, fmt, ap);
	va_end(ap);
	if (r < 0)
		_exit(1);
}

/* After READY: fd 2 is the container's stderr, the only place left to say why. */
__attribute__((format(printf, 1, 2))) static void complain(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vline(2, fmt, ap);
	va_end(ap);
}

/*
 * Report the failure of op `step` with the current errno and exit 1: on the socket before
 * READY, on fd 2 after it (the socket is gone then, and fd 2 is the container's stderr).
 */
static _Noreturn void die(const char *call, const char *detail)
{
	int err = errno;
	char d[4096] = "";
	if (detail) { /* a newline in a path would end the report line early */
		snprintf(d, sizeof d, " %s", detail);
		for (char *c = d; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = '?';
	}
	if (sock >= 0)
		report("error %ld %d %s%s\n", step, err, call, d);
	else
		complain("berth-init: step %ld: %s%s: %s\n", step, call, d, strerror(err));
	_exit(1);
}

static _Noreturn void bad_plan(const char *what, long arg)
{
	char d[64];
	if (arg >= 0)
		snprintf(d, sizeof d, "%s %ld", what, arg);
	else
		snprintf(d, sizeof d, "%s", what);
	errno = EINVAL;
	die("plan", d);
}

/* ---- the plan ---------------------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static int arg_ok(char type, const struct arg *a)
{
	switch (type) {
	case 's': /* exactly one NUL, the last byte */
		return a->len > 0 && memchr(a->p, 0, a->len) == a->p + a->len - 1;
	case 'i':
		return a->len == 8;
	case 'u':
		return a->len == 8 && get64(a->p) <= UINT32_MAX;
	case 'g':
		return a->len == 8 && get64(a->p) < UINT32_MAX;
	default:
		return 1;
	}
}

/* Check an op's argument count and types against its signature, and the few values the
 * kernel would otherwise misread (EXEC's argc, a seccomp program's length). */
static void validate(const struct op *op)
{
	const char *sig = op->code < NOPS ? SIGNATURE[op->code] : NULL;
	if (!sig)
		bad_plan("unknown op", op->code);
	size_t n = strlen(sig);
	char rep = n && (sig[n - 1] == '*' || sig[n - 1] == '+') ? sig[n - 1] : 0;
	size_t fixed = rep ? n - 2 : n;
	if (op->argc < fixed + (rep == '+') || (!rep && op->argc != fixed))
		bad_plan("argument count", op->argc);
	for (uint32_t i = 0; i < op->argc; i++)
		if (!arg_ok(i < fixed ? sig[i] : sig[fixed], &op->args[i]))
			bad_plan("argument", i);
	if (op->code == EXEC) {
		uint64_t argc = get64(op->args[0].p);
		if (argc < 1 || argc > op->argc - 1)
			bad_plan("argc", (long)argc);
	}
	if (op->code == RUN_HOOK) {
		uint64_t argc = get64(op->args[2].p);
		if (argc < 1 || argc > op->argc - 3)
			bad_plan("argc", (long)argc);
	}
	if (op->code == MOUNT_IN_ROOT && get64(op->args[6].p) > 3)
		bad_plan("create", (long)get64(op->args[6].p));
	if ((op->code == IDMAP_TREE || op->code == MOVE_TREE_IN_ROOT || op->code == CONNECT_UNIX || op->code == OPEN_PATH) && get64(op->args[0].p) >= NSLOTS)
		bad_plan("slot", (long)get64(op->args[0].p));
	if (op->code == FORK && get64(op->args[2].p) > NSLOTS)
		bad_plan("slot", (long)get64(op->args[2].p));
	if (op->code == CONSOLE && get64(op->args[1].p) > NSLOTS)
		bad_plan("slot", (long)get64(op->args[1].p));
	if (op->code == SECCOMP_NOTIFY && get64(op->args[2].p) >= NSLOTS)
		bad_plan("slot", (long)get64(op->args[2].p));
	if (op->code == SCHED_SETATTR && op->args[0].len < 48)
		bad_plan("sched_attr size", op->args[0].len);
	if (op->code == SECCOMP || op->code == SECCOMP_NOTIFY) {
		uint32_t len = op->args[1].len;
		if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > USHRT_MAX)
			bad_plan("program length", len);
	}
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t at = 0;
	while (at < len) {
		ssize_t n = read(fd, (char *)buf + at, len - at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read", "plan");
		if (n == 0)
			return -1;
		at += (size_t)n;
	}
	return 0;
}

/* Read the whole plan and check every op before running the first: a malformed plan does
 * nothing at all. */
static struct op *read_plan(uint32_t *count)
{
	unsigned char head[16];
	if (read_all(sock, head, sizeof head) < 0)
		bad_plan("short header", -1);
	if (memcmp(head, "BRTHPLN3", 8) != 0)
		bad_plan("magic", -1);
	uint32_t total = get32(head + 8), n = get32(head + 12);
	if (total < sizeof head || total > MAX_PLAN)
		bad_plan("total_len", total);
	size_t len = total - sizeof head;
	unsigned char *buf = malloc(len + 1);
	if (!buf)
		die("malloc", "plan");
	if (read_all(sock, buf, len) < 0)
		bad_plan("short plan", -1);
	/* every op takes at least 8 bytes: this bounds the allocation by what was sent */
	if (n > len / 8)
		bad_plan("op_count", n);
	struct op *ops = calloc(n ? n : 1, sizeof *ops);
	if (!ops)
		die("malloc", "plan");
	size_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		step = i;
		struct op *op = &ops[i];
		if (len - at < 8)
			bad_plan("truncated op", -1);
		op->code = get32(buf + at);
		op->argc = get32(buf + at + 4);
		at += 8;
		if (op->argc > (len - at) / 4)
			bad_plan("argument count", op->argc);
		op->args = calloc(op->argc ? op->argc : 1, sizeof *op->args);
		if (!op->args)
			die("malloc", "plan");
		for (uint32_t j = 0; j < op->argc; j++) {
			if (len - at < 4)
				bad_plan("truncated argument", j);
			uint32_t alen = get32(buf + at);
			at += 4;
			if (alen > len - at)
				bad_plan("truncated argument", j);
			op->args[j] = (struct arg){ buf + at, alen };
			at += alen;
		}
		validate(op);
	}
	step = -1;
	if (at != len)
		bad_plan("trailing bytes", (long)(len - at));
	*count = n;
	return ops;
}

/* ---- paths inside the root filesystem ------------------------------------------------ */

/*
 * An O_PATH fd for path resolved inside rootfd: ".." and absolute symlinks stop at the
 * root, magic links (/proc/self/fd/...) are refused. EAGAIN means a concurrent rename
 * raced the lookup; the kernel asks to retry.
 */
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

static int open_root(const char *root)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open", root);
	return fd;
}

/* The O_PATH fd of path in root; -1 when it is missing and missing_ok. */
static int resolve(const char *root, const char *path, int missing_ok)
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
static int make_in_root(int rootfd, const char *path, int file, mode_t mode)
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
static int parent_in_root(int rootfd, const char *path, char *dir, const char **base)
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

static const char *fd_path(int fd)
{
	static char buf[32];
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
	return buf;
}

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

/* ---- ops --------------------------------------------------------------------------- */

#define S(i) ((const char *)op->args[i].p)
#define I(i) get64(op->args[i].p)

static void proxy_console(int master, pid_t pid);
static int recv_fd(int from);

/*
 * fork(), or with a cgroup directory's fd in `slot` (OPEN_PATH, opened while the path was
 * still the host's) clone3(CLONE_INTO_CGROUP): the child is born in that cgroup2 directory. Writing a pid into cgroup.procs instead takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, an RCU grace period (10–25 ms measured here);
 * a fork into the cgroup takes it only for reading. Raw syscall: glibc has no clone3
 * wrapper that returns twice, and this process is single-threaded, so glibc's fork
 * bookkeeping (atfork handlers, lock resets) has nothing to do.
 */
static pid_t fork_into(uint64_t slot)
{
	if (slot == NSLOTS)
		return fork();
	int fd = slots[slot] - 1;
	if (fd < 0) {
		errno = EBADF;
		die("clone3", "cgroup slot");
	}
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)fd;
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		die("clone3", NULL);
	close(fd);
	slots[slot] = 0;
	return pid;
}

static void do_fork(uint64_t wait, uint64_t console, uint64_t cgroup_slot)
{
	/* The child waits for this pipe's EOF so that `pid N` is on the socket before anything
	 * the child reports: the runtime must know the init's pid before `ready` or `error`. */
	int gate[2], peer[2] = { -1, -1 };
	if (pipe2(gate, O_CLOEXEC) < 0)
		die("pipe2", NULL);
	if (console && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, peer) < 0)
		die("socketpair", "console");
	pid_t pid = fork_into(cgroup_slot);
	if (pid < 0)
		die("fork", NULL);
	if (pid == 0) {
		char c;
		if (console) {
			close(peer[0]);
			console_peer = peer[1];
		}
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
		return;
	}
	report("pid %d\n", pid);
	close(sock);
	sock = -1;
	close(gate[0]);
	close(gate[1]);
	if (!wait)
		_exit(0);
	/* The terminal's or the runtime's signals are for the container: it decides. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (console) {
		close(peer[1]);
		int master = recv_fd(peer[0]);
		close(peer[0]);
		if (master >= 0)
			proxy_console(master, pid);
	}
	int status = proxy_status;
	while (status == -1 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", NULL);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* WRITE_FILE: proc and sys files take a value in one write or not at all. */
static void write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	ssize_t n = write(fd, data, len);
	if (n >= 0 && (size_t)n != len)
		errno = EIO;
	if (n < 0 || (size_t)n != len)
		die("write", path);
	close(fd);
}

/* dest resolved in root, made when missing as MOUNT_IN_ROOT's `create` says; -1 when it
 * is missing and create is 0 (errno ENOENT). */
static int dest_in_root(int rootfd, const char *dest, uint64_t create, const char *src)
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

static void do_mount_in_root(const struct op *op)
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

static void do_caps(const struct op *op)
{
	uint64_t bounding = I(0), eff = I(1), perm = I(2), inh = I(3), ambient = I(4);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct now[2];
	/* After SETRESUID to a non-root user KEEPCAPS keeps the permitted set but empties the
	 * effective one, and dropping from the bounding set needs CAP_SETPCAP effective:
	 * raise effective to permitted first. */
	if (syscall(SYS_capget, &hdr, now) < 0)
		die("capget", NULL);
	now[0].effective = now[0].permitted;
	now[1].effective = now[1].permitted;
	if (syscall(SYS_capset, &hdr, now) < 0)
		die("capset", NULL);
	for (int cap = 0; cap < 64; cap++) {
		if (bounding & (1ULL << cap))
			continue;
		/* EINVAL: this kernel has no such capability, so there is nothing to drop */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die("prctl", "PR_CAPBSET_DROP");
	}
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)perm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		die("capset", NULL);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die("prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
	for (int cap = 0; cap < 64; cap++) {
		if (!(ambient & (1ULL << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			char d[48];
			snprintf(d, sizeof d, "PR_CAP_AMBIENT_RAISE %d", cap);
			die("prctl", d);
		}
	}
}

static void do_close_from(unsigned int from)
{
	if (close_range(from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (errno != ENOSYS && errno != EINVAL) /* EINVAL: a kernel without the CLOEXEC flag */
		die("close_range", NULL);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("open", "/proc/self/fd");
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd >= (int)from && fd != dirfd(d))
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	closedir(d);
}

/* Through the raw system calls: glibc's wrappers refuse signals 32 and 33 (its own), and
 * the runtime's dispositions and mask must not reach the container for any signal. */
static void do_reset_signals(void)
{
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } sa = { SIG_DFL, 0, NULL, 0 };
	uint64_t none = 0;
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none) < 0)
		die("rt_sigprocmask", NULL);
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof sa.mask);
}

/* execvp's rules: a candidate the user cannot even reach (EACCES on a directory on the
 * way) does not stop the search, but is what is reported when nothing is found. */
static void do_find_exec(const struct op *op)
{
	const char *denied = NULL;
	for (uint32_t i = 0; i < op->argc; i++) {
		const char *c = S(i);
		struct stat st;
		if (faccessat(AT_FDCWD, c, F_OK, AT_EACCESS) < 0) {
			if (errno == EACCES && !denied)
				denied = c;
			continue;
		}
		if (stat(c, &st) < 0)
			die("stat", c);
		if (!S_ISREG(st.st_mode)) {
			errno = EACCES;
			die("faccessat", c);
		}
		if (faccessat(AT_FDCWD, c, X_OK, AT_EACCESS) < 0)
			die("faccessat", c);
		found = c;
		return;
	}
	errno = denied ? EACCES : ENOENT;
	die("faccessat", denied ? denied : S(0));
}

static void do_exec(const struct op *op)
{
	uint32_t argc = (uint32_t)I(0), envc = op->argc - 1 - argc;
	char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 1, sizeof *envp);
	if (!argv || !envp)
		die("malloc", NULL);
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = (char *)S(1 + i);
	for (uint32_t i = 0; i < envc; i++)
		envp[i] = (char *)S(1 + argc + i);
	const char *path = found ? found : argv[0];
	if (found)
		execve(found, argv, envp);
	else
		errno = ENOENT; /* no FIND_EXEC: nothing was looked up, so nothing runs */
	if (sock >= 0)
		die("execve", path);
	int err = errno;
	complain("berth-init: exec %s: %s\n", path, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/*
 * IDMAP_TREE: a detached copy of source (open_tree) whose ids go through a user namespace
 * made for it, with the mount's uid/gid maps: a file owned by containerID on disk shows
 * as hostID. Made here, in the host's user and mount namespaces (the maps are host ids),
 * and attached inside the root later by MOVE_TREE_IN_ROOT.
 */
static void do_idmap_tree(const struct op *op)
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

/* MOVE_TREE_IN_ROOT: attach the tree IDMAP_TREE made at dest (created like source). */
static void do_move_tree(const struct op *op)
{
	int tree = slots[I(0)] - 1;
	if (tree < 0) {
		errno = EBADF;
		die("move_mount", "no tree in slot");
	}
	int rootfd = open_root(S(1));
	int fd = dest_in_root(rootfd, S(2), 3, S(3));
	if (fd < 0)
		die("openat2", S(2));
	if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die("move_mount", S(2));
	close(fd);
	close(rootfd);
	close(tree);
	slots[I(0)] = 0;
}

/* CONNECT_UNIX: connected early, while the path is still the host's. */
static void do_connect_unix(const struct op *op)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(S(1)) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		die("connect", S(1));
	}
	strcpy(sa.sun_path, S(1));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", S(1));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect", S(1));
	slots[I(0)] = fd + 1;
}

/* One fd as SCM_RIGHTS with `len` bytes of data: runc's console-socket message (the
 * data a name) and runtime-spec's seccomp agent message (the data the state JSON). */
static int send_fd(int to, int fd, const void *data, size_t len)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec iov = { (void *)data, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	while ((n = sendmsg(to, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n < 0 ? -1 : 0;
}

/*
 * SECCOMP_NOTIFY: report `seccomp`, read the container process state the runtime sends
 * back (u32 length, bytes), load the filter with a listener, and send the state with the
 * listener fd as SCM_RIGHTS on the socket in `slot` (runtime-spec's seccomp agent
 * protocol). The state is fetched before the filter exists: only sendmsg and close run
 * under it before the agent holds the listener.
 */
static void do_seccomp_notify(const struct op *op)
{
	int conn = slots[I(2)] - 1;
	unsigned char len[4];
	report("seccomp\n");
	if (read_all(sock, len, sizeof len) < 0)
		_exit(1); /* the runtime gave up; it reports why */
	uint32_t n = get32(len);
	if (n > (1u << 20))
		bad_plan("state length", n);
	char *state = malloc(n + 1);
	if (!state)
		die("malloc", NULL);
	if (n && read_all(sock, state, n) < 0)
		_exit(1);
	struct sock_fprog prog = {
		.len = (unsigned short)(op->args[1].len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)op->args[1].p,
	};
	int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)I(0) | SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		die("seccomp", NULL);
	if (send_fd(conn, fd, state, n) < 0)
		die("sendmsg", "seccomp listener");
	close(fd);
	close(conn);
	slots[I(2)] = 0;
	free(state);
}

/* HOOK_SYNC: the runtime runs the create-time hooks while the init waits here, and
 * answers with the state JSON that startContainer hooks will read. */
static void do_hook_sync(void)
{
	unsigned char len[4];
	report("hooks\n");
	if (read_all(sock, len, sizeof len) < 0)
		_exit(1); /* the runtime gave up (a hook failed); it reports why */
	hook_state_len = get32(len);
	if (hook_state_len > (1u << 20))
		bad_plan("state length", hook_state_len);
	hook_state = malloc(hook_state_len + 1);
	if (!hook_state)
		die("malloc", NULL);
	if (hook_state_len && read_all(sock, hook_state, hook_state_len) < 0)
		_exit(1);
}

/*
 * RUN_HOOK (startContainer): run the hook in the container, the state JSON on its stdin,
 * killed after `timeout` seconds (0: no limit). It runs after READY, so a failure is
 * said on the container's stderr and the init exits 1 before the program ever runs.
 */
static void do_run_hook(const struct op *op)
{
	uint64_t timeout = I(0);
	const char *path = S(1);
	uint32_t argc = (uint32_t)I(2), envc = op->argc - 3 - argc;
	char **argv = calloc(argc + 1, sizeof *argv), **envp = calloc(envc + 1, sizeof *envp);
	if (!argv || !envp)
		die("malloc", NULL);
	for (uint32_t i = 0; i < argc; i++)
		argv[i] = (char *)S(3 + i);
	for (uint32_t i = 0; i < envc; i++)
		envp[i] = (char *)S(3 + argc + i);
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		die("pipe2", path);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", path);
	if (pid == 0) {
		if (dup2(in[0], 0) < 0)
			_exit(127);
		execve(path, argv, envp);
		complain("berth-init: startContainer hook %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN); /* a hook that does not read its stdin is fine */
	if (hook_state_len)
		(void)write_all(in[1], hook_state, hook_state_len);
	close(in[1]);
	int status = 0;
	for (uint64_t waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, timeout ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			die("waitpid", path);
		if (timeout && waited >= timeout * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			complain("berth-init: startContainer hook %s timed out after %llu s\n", path, (unsigned long long)timeout);
			_exit(1);
		}
		usleep(10000);
	}
	signal(SIGPIPE, SIG_DFL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			complain("berth-init: startContainer hook %s exited with status %d\n", path, WEXITSTATUS(status));
		else
			complain("berth-init: startContainer hook %s killed by signal %d\n", path, WTERMSIG(status));
		_exit(1);
	}
	free(argv);
	free(envp);
}

/* The fd sent by send_fd, or -1 when the sender closed without sending. */
static int recv_fd(int from)
{
	char name[4096];
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { name, sizeof name };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t n;
	while ((n = recvmsg(from, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/*
 * CONSOLE: a pty from the container's own devpts (root/dev/ptmx, or /dev/ptmx once in the
 * container's mount namespace), its slave kept for CONSOLE_STDIO and bound onto
 * root/dev/console, and its master sent away: to the --console-socket connected in
 * `slot`, or (slot == NSLOTS) to the waiting parent, which proxies the runtime's stdio.
 */
static void do_console(const struct op *op)
{
	const char *root = S(0);
	uint64_t slot = I(1);
	char path[64], target[64];
	int ptmx = -1, master, rootfd = -1;
	if (*root) {
		rootfd = open_root(root);
		if ((ptmx = open_in_root(rootfd, "/dev/ptmx")) < 0)
			die("openat2", "/dev/ptmx");
		snprintf(path, sizeof path, "/proc/self/fd/%d", ptmx);
		master = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	} else {
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (master < 0)
		die("open", "/dev/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		die("ioctl", "TIOCSPTLCK");
	if ((console_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		die("ioctl", "TIOCGPTPEER");
	if (I(2) && I(3)) {
		struct winsize ws = { .ws_row = (unsigned short)I(2), .ws_col = (unsigned short)I(3) };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			die("ioctl", "TIOCSWINSZ");
	}
	if (*root) {
		int dest = dest_in_root(rootfd, "/dev/console", 2, "");
		if (dest < 0)
			die("openat2", "/dev/console");
		snprintf(path, sizeof path, "/proc/self/fd/%d", console_slave);
		snprintf(target, sizeof target, "/proc/self/fd/%d", dest);
		if (mount(path, target, NULL, MS_BIND, NULL) < 0)
			die("mount", "/dev/console");
		close(dest);
		close(ptmx);
		close(rootfd);
	}
	int to = slot == NSLOTS ? console_peer : slots[slot] - 1;
	if (to < 0) {
		errno = EBADF;
		die("sendmsg", "console");
	}
	if (send_fd(to, master, "/dev/ptmx", strlen("/dev/ptmx")) < 0)
		die("sendmsg", "console");
	close(master);
	close(to);
	if (slot == NSLOTS)
		console_peer = -1;
	else
		slots[slot] = 0;
}

static volatile sig_atomic_t winch;
static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

/*
 * The foreground terminal (`run`/`exec` without --detach): the runtime's stdin goes to
 * the pty's master and the master to its stdout, with the caller's terminal raw and its
 * window size followed, until the container's side closes and the process has exited.
 */
static void proxy_console(int master, pid_t pid)
{
	struct termios saved, raw;
	int tty = isatty(0) && tcgetattr(0, &saved) == 0;
	struct winsize ws;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		/* the caller's size wins over consoleSize, as in runc — unless it has none */
		if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
			ioctl(master, TIOCSWINSZ, &ws);
		struct sigaction sa = { .sa_handler = on_winch };
		sigaction(SIGWINCH, &sa, NULL);
	}
	struct pollfd fds[2] = { { .fd = 0, .events = POLLIN }, { .fd = master, .events = POLLIN } };
	char buf[8192];
	int exited = 0;
	for (;;) {
		if (winch) {
			winch = 0;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
				ioctl(master, TIOCSWINSZ, &ws);
		}
		int n = poll(fds, 2, exited ? 0 : 100);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(master, buf, sizeof buf);
			if (r <= 0 && errno != EINTR && errno != EAGAIN)
				break; /* EIO: every slave is closed */
			if (r > 0 && write_all(1, buf, (size_t)r) < 0)
				break;
		}
		if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r > 0)
				(void)write_all(master, buf, (size_t)r);
			else
				fds[0].fd = -1; /* the runtime's stdin ended; the container's goes on */
		}
		if (n == 0 && exited)
			break; /* drained what the exited process left */
		if (!exited) {
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				/* keep the status for the caller's waitpid: re-fork is not possible, so stash it */
				exited = 1;
				proxy_status = st;
			}
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(master);
}

static void run(const struct op *op)
{
	int fd, rootfd;
	switch (op->code) {
	case SETNS:
		if ((fd = open(S(0), O_RDONLY | O_CLOEXEC)) < 0)
			die("open", S(0));
		if (setns(fd, (int)I(1)) < 0)
			die("setns", S(0));
		close(fd);
		break;
	case UNSHARE:
		if (unshare((int)I(0)) < 0)
			die("unshare", NULL);
		break;
	case USERNS_SYNC: {
		char c = 0;
		ssize_t n;
		report("map %d\n", getpid());
		while ((n = read(sock, &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1 || c != 'g')
			_exit(1); /* the runtime gave up; it reports why */
		break;
	}
	case FORK:
		do_fork(I(0), I(1), I(2));
		break;
	case WRITE_FILE:
		write_file(S(0), S(1));
		break;
	case MOUNT:
		if (mount_locked(or_null(S(0)), S(1), or_null(S(2)), I(3), or_null(S(4))) < 0)
			die("mount", S(1));
		break;
	case MOUNT_IN_ROOT:
		do_mount_in_root(op);
		break;
	case MOUNT_SETATTR: {
		struct mount_attr attr = { .attr_set = I(2), .attr_clr = I(3), .propagation = I(4) };
		fd = resolve(S(0), S(1), 0);
		if (mount_setattr(fd, "", AT_EMPTY_PATH | (I(5) ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
			die("mount_setattr", S(1));
		close(fd);
		break;
	}
	case MKNOD_IN_ROOT: {
		char dir[PATH_MAX];
		const char *base;
		rootfd = open_root(S(0));
		fd = parent_in_root(rootfd, S(1), dir, &base);
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
		break;
	}
	case SYMLINK_IN_ROOT: {
		char dir[PATH_MAX];
		const char *base;
		rootfd = open_root(S(0));
		fd = parent_in_root(rootfd, S(2), dir, &base);
		if (symlinkat(S(1), fd, base) < 0 && errno != EEXIST)
			die("symlinkat", S(2));
		close(fd);
		close(rootfd);
		break;
	}
	case PIVOT_ROOT: {
		/* runc's way: pivot onto itself, so the old root ends up stacked on "/", then make
		 * it rslave (our unmount must not reach the host) and detach it. "." after
		 * pivot_root is the new root, not the old one, so the old root is reached through
		 * an fd opened before: making "." rslave would undo the container's own shared
		 * mounts. */
		int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (oldroot < 0)
			die("open", "/");
		if (chdir(S(0)) < 0)
			die("chdir", S(0));
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			die("pivot_root", S(0));
		if (fchdir(oldroot) < 0)
			die("fchdir", "old root");
		close(oldroot);
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			die("mount", "old root");
		if (umount2(".", MNT_DETACH) < 0)
			die("umount2", "old root");
		if (chdir("/") < 0)
			die("chdir", "/");
		break;
	}
	case MOVE_CHROOT:
		if (chdir(S(0)) < 0)
			die("chdir", S(0));
		if (mount(S(0), "/", NULL, MS_MOVE, NULL) < 0)
			die("mount", S(0));
		if (chroot(".") < 0)
			die("chroot", S(0));
		if (chdir("/") < 0)
			die("chdir", "/");
		break;
	case SETHOSTNAME:
		if (sethostname(S(0), strlen(S(0))) < 0)
			die("sethostname", S(0));
		break;
	case SETDOMAINNAME:
		if (setdomainname(S(0), strlen(S(0))) < 0)
			die("setdomainname", S(0));
		break;
	case SETRLIMIT: {
		struct rlimit rl = { I(1), I(2) };
		if (setrlimit((int)I(0), &rl) < 0)
			die("setrlimit", NULL);
		break;
	}
	case LOOPBACK_UP: {
		struct ifreq ifr = { 0 };
		strcpy(ifr.ifr_name, "lo");
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket", NULL);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			die("ioctl", "lo");
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			die("ioctl", "lo");
		close(fd);
		break;
	}
	case CHDIR:
		if (chdir(S(0)) < 0)
			die("chdir", S(0));
		break;
	case SETGROUPS: {
		gid_t *gids = calloc(op->argc ? op->argc : 1, sizeof *gids);
		if (!gids)
			die("malloc", NULL);
		for (uint32_t i = 0; i < op->argc; i++)
			gids[i] = (gid_t)I(i);
		if (setgroups(op->argc, gids) < 0)
			die("setgroups", NULL);
		free(gids);
		break;
	}
	case SETRESGID:
		if (setresgid((gid_t)I(0), (gid_t)I(0), (gid_t)I(0)) < 0)
			die("setresgid", NULL);
		break;
	case SETRESUID:
		if (setresuid((uid_t)I(0), (uid_t)I(0), (uid_t)I(0)) < 0)
			die("setresuid", NULL);
		break;
	case UMASK:
		umask((mode_t)I(0));
		break;
	case KEEPCAPS:
		if (prctl(PR_SET_KEEPCAPS, (unsigned long)I(0), 0, 0, 0) < 0)
			die("prctl", "PR_SET_KEEPCAPS");
		break;
	case CAPS:
		do_caps(op);
		break;
	case NO_NEW_PRIVS:
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die("prctl", "PR_SET_NO_NEW_PRIVS");
		break;
	case SECCOMP: {
		struct sock_fprog prog = {
			.len = (unsigned short)(op->args[1].len / sizeof(struct sock_filter)),
			.filter = (struct sock_filter *)op->args[1].p,
		};
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)I(0), &prog) < 0)
			die("seccomp", NULL);
		break;
	}
	case OPEN_DIR:
		if (startdir >= 0)
			close(startdir);
		if ((startdir = open(S(0), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			die("open", S(0));
		break;
	case READY:
		report("ready\n");
		close(sock);
		sock = -1;
		break;
	case WAIT_START:
		/* blocks until `start` opens the FIFO for reading */
		while ((fd = openat(startdir, S(0), O_WRONLY | O_CLOEXEC)) < 0)
			if (errno != EINTR)
				die("openat", S(0));
		if (write_all(fd, "0", 1) < 0)
			die("write", S(0));
		close(fd);
		if (startdir >= 0)
			close(startdir);
		startdir = -1;
		break;
	case FIND_EXEC:
		do_find_exec(op);
		break;
	case EXEC:
		do_exec(op);
		break;
	case CLOSE_FROM:
		do_close_from((unsigned int)I(0));
		break;
	case RESET_SIGNALS:
		do_reset_signals();
		break;
	case SETSID:
		if (setsid() < 0)
			die("setsid", NULL);
		break;
	case JOIN_KEYRING:
		/* ENOSYS: a kernel without keyrings; runc runs there too */
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, S(0)) < 0 && errno != ENOSYS)
			die("keyctl", S(0));
		break;
	case MASK_PATH: {
		struct stat st;
		if ((fd = resolve(S(0), S(1), 1)) < 0)
			break; /* nothing to mask */
		if (fstat(fd, &st) < 0)
			die("fstat", S(1));
		/* runc's maskPath: an empty read-only tmpfs over a directory, /dev/null over the rest */
		if (S_ISDIR(st.st_mode) ? mount("tmpfs", fd_path(fd), "tmpfs", MS_RDONLY, "") < 0
					: mount("/dev/null", fd_path(fd), NULL, MS_BIND, NULL) < 0)
			die("mount", S(1));
		close(fd);
		break;
	}
	case BIND_SELF_IN_ROOT:
		if ((fd = resolve(S(0), S(1), (int)I(2))) < 0)
			break;
		if (mount(fd_path(fd), fd_path(fd), NULL, MS_BIND | MS_REC, NULL) < 0)
			die("mount", S(1));
		close(fd);
		break;
	case MKDIR_IN_ROOT: {
		struct stat st;
		rootfd = open_root(S(0));
		fd = make_in_root(rootfd, S(1), 0, (mode_t)I(2));
		if (fstat(fd, &st) < 0)
			die("fstat", S(1));
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			die("mkdirat", S(1));
		}
		close(fd);
		close(rootfd);
		break;
	}
	case PERSONALITY:
		if (personality((unsigned long)I(0)) < 0)
			die("personality", NULL);
		break;
	case IOPRIO:
		if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)I(0)) < 0)
			die("ioprio_set", NULL);
		break;
	case SCHED_SETATTR: {
		/* the kernel reads attr.size from the bytes: the planner writes the struct whole */
		if (syscall(SYS_sched_setattr, 0, op->args[0].p, 0) < 0)
			die("sched_setattr", NULL);
		break;
	}
	case IDMAP_TREE:
		do_idmap_tree(op);
		break;
	case MOVE_TREE_IN_ROOT:
		do_move_tree(op);
		break;
	case CONNECT_UNIX:
		do_connect_unix(op);
		break;
	case OPEN_PATH:
		fd = open(S(1), O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("open", S(1));
		slots[I(0)] = fd + 1;
		break;
	case SECCOMP_NOTIFY:
		do_seccomp_notify(op);
		break;
	case HOOK_SYNC:
		do_hook_sync();
		break;
	case CONSOLE:
		do_console(op);
		break;
	case CONSOLE_STDIO:
		/* the pty becomes the process's stdio and its controlling terminal (SETSID ran before) */
		for (int i = 0; i < 3; i++)
			if (dup2(console_slave, i) < 0)
				die("dup2", "console");
		if (ioctl(0, TIOCSCTTY, 0) < 0)
			die("ioctl", "TIOCSCTTY");
		if (console_slave > 2)
			close(console_slave);
		break;
	case RUN_HOOK:
		do_run_hook(op);
		break;
	}
}

int main(int argc, char **argv)
{
	char *end;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
		static const char usage[] = "usage: berth-init SOCKFD (started by berth-runtime)\n";
		(void)write_all(2, usage, sizeof usage - 1);
		return 1;
	}
	sock = (int)fd;
	/* whatever the plan does, the container never inherits the runtime's socket */
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	uint32_t n;
	struct op *ops = read_plan(&n);
	for (uint32_t i = 0; i < n; i++) {
		step = i;
		run(&ops[i]);
	}
	_exit(0);
}
