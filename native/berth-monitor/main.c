/*
 * berth-monitor: the process that holds a detached container, as conmon does for podman
 * (native/berth-monitor/PROTOCOL.md). It runs the runtime's `create`, reports the
 * container's pid (or the failure) on the sync fd, then — as the subreaper of the
 * container's init — relays its stdout/stderr into the rotated log and to attached
 * clients, holds its stdin, and when the init ends drains the output, writes the exit
 * code to EXIT_DIR/ID, runs the exit command (unless the holder of the exit claim records
 * the exit itself) and exits. Every path, size and command
 * comes from its arguments: it decides nothing.
 *
 * Single-threaded, linked to the host's libc (scripts/build-native.sh says why); it
 * compiles every .c file beside this one into native/build/berth-monitor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "berth-monitor.h"

static const char *runtime, *bundle, *id, *pid_file, *monitor_pid_file, *log_path, *exit_dir, *attach_path, *console_path;
static char *runtime_args[64];
static int nruntime_args;
static long long log_max_size;
static int log_max_files = 1, tty, keep_stdin, sync_fd = -1, claim_fd = -1, created_pipe, claim_hung_up;
static char **exit_command;

static int stdin_fd = -1;                 /* the container's stdin: a pipe's write end, or the terminal */
static char stdin_buf[65536 + 8];         /* bytes a client sent that the container has not read yet */
static size_t stdin_have;
static int stdin_close_pending;

void warn(const char *what, const char *detail)
{
	fprintf(stderr, "berth-monitor: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror(errno));
}

static void usage(const char *why)
{
	fprintf(stderr, "berth-monitor: %s (see native/berth-monitor/PROTOCOL.md)\n", why);
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runtime", 1, 0, 'r' }, { "runtime-arg", 1, 0, 'a' }, { "bundle", 1, 0, 'b' }, { "id", 1, 0, 'c' },
		{ "pid-file", 1, 0, 'p' }, { "monitor-pid-file", 1, 0, 'P' }, { "log", 1, 0, 'l' },
		{ "log-max-size", 1, 0, 's' }, { "log-max-files", 1, 0, 'n' }, { "exit-dir", 1, 0, 'e' },
		{ "attach-socket", 1, 0, 'A' }, { "console-socket", 1, 0, 'C' }, { "tty", 0, 0, 't' },
		{ "stdin", 0, 0, 'i' }, { "sync-fd", 1, 0, 'S' }, { "exit-claim-fd", 1, 0, 'X' },
		{ "runtime-created-pipe", 0, 0, 'R' }, { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': runtime = optarg; break;
		case 'a':
			if (nruntime_args == 64)
				usage("too many --runtime-arg");
			runtime_args[nruntime_args++] = optarg;
			break;
		case 'b': bundle = optarg; break;
		case 'c': id = optarg; break;
		case 'p': pid_file = optarg; break;
		case 'P': monitor_pid_file = optarg; break;
		case 'l': log_path = optarg; break;
		case 's': log_max_size = atoll(optarg); break;
		case 'n': log_max_files = atoi(optarg); break;
		case 'e': exit_dir = optarg; break;
		case 'A': attach_path = optarg; break;
		case 'C': console_path = optarg; break;
		case 't': tty = 1; break;
		case 'i': keep_stdin = 1; break;
		case 'S': sync_fd = atoi(optarg); break;
		case 'X': claim_fd = atoi(optarg); break;
		case 'R': created_pipe = 1; break;
		default: usage("unknown option");
		}
	}
	if (!runtime || !bundle || !id || !pid_file || !monitor_pid_file || !log_path || !exit_dir || !attach_path || sync_fd < 0)
		usage("--runtime, --bundle, --id, --pid-file, --monitor-pid-file, --log, --exit-dir, --attach-socket and --sync-fd are required");
	if (tty && !console_path)
		usage("--tty needs --console-socket");
	if (log_max_size <= 0 || log_max_files < 1)
		usage("--log-max-size and --log-max-files must be above 0");
	exit_command = argv + optind; /* after `--`: the exit command, maybe none */
	/* the claim is this process's alone: neither the runtime nor the exit command holds it open */
	if (claim_fd >= 0 && fcntl(claim_fd, F_SETFD, FD_CLOEXEC) < 0)
		usage("--exit-claim-fd is not an open descriptor");
}

