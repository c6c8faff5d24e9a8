/*
 * The helper's first process, which never becomes the container's: the ops it runs
 * before FORK, in the host's namespaces or while joining the container's (plan.c refuses
 * them after FORK, so none of this runs in the container's process), and what it does
 * as FORK's parent — report the child's pid and, for a foreground container, proxy its
 * terminal and pass its exit status on.
 */
#include "berth-init.h"

static void do_setns(const struct op *op)
{
	int fd = must(open(S(0), O_RDONLY | O_CLOEXEC), "open", S(0));
	must(setns(fd, (int)I(1)), "setns", S(0));
	close(fd);
}

/* USERNS_SYNC: the runtime writes the new user namespace's maps, then sends `g`. */
static void do_userns_sync(void)
{
	char c = 0;
	ssize_t n;
	say(sock, "map %d\n", getpid());
	while ((n = read(sock, &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || c != 'g')
		_exit(1); /* the runtime gave up; it reports why */
}

/* A user namespace with these maps (host ids), for an idmapped mount: made by a child
 * cloned into it, which holds it until its fd is open. */
static int idmap_userns(const char *uid_map, const char *gid_map)
{
	int hold[2];
	char path[64];
	must(pipe2(hold, O_CLOEXEC), "pipe2", NULL);
	pid_t pid = must(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL), "clone", "user namespace for the idmapped mount");
	if (pid == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	write_file(path, uid_map);
	snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
	write_file(path, gid_map);
	snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
	int ns = must(open(path, O_RDONLY | O_CLOEXEC), "open", path);
	close(hold[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return ns;
}

/*
 * OPEN_TREE and IDMAP_TREE: a detached copy of source (open_tree) kept in a slot, made in
 * the host's namespaces as the host's root — in a user namespace a source only the host's
 * root can reach would be EACCES — and attached in the root later by MOVE_TREE_IN_ROOT.
 * IDMAP_TREE's copy maps its ids through a user namespace made for it with the mount's
 * maps: a file owned by containerID on disk shows as hostID.
 */
static void do_open_tree(const struct op *op)
{
	int idmap = op->code == IDMAP_TREE;
	unsigned int rec = I(idmap ? 4 : 2) ? AT_RECURSIVE : 0;
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	if (idmap)
		attr.userns_fd = (uint64_t)idmap_userns(S(2), S(3));
	int tree = must(syscall(SYS_open_tree, AT_FDCWD, S(1), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec), "open_tree", S(1));
	if (idmap) {
		must(mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr), "mount_setattr", S(1));
		close((int)attr.userns_fd);
	}
	slots[I(0)] = tree + 1;
}

/* CONNECT_UNIX: connected early, while the path is still the host's. */
static void do_connect_unix(const struct op *op)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(S(1)) >= sizeof sa.sun_path)
		fail(ENAMETOOLONG, "connect", S(1));
	strcpy(sa.sun_path, S(1));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", S(1));
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect", S(1));
	slots[I(0)] = fd + 1;
}

/* This file's ops, for main.c's run(); 0 for another concern's. */
int run_host_op(const struct op *op)
{
	switch (op->code) {
	case SETNS:
		do_setns(op);
		return 1;
	case USERNS_SYNC:
		do_userns_sync();
		return 1;
	case IDMAP_TREE:
	case OPEN_TREE:
		do_open_tree(op);
		return 1;
	case CONNECT_UNIX:
		do_connect_unix(op);
		return 1;
	}
	return 0;
}

/* The fd sent by send_fd (report.c), or -1 when the sender closed without sending. */
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
 * Returns the process's wait status when the proxy reaped it, else -1.
 */
static int proxy_console(int master, pid_t pid)
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
	int exited = 0, status = -1;
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
				/* reaped here: the caller cannot wait for it again */
				exited = 1;
				status = st;
			}
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(master);
	return status;
}

/*
 * FORK's parent, after the clone: the child waits on `gate` until `pid N` is reported.
 * With `wait` it stays to proxy the child's terminal (its master comes on `peer`, when
 * FORK made one) and exits with the child's status, else it exits at once.
 */
_Noreturn void be_parent(pid_t pid, uint64_t wait, const int gate[2], const int peer[2])
{
	/* Signals are the container's to decide; ignored before the gate opens (the child may send one at once). */
	static const int theirs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; wait && i < sizeof theirs / sizeof theirs[0]; i++)
		signal(theirs[i], SIG_IGN);
	say(sock, "pid %d\n", pid);
	close(sock);
	sock = -1;
	close(gate[0]);
	close(gate[1]);
	if (!wait)
		_exit(0);
	int status = -1;
	close(peer[1]);
	int master = peer[0] >= 0 ? recv_fd(peer[0]) : -1;
	close(peer[0]);
	if (master >= 0)
		status = proxy_console(master, pid);
	while (status == -1 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", NULL);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
