/*
 * The terminal, in the container's process: the pty (CONSOLE), made its stdio
 * (CONSOLE_STDIO) and given to its user (CHOWN_STDIO). The waiting parent's proxy to it
 * is in host.c.
 */
#include "berth-init.h"

int console_peer = -1;
static int console_slave = -1;	/* CONSOLE: the pty's slave, for CONSOLE_STDIO */

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
	if (to < 0)
		fail(EBADF, "sendmsg", "console");
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
static void do_console_stdio(void)
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
static void do_chown_stdio(uid_t uid)
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

/* This file's ops, for main.c's run(); 0 for another concern's. */
int run_console_op(const struct op *op)
{
	switch (op->code) {
	case CONSOLE:
		do_console(op);
		return 1;
	case CONSOLE_STDIO:
		do_console_stdio();
		return 1;
	case CHOWN_STDIO:
		do_chown_stdio((uid_t)I(0));
		return 1;
	}
	return 0;
}