/* 1 when the holder of the exit claim says it recorded the exit (one byte); 0 when it let go or ended without */
static int exit_claimed(void)
{
	if (claim_fd < 0)
		return 0;
	char b;
	ssize_t r;
	while ((r = read(claim_fd, &b, 1)) < 0 && errno == EINTR)
		;
	close(claim_fd);
	return r == 1;
}

static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		warn("write", path);
}

/* the sync message monitor.ts reads: {"data": PID} or {"data": -1, "message": "…"} */
static void sync_report(long pid, const char *message)
{
	char line[512];
	if (pid > 0)
		snprintf(line, sizeof line, "{\"data\": %ld}\n", pid);
	else
		snprintf(line, sizeof line, "{\"data\": -1, \"message\": \"%s\"}\n", message);
	if (write(sync_fd, line, strlen(line)) < 0)
		warn("write", "the sync fd");
	close(sync_fd);
}

static int listen_console(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(console_path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, console_path);
	unlink(console_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
		return -1;
	return fd;
}

/* the terminal's master the runtime sent over the console socket (SCM_RIGHTS) */
static int receive_master(int listen_fd)
{
	int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return -1;
	char data[256];
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	int fd = -1;
	if (recvmsg(conn, &m, MSG_CMSG_CLOEXEC) > 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	}
	close(conn);
	return fd;
}

/* The fd the runtime's create finds the created pipe at, and the variable that names it. */
#define CREATED_FD 4
#define CREATED_ENV "BERTH_CREATED_FD"
#define TEXT(n) #n
#define DECIMAL(n) TEXT(n)

/* `created` >= 0: the write end of the created pipe, for the runtime at CREATED_FD. */
static pid_t spawn(char **argv, int in, int out, int err, int created)
{
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		/* dup2 onto itself keeps close-on-exec: clear it then */
		if (created >= 0 && (created == CREATED_FD ? fcntl(created, F_SETFD, 0) : dup2(created, CREATED_FD)) < 0)
			_exit(127);
		if (created >= 0)
			setenv(CREATED_ENV, DECIMAL(CREATED_FD), 1);
		execv(argv[0], argv);
		fprintf(stderr, "berth-monitor: execv %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

void on_stdin(const char *buf, size_t n)
{
	if (stdin_fd < 0 || stdin_close_pending)
		return;
	if (n > sizeof stdin_buf - stdin_have)
		n = sizeof stdin_buf - stdin_have; /* cannot happen: clients are not read while this holds bytes */
	memcpy(stdin_buf + stdin_have, buf, n);
	stdin_have += n;
}

void on_close_stdin(void)
{
	stdin_close_pending = 1;
}

void on_resize(unsigned rows, unsigned cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (tty && stdin_fd >= 0 && ioctl(stdin_fd, TIOCSWINSZ, &ws) < 0)
		warn("TIOCSWINSZ", NULL);
}

/* write what clients sent to the container's stdin as far as it takes it; close it when asked and flushed */
static void flush_stdin(void)
{
	while (stdin_have > 0 && stdin_fd >= 0) {
		ssize_t w = write(stdin_fd, stdin_buf, stdin_have);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) { /* the container closed its end */
			stdin_have = 0;
			break;
		}
		memmove(stdin_buf, stdin_buf + w, stdin_have - (size_t)w);
		stdin_have -= (size_t)w;
	}
	if (stdin_close_pending && stdin_fd >= 0) {
		if (tty) {
			/* a terminal has no EOF of its own: the line discipline's end-of-file character */
			if (write(stdin_fd, "\x04", 1) < 0)
				warn("write", "the terminal");
		} else {
			close(stdin_fd);
			stdin_fd = -1;
		}
		stdin_close_pending = 0;
	}
}

/* read what is there now from an output fd, at most `rounds` reads (a container that never stops writing must not starve the rest); 0 once it is at its end */
static int relay(int fd, int stream, int rounds)
{
	char buf[65536];
	while (rounds-- > 0) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0) /* EOF, or EIO: a terminal whose every slave is closed */
			return 0;
		log_write(stream, buf, (size_t)n);
		attach_broadcast(stream, buf, (size_t)n);
	}
	return 1;
}

