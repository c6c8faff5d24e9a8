/*
 * The socket to the runtime, both ways, and fd 2 (berth-init.h). Reports: one line each,
 * formatted into a buffer and written with one write(2) — no stdio buffer that fork()
 * could duplicate or _exit() could drop. Before READY they go on the socket to the
 * runtime; after it, fd 2 (the container's stderr) is the only place left to say why.
 */
#include "berth-init.h"

int write_all(int fd, const char *buf, size_t len)
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

/* One line on fd (sock: a report; 2: a complaint after READY), cut to the buffer but still
 * a line. A runtime that went away cannot be told anything more: the helper exits. */
__attribute__((format(printf, 2, 3))) void say(int fd, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof buf) {
		n = sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	if ((n < 0 || write_all(fd, buf, (size_t)n) < 0) && fd == sock)
		_exit(1);
}

/* Report the failure of op `step` with errno `err`, where the header says, and exit 1. */
_Noreturn void fail(int err, const char *call, const char *detail)
{
	char d[4096] = "";
	if (detail) { /* a newline in a path would end the report line early */
		snprintf(d, sizeof d, " %s", detail);
		for (char *c = d; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = '?';
	}
	if (sock >= 0)
		say(sock, "error %ld %d %s%s\n", step, err, call, d);
	else
		say(2, "berth-init: step %ld: %s%s: %s\n", step, call, d, strerror(err));
	_exit(1);
}

_Noreturn void die(const char *call, const char *detail)
{
	fail(errno, call, detail);
}

/* r, or the op's report when r says its system call failed: most steps are one call. */
long must(long r, const char *call, const char *detail)
{
	if (r < 0)
		die(call, detail);
	return r;
}

_Noreturn void bad_plan(const char *what, long arg)
{
	char d[64];
	snprintf(d, sizeof d, arg >= 0 ? "%s %ld" : "%s", what, arg);
	fail(EINVAL, "plan", d);
}

uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

int read_all(int fd, void *buf, size_t len)
{
	size_t at = 0;
	while (at < len) {
		ssize_t n = read(fd, (char *)buf + at, len - at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read", "the runtime's socket"); /* the plan, or the state an op waits for */
		if (n == 0)
			return -1;
		at += (size_t)n;
	}
	return 0;
}

/*
 * Report `line` and read what the runtime answers: u32 length (little-endian) and that
 * many bytes, a state JSON of at most 1 MiB (SECCOMP_NOTIFY, HOOK_SYNC). A runtime that
 * gave up closes the socket instead, and reports why itself.
 */
char *read_state(const char *line, uint32_t *len)
{
	say(sock, "%s", line);
	if (read_all(sock, len, sizeof *len) < 0)
		_exit(1);
	*len = le32toh(*len);
	if (*len > (1u << 20))
		bad_plan("state length", *len);
	char *state = malloc(*len + 1);
	if (!state)
		die("malloc", NULL);
	if (*len && read_all(sock, state, *len) < 0)
		_exit(1);
	return state;
}

/* One fd as SCM_RIGHTS with `len` bytes of data: runc's console-socket message (the
 * data a name) and runtime-spec's seccomp agent message (the data the state JSON). */
int send_fd(int to, int fd, const void *data, size_t len)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl = { .buf = { 0 } };
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
