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
__attribute__((format(printf, 1, 2))) void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vline(sock, fmt, ap);
	va_end(ap);
	if (r < 0)
		_exit(1);
}

/* After READY: fd 2 is the container's stderr, the only place left to say why. */
__attribute__((format(printf, 1, 2))) void complain(const char *fmt, ...)
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
		report("error %ld %d %s%s\n", step, err, call, d);
	else
		complain("berth-init: step %ld: %s%s: %s\n", step, call, d, strerror(err));
	_exit(1);
}

_Noreturn void bad_plan(const char *what, long arg)
{
	char d[64];
	if (arg >= 0)
		snprintf(d, sizeof d, "%s %ld", what, arg);
	else
		snprintf(d, sizeof d, "%s", what);
	errno = EINVAL;
	die("plan", d);
}
