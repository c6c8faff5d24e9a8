/*
 * The container's log, k8s-file as conmon writes it (`TIME STREAM P|F TEXT\n` per
 * record: F ends a line, P is a part continued by the next record of the stream), rotated
 * as docker's json-file: when a record would take the file past max_size, PATH becomes
 * PATH.1 (PATH.1 → PATH.2 …, the oldest dropped) and a new PATH begins, so at most
 * max_files files of at most max_size bytes each. A line longer than a file's room is cut
 * into P records. With max_files 1 the file starts again (docker's behaviour too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "berth-monitor.h"

static const char *log_path;
static long long log_max;
static int log_files;
static int log_fd = -1;
static long long log_size;

static void reopen(int flags)
{
	struct stat st;
	log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0600);
	if (log_fd < 0) {
		warn("open", log_path);
		return;
	}
	log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

void log_open(const char *path, long long max_size, int max_files)
{
	log_path = path;
	log_max = max_size;
	log_files = max_files;
	reopen(0);
}

static void rotate(void)
{
	char from[4096], to[4096];
	if (log_fd >= 0)
		close(log_fd);
	for (int i = log_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof from, "%s", log_path);
		else
			snprintf(from, sizeof from, "%s.%d", log_path, i - 1);
		snprintf(to, sizeof to, "%s.%d", log_path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			warn("rename", from);
	}
	/* one file: it starts again (unlinked, so a reader following it sees a new file) */
	if (log_files == 1)
		unlink(log_path);
	reopen(O_TRUNC);
}

/* the time as conmon writes it, RFC 3339 with nanoseconds, in UTC */
static size_t header(char *out, size_t cap, int stream, int partial)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(out + n, cap - n, ".%09ldZ %s %c ", ts.tv_nsec, stream == STREAM_STDERR ? "stderr" : "stdout", partial ? 'P' : 'F');
	return n;
}

static void record(int stream, int partial, const char *text, size_t len)
{
	char head[80];
	size_t hlen = header(head, sizeof head, stream, partial);
	long long total = (long long)(hlen + len + 1);
	if (log_size > 0 && log_size + total > log_max)
		rotate();
	if (log_fd < 0)
		return;
	struct iovec iov[3] = { { head, hlen }, { (void *)text, len }, { "\n", 1 } };
	ssize_t w;
	while ((w = writev(log_fd, iov, 3)) < 0 && errno == EINTR)
		;
	if (w < 0)
		warn("write", log_path);
	else
		log_size += w;
}

void log_write(int stream, const char *buf, size_t n)
{
	/* a record's text never holds a newline; the room for text in an empty file bounds a record */
	long long room = log_max - 64;
	if (room < 1)
		room = 1;
	while (n > 0) {
		const char *nl = memchr(buf, '\n', n);
		size_t len = nl ? (size_t)(nl - buf) : n;
		int partial = !nl;
		if ((long long)len > room) {
			len = (size_t)room;
			partial = 1;
		}
		record(stream, partial, buf, len);
		size_t used = len + (!partial && nl ? 1 : 0);
		buf += used;
		n -= used;
	}
}

void log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}
