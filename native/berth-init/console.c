/*
 * Sockets and the terminal: a unix socket connected while its path is still the host's,
 * an fd passed as SCM_RIGHTS (the console's master, the seccomp listener), the pty
 * (CONSOLE, CONSOLE_STDIO), and the console proxy the parent FORK leaves waiting runs.
 */
#include "berth-init.h"

/* CONNECT_UNIX: connected early, while the path is still the host's. */
void do_connect_unix(const struct op *op)
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
int send_fd(int to, int fd, const void *data, size_t len)
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

/* The fd sent by send_fd, or -1 when the sender closed without sending. */
int recv_fd(int from)
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
void do_console(const struct op *op)
{
	const char *root = S(0);
	uint64_t slot = I(1);
	char path[64], target[64];
	int ptmx = -1, master;
	if (*root) {
		ptmx = in_root(root, "/dev/ptmx", 0, NULL, 0);
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
		int dest = in_root(root, "/dev/console", 2, NULL, 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", console_slave);
		snprintf(target, sizeof target, "/proc/self/fd/%d", dest);
		if (mount(path, target, NULL, MS_BIND, NULL) < 0)
			die("mount", "/dev/console");
		close(dest);
		close(ptmx);
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

/* the pty becomes the process's stdio and its controlling terminal (SETSID ran before) */
void do_console_stdio(void)
{
	for (int i = 0; i < 3; i++)
		if (dup2(console_slave, i) < 0)
			die("dup2", "console");
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		die("ioctl", "TIOCSCTTY");
	if (console_slave > 2)
		close(console_slave);
}

/*
 * CHOWN_STDIO: the process's stdio (its pty) owned by its uid, so a user can use its
 * terminal (runc's fixStdioPermissions): /dev/null and what uid already owns are left
 * alone, the group is kept, and EPERM (an owner not mapped in this user namespace) and
 * EROFS are not errors.
 */
void do_chown_stdio(uid_t uid)
{
	struct stat null, st;
	int have_null = stat("/dev/null", &null) == 0;
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0)
			die("fstat", "stdio");
		if (st.st_uid == uid || (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev))
			continue;
		if (fchown(fd, uid, (gid_t)-1) < 0 && errno != EPERM && errno != EROFS)
			die("fchown", "stdio");
	}
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
int proxy_console(int master, pid_t pid)
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
