/*
 * Hooks the init runs itself: the runtime runs the create-time hooks while the init waits
 * (HOOK_SYNC), and startContainer hooks run in the container after `start` (RUN_HOOK),
 * after READY, on the way to execve.
 */
#include "berth-init.h"

static char *hook_state;	/* HOOK_SYNC: the state JSON hooks read on stdin */
static uint32_t hook_state_len;

/* HOOK_SYNC: the runtime runs the create-time hooks while the init waits here, and
 * answers with the state JSON that startContainer hooks will read. */
static void do_hook_sync(void)
{
	hook_state = read_state("hooks\n", &hook_state_len);
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
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		die("pipe2", path);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", path);
	if (pid == 0) {
		/* a group of its own, so a timeout kills what it started too (`sh -c "sleep 30"`) */
		setpgid(0, 0);
		if (dup2(in[0], 0) < 0)
			_exit(127);
		execve(path, op->argv, op->envp);
		say(2, "berth-init: startContainer hook %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* whichever of the two runs first */
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
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			say(2, "berth-init: startContainer hook %s timed out after %llu s\n", path, (unsigned long long)timeout);
			_exit(1);
		}
		usleep(10000);
	}
	signal(SIGPIPE, SIG_DFL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			say(2, "berth-init: startContainer hook %s exited with status %d\n", path, WEXITSTATUS(status));
		else
			say(2, "berth-init: startContainer hook %s killed by signal %d\n", path, WTERMSIG(status));
		_exit(1);
	}
}

/* This file's ops, for main.c's run(); 0 for another concern's. */
int run_hooks_op(const struct op *op)
{
	switch (op->code) {
	case HOOK_SYNC:
		do_hook_sync();
		return 1;
	case RUN_HOOK:
		do_run_hook(op);
		return 1;
	}
	return 0;
}
