/*
 * The process: fork (into the container's cgroup), identity and capabilities, fds and
 * signals, seccomp, finding the executable, and execve.
 */
#include "berth-init.h"

/*
 * fork(), or with a cgroup directory's fd in `slot` (OPEN_PATH, opened while the path was
 * still the host's) clone3(CLONE_INTO_CGROUP): the child is born in that cgroup2
 * directory. Writing a pid into cgroup.procs instead takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, an RCU grace period (10–25 ms measured here);
 * a fork into the cgroup takes it only for reading. Raw syscall: glibc has no clone3
 * wrapper that returns twice, and this process is single-threaded, so glibc's fork
 * bookkeeping (atfork handlers, lock resets) has nothing to do. A plain fork stays
 * fork(): a seccomp profile around the runtime may refuse clone3 (docker's does).
 */
static pid_t fork_into(uint64_t slot)
{
	if (slot == NSLOTS)
		return must(fork(), "fork", NULL);
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)(slots[slot] - 1) };
	pid_t pid = must(syscall(SYS_clone3, &args, sizeof args), "clone3", NULL);
	close(slots[slot] - 1);
	slots[slot] = 0;
	return pid;
}

void do_fork(uint64_t wait, uint64_t console, uint64_t cgroup_slot)
{
	/* The child waits for this pipe's EOF so that `pid N` is on the socket before anything
	 * the child reports: the runtime must know the init's pid before `ready` or `error`. */
	int gate[2], peer[2] = { -1, -1 };
	must(pipe2(gate, O_CLOEXEC), "pipe2", NULL);
	if (console)
		must(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, peer), "socketpair", "console");
	pid_t pid = fork_into(cgroup_slot);
	if (pid > 0)
		be_parent(pid, wait, gate, peer);
	char c;
	close(peer[0]);
	console_peer = peer[1];
	close(gate[1]);
	while (read(gate[0], &c, 1) < 0 && errno == EINTR)
		;
	close(gate[0]);
}

/* WRITE_FILE: proc and sys files take a value in one write or not at all. */
void write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = must(open(path, O_WRONLY | O_CLOEXEC), "open", path);
	ssize_t n = write(fd, data, len);
	if ((size_t)n != len) /* a failed write too: (size_t)-1 */
		fail(n < 0 ? errno : EIO, "write", path);
	close(fd);
}

void do_caps(const struct op *op)
{
	uint64_t bounding = I(0), eff = I(1), perm = I(2), inh = I(3), ambient = I(4);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct now[2];
	/* After SETRESUID to a non-root user KEEPCAPS keeps the permitted set but empties the
	 * effective one, and dropping from the bounding set needs CAP_SETPCAP effective:
	 * raise effective to permitted first. */
	must(syscall(SYS_capget, &hdr, now), "capget", NULL);
	now[0].effective = now[0].permitted;
	now[1].effective = now[1].permitted;
	must(syscall(SYS_capset, &hdr, now), "capset", NULL);
	for (int cap = 0; cap < 64; cap++) {
		/* EINVAL: this kernel has no such capability, so there is nothing to drop */
		if (!(bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			die("prctl", "PR_CAPBSET_DROP");
	}
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)perm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32) },
	};
	must(syscall(SYS_capset, &hdr, data), "capset", NULL);
	must(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
	for (int cap = 0; cap < 64; cap++) {
		if (!(ambient & (1ULL << cap)) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0)
			continue;
		char d[48];
		snprintf(d, sizeof d, "PR_CAP_AMBIENT_RAISE %d", cap);
		die("prctl", d);
	}
}

void do_close_from(unsigned int from)
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
void do_reset_signals(void)
{
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } sa = { SIG_DFL, 0, NULL, 0 };
	uint64_t none = 0;
	must(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none), "rt_sigprocmask", NULL);
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof sa.mask);
}

/* execvp's rules: a candidate the user cannot even reach (EACCES on a directory on the
 * way) does not stop the search, but is what is reported when nothing is found. */
void do_find_exec(const struct op *op)
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
		must(stat(c, &st), "stat", c);
		if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, c, X_OK, AT_EACCESS) < 0)
			fail(S_ISREG(st.st_mode) ? errno : EACCES, "faccessat", c);
		found = c;
		return;
	}
	fail(denied ? EACCES : ENOENT, "faccessat", denied ? denied : S(0));
}

/* FIND_EXEC ran before (every plan sends it): `found` is what runs. */
void do_exec(const struct op *op)
{
	execve(found, op->argv, op->envp);
	if (sock >= 0)
		die("execve", found);
	int err = errno;
	say(2, "berth-init: exec %s: %s\n", found, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/*
 * SECCOMP, and SECCOMP_NOTIFY: report `seccomp`, read the container process state the
 * runtime sends back, load the filter with a listener, and send the state with the
 * listener fd as SCM_RIGHTS on the socket in `slot` (runtime-spec's seccomp agent
 * protocol). The state is fetched before the filter exists: only sendmsg and close run
 * under it before the agent holds the listener.
 */
void do_seccomp(const struct op *op)
{
	int notify = op->code == SECCOMP_NOTIFY;
	uint32_t n = 0;
	char *state = notify ? read_state("seccomp\n", &n) : NULL;
	struct sock_fprog prog = {
		.len = (unsigned short)(op->args[1].len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)op->args[1].p,
	};
	unsigned int flags = (unsigned int)I(0) | (notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
	int fd = must(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog), "seccomp", NULL);
	if (!notify)
		return;
	int conn = slots[I(2)] - 1;
	if (send_fd(conn, fd, state, n) < 0)
		die("sendmsg", "seccomp listener");
	close(fd);
	close(conn);
	slots[I(2)] = 0;
	free(state);
}
