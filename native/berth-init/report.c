/*
 * Reports: one line each, formatted into a buffer and written with one write(2) — no
 * stdio buffer that fork() could duplicate or _exit() could drop. Before READY they go
 * on the socket to the runtime; after it, fd 2 (the container's stderr) is the only
 * place left to say why.
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

/*
 * Report the failure of op `step` with the current errno and exit 1: on the socket before
 * READY, on fd 2 after it (the socket is gone then, and fd 2 is the container's stderr).
 */
_Noreturn void die(const char *call, const char *detail)
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
		say(sock, "error %ld %d %s%s\n", step, err, call, d);
	else
		say(2, "berth-init: step %ld: %s%s: %s\n", step, call, d, strerror(err));
	_exit(1);
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
	errno = EINVAL;
	die("plan", d);
}