/* 1 when the holder of the exit claim has closed its end without a byte: it died, or let go */
static int claim_gone(void)
{
	char b;
	return claim_fd >= 0 && recv(claim_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * Wait for the runtime's create. The holder of the exit claim (the berth that starts the
 * container) hanging up meanwhile means it died half-way through the start, and may never
 * hand the runtime its config (the head start's FIFO): the create is killed then, rather
 * than left waiting forever, and what it made is the exit command's to remove (main).
 */
static void wait_create(pid_t create, int *status, int sig_fd, int created)
{
	if (create <= 0)
		return;
	int watch = claim_fd; /* polled until it wakes once: polled after a hang-up or an early byte, it would wake at once, forever */
	for (;;) {
		pid_t w = waitpid(create, status, WNOHANG);
		if (w == create || (w < 0 && errno != EINTR))
			return;
		struct pollfd fds[3] = { { .fd = sig_fd, .events = POLLIN }, { .fd = watch, .events = POLLIN }, { .fd = created, .events = POLLIN } };
		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			return;
		if (fds[2].revents) {
			char b;
			ssize_t n = read(created, &b, 1);
			/* its byte: the create is done, the pid file written — its exit (Bun's teardown,
			 * ≈1 ms) is not waited for; the loop after the sync report reaps it */
			if (n == 1) {
				*status = 0;
				return;
			}
			if (n == 0)
				created = -1; /* ended without a word (failed): its exit status tells */
		}
		struct signalfd_siginfo si;
		while (read(sig_fd, &si, sizeof si) > 0)
			;
		if (fds[1].revents && claim_gone()) {
			kill(create, SIGKILL);
			claim_fd = -1; /* hung up: nobody holds the claim any more (closed at exit) */
			claim_hung_up = 1;
		}
		if (fds[1].revents)
			watch = -1;
	}
}

/* the exit command, if any, waited for */
static void run_exit_command(int null_fd)
{
	if (!exit_command[0])
		return;
	pid_t ec = spawn(exit_command, null_fd, 2, 2, -1);
	int st;
	pid_t w;
	/* reap what else ends meanwhile (this is still a subreaper) until the exit command is done */
	while (ec > 0 && ((w = waitpid(-1, &st, 0)) != ec) && !(w < 0 && errno == ECHILD))
		;
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	/* the caller waits for the sync message, not for this process: the monitor lives on in a session of its own */
	pid_t first = fork();
	if (first < 0)
		usage("fork failed");
	if (first > 0)
		_exit(0);
	setsid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		warn("PR_SET_CHILD_SUBREAPER", NULL);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);

	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 }, console = -1;
	if (tty) {
		if ((console = listen_console()) < 0) {
			sync_report(-1, "cannot listen on the console socket");
			return 1;
		}
	} else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (keep_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		sync_report(-1, "cannot make the stdio pipes");
		return 1;
	}
	char *args[80];
	int n = 0;
	args[n++] = (char *)runtime;
	for (int i = 0; i < nruntime_args; i++)
		args[n++] = runtime_args[i];
	args[n++] = "create";
	args[n++] = "--bundle";
	args[n++] = (char *)bundle;
	args[n++] = "--pid-file";
	args[n++] = (char *)pid_file;
	if (tty) {
		args[n++] = "--console-socket";
		args[n++] = (char *)console_path;
	}
	args[n++] = (char *)id;
	args[n] = NULL;
	/* berth-runtime's create says `created` on this pipe once its pid file is written (PROTOCOL.md) */
	int created[2] = { -1, -1 };
	if (created_pipe && pipe2(created, O_CLOEXEC) < 0)
		created[0] = created[1] = -1;
	pid_t create = tty ? spawn(args, null_fd, null_fd, null_fd, created[1]) : spawn(args, in[0] >= 0 ? in[0] : null_fd, out[1], err[1], created[1]);
	if (created[1] >= 0)
		close(created[1]);
	/*
	 * The runtime's start (an exec and a Bun start, ≈5 ms) is on every run's critical
	 * path: what only the monitor needs — its pid file, the log, the attach socket (three
	 * new files, ≈0.15 ms each on ext4) — is made while it starts. Each is there before
	 * the sync report, which is when berth first looks for them.
	 */
	char text[64];
	snprintf(text, sizeof text, "%d", getpid());
	write_file(monitor_pid_file, text);
	log_open(log_path, log_max_size, log_max_files);
	attach_listen(attach_path);
	int status = 0;
	wait_create(create, &status, sig_fd, created[0]);
	if (created[0] >= 0)
		close(created[0]);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	char msg[128];
	long pid = 0;
	FILE *pf = create > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? fopen(pid_file, "re") : NULL;
	if (pf) {
		if (fscanf(pf, "%ld", &pid) != 1)
			pid = 0;
		fclose(pf);
	}
	int master = -1;
	if (pid > 0 && tty && (master = receive_master(console)) < 0)
		pid = 0;
	if (console >= 0) {
		close(console);
		unlink(console_path);
	}
	if (pid <= 0) {
		/* a create that ended by itself as its starter died — the head start's runtime reads
		 * the end of its config FIFO when berth's end closes, and fails — may be reaped
		 * before the hang-up is seen: the starter is gone all the same, and what it made
		 * is the exit command's. A live starter waits for this report: its claim is open */
		if (claim_gone())
			claim_hung_up = 1;
		if (create <= 0)
			snprintf(msg, sizeof msg, "cannot fork the runtime");
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			snprintf(msg, sizeof msg, "the runtime's create exited with status %d", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			snprintf(msg, sizeof msg, "the runtime's create was killed by signal %d", WTERMSIG(status));
		else
			snprintf(msg, sizeof msg, tty ? "the runtime sent no terminal on the console socket" : "the runtime wrote no pid file");
		sync_report(-1, msg);
		attach_close();
		/* the killed create leaves what it made (the runtime's state, the cgroup, an init
		 * that is this process's child now) and nobody who would remove it: the exit
		 * command does, as it does whenever the claim's holder is gone */
		if (claim_hung_up)
			run_exit_command(null_fd);
		return 1;
	}
	sync_report(pid, NULL);

	int out_fd = tty ? master : out[0], err_fd = tty ? -1 : err[0];
	stdin_fd = tty ? (keep_stdin ? master : -1) : in[1];
	fcntl(out_fd, F_SETFL, O_NONBLOCK);
	if (err_fd >= 0)
		fcntl(err_fd, F_SETFL, O_NONBLOCK);
	if (stdin_fd >= 0 && !tty)
		fcntl(stdin_fd, F_SETFL, O_NONBLOCK);

	int exited = 0, code = 0;
	while (!exited) {
		struct pollfd fds[4 + MAX_CLIENTS + 1];
		int k = 0;
		fds[k++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		fds[k++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
		fds[k++] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
		fds[k++] = (struct pollfd){ .fd = stdin_have > 0 ? stdin_fd : -1, .events = POLLOUT };
		int na = attach_pollfds(fds + k, stdin_have > 0);
		if (poll(fds, (nfds_t)(k + na), -1) < 0) {
			if (errno == EINTR)
				continue;
			warn("poll", NULL);
			break;
		}
		if (fds[1].revents && !relay(out_fd, STREAM_STDOUT, 16))
			out_fd = -1; /* at its end: not polled again (an ended terminal would wake poll forever) */
		if (fds[2].revents && !relay(err_fd, STREAM_STDERR, 16))
			err_fd = -1;
		attach_ready(fds + k, na);
		flush_stdin();
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			while (read(sig_fd, &si, sizeof si) > 0)
				;
			int st;
			pid_t w;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
				if (w != pid)
					continue;
				exited = 1;
				code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
			}
		}
	}
	/* what the container wrote before it ended is in the log before its exit is recorded
	 * (bounded: with --pid host what it started may live on and keep writing) */
	if (out_fd >= 0)
		relay(out_fd, STREAM_STDOUT, 1024);
	if (err_fd >= 0)
		relay(err_fd, STREAM_STDERR, 1024);
	log_close();
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", exit_dir, id);
	snprintf(text, sizeof text, "%d", code);
	write_file(path, text);
	/* the clients learn the code before the exit command runs (a --rm one removes the exit file) */
	attach_broadcast(FRAME_EXIT, text, strlen(text));
	attach_close();
	/* a foreground `run` holding the claim records the exit with the exit command's own code: no second process for it */
	if (exit_claimed())
		return 0;
	run_exit_command(null_fd);
	return 0;
}
