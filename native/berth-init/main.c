/*
 * The op switch and main (berth-init.h lists the helper's files): start() (plan.c) runs
 * first and once, reading and checking the whole plan; then each op runs in order.
 */
#include "berth-init.h"

int sock = -1;
long step = -1;
int startdir = -1;
const char *found;
int slots[NSLOTS];

static void run(const struct op *op)
{
	int fd;
	switch (op->code) {
	case UNSHARE:
		must(unshare((int)I(0)), "unshare", NULL);
		break;
	case FORK:
		do_fork(I(0), I(1), I(2));
		break;
	case WRITE_FILE:
		write_file(S(0), S(1));
		break;
	case MOUNT:
		do_mount(op);
		break;
	case MOUNT_IN_ROOT:
		do_mount_in_root(op);
		break;
	case MOUNT_SETATTR:
		do_mount_setattr(op);
		break;
	case MKNOD_IN_ROOT:
	case SYMLINK_IN_ROOT:
		do_node_in_root(op);
		break;
	case PIVOT_ROOT:
	case MOVE_CHROOT:
	case CHROOT:
		do_enter_root(op);
		break;
	case SETHOSTNAME:
		must(sethostname(S(0), strlen(S(0))), "sethostname", S(0));
		break;
	case SETDOMAINNAME:
		must(setdomainname(S(0), strlen(S(0))), "setdomainname", S(0));
		break;
	case SETRLIMIT:
		must(setrlimit((int)I(0), &(struct rlimit){ I(1), I(2) }), "setrlimit", NULL);
		break;
	case LOOPBACK_UP: {
		struct ifreq ifr = { .ifr_name = "lo" };
		fd = must(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", NULL);
		must(ioctl(fd, SIOCGIFFLAGS, &ifr), "ioctl", "lo");
		ifr.ifr_flags |= IFF_UP;
		must(ioctl(fd, SIOCSIFFLAGS, &ifr), "ioctl", "lo");
		close(fd);
		break;
	}
	case CHDIR:
		must(chdir(S(0)), "chdir", S(0));
		break;
	case SETGROUPS:
		must(setgroups(op->argc, op->gids), "setgroups", NULL);
		break;
	case SETRESGID:
		must(setresgid((gid_t)I(0), (gid_t)I(0), (gid_t)I(0)), "setresgid", NULL);
		break;
	case SETRESUID:
		must(setresuid((uid_t)I(0), (uid_t)I(0), (uid_t)I(0)), "setresuid", NULL);
		break;
	case UMASK:
		umask((mode_t)I(0));
		break;
	case KEEPCAPS:
		must(prctl(PR_SET_KEEPCAPS, (unsigned long)I(0), 0, 0, 0), "prctl", "PR_SET_KEEPCAPS");
		break;
	case CAPS:
		do_caps(op);
		break;
	case NO_NEW_PRIVS:
		must(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl", "PR_SET_NO_NEW_PRIVS");
		break;
	case SECCOMP:
	case SECCOMP_NOTIFY:
		do_seccomp(op);
		break;
	case OPEN_DIR:
		startdir = must(open(S(0), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", S(0));
		break;
	case READY:
		say(sock, "ready\n");
		close(sock);
		sock = -1;
		break;
	case WAIT_START:
		/* blocks until `start` opens the FIFO for reading */
		while ((fd = openat(startdir, S(0), O_WRONLY | O_CLOEXEC)) < 0)
			if (errno != EINTR)
				die("openat", S(0));
		must(write_all(fd, "0", 1), "write", S(0));
		close(fd);
		close(startdir);
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
		must(setsid(), "setsid", NULL);
		break;
	case JOIN_KEYRING:
		/* ENOSYS: a kernel without keyrings; runc runs there too */
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, S(0)) < 0 && errno != ENOSYS)
			die("keyctl", S(0));
		break;
	case MASK_PATH:
	case BIND_SELF_IN_ROOT:
		do_cover_in_root(op);
		break;
	case MKDIR_IN_ROOT:
		do_mkdir_in_root(op);
		break;
	case PERSONALITY:
		must(personality((unsigned long)I(0)), "personality", NULL);
		break;
	case IOPRIO:
		must(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)I(0)), "ioprio_set", NULL);
		break;
	case SCHED_SETATTR:
		/* the kernel reads attr.size from the bytes: the planner writes the struct whole */
		must(syscall(SYS_sched_setattr, 0, op->args[0].p, 0), "sched_setattr", NULL);
		break;
	case MOVE_TREE_IN_ROOT:
		do_move_tree(op);
		break;
	case OPEN_PATH:
		slots[I(0)] = must(open(S(1), O_PATH | O_DIRECTORY | O_CLOEXEC), "open", S(1)) + 1;
		break;
	default: /* plan.c checked the code: the console's, the hooks', else the first process's */
		if (!run_console_op(op) && !run_hooks_op(op))
			run_host_op(op); /* only before FORK: host.c never runs in the container's process */
	}
}

int main(int argc, char **argv)
{
	uint32_t n;
	struct op *ops = start(argc, argv, &n);
	for (uint32_t i = 0; i < n; i++) {
		step = i;
		run(&ops[i]);
	}
	_exit(0);
}
