/*
 * The attach socket: AF_UNIX SOCK_STREAM at the path given, up to MAX_CLIENTS at once.
 * Every message either way is an 8-byte header — type, three zero bytes, the payload's
 * length (u32 big-endian), as docker's attach stream — and the payload. The monitor sends
 * the container's output as it comes (1 stdout, 2 stderr; everything is 1 with a
 * terminal); a client sends 0 (bytes for the container's stdin), 3 (close the container's
 * stdin) and 4 (terminal size: rows, cols as u16 big-endian). A client too slow to take
 * the output (its socket buffer full) is dropped rather than holding up the container and
 * its log. When the container has ended and its output is drained the monitor closes
 * every client: EOF means the exit is recorded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "berth-monitor.h"

struct client {
	int fd;
	size_t have;
	unsigned char buf[8 + 32768];
};

static int listener = -1;
static const char *listen_path;
static struct client clients[MAX_CLIENTS];
static int nclients;

void attach_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		warn("attach socket path too long", path);
		return;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listener, MAX_CLIENTS) < 0) {
		warn("attach socket", path);
		if (listener >= 0)
			close(listener);
		listener = -1;
		return;
	}
	listen_path = path;
}

int attach_pollfds(struct pollfd *fds, int stdin_busy)
{
	int n = 0;
	if (listener >= 0)
		fds[n++] = (struct pollfd){ .fd = listener, .events = nclients < MAX_CLIENTS ? POLLIN : 0 };
	for (int i = 0; i < nclients; i++)
		fds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = stdin_busy ? 0 : POLLIN };
	return n;
}

static void drop(int i)
{
	close(clients[i].fd);
	clients[i] = clients[--nclients];
}

/* handle the whole frames in the client's buffer; 0 when it sent something unknown */
static int frames(struct client *c)
{
	size_t at = 0;
	while (c->have - at >= 8) {
		unsigned char *h = c->buf + at;
		uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		if (len > sizeof c->buf - 8)
			return 0;
		if (c->have - at < 8 + len)
			break;
		const unsigned char *p = h + 8;
		if (h[0] == STREAM_STDIN)
			on_stdin((const char *)p, len);
		else if (h[0] == FRAME_CLOSE_STDIN)
			on_close_stdin();
		else if (h[0] == FRAME_RESIZE && len == 4)
			on_resize((unsigned)p[0] << 8 | p[1], (unsigned)p[2] << 8 | p[3]);
		else
			return 0;
		at += 8 + len;
	}
	memmove(c->buf, c->buf + at, c->have - at);
	c->have -= at;
	return 1;
}

void attach_ready(struct pollfd *fds, int n)
{
	int k = 0;
	if (listener >= 0) {
		if (fds[k].revents & POLLIN) {
			int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0 && nclients < MAX_CLIENTS)
				clients[nclients++] = (struct client){ .fd = fd };
			else if (fd >= 0)
				close(fd);
		}
		k++;
	}
	/* the clients polled are the first n-k; one dropped moves the last into its place, so walk down */
	for (int i = n - k - 1; i >= 0; i--) {
		short ev = fds[k + i].revents;
		if (!ev)
			continue;
		struct client *c = &clients[i];
		ssize_t r = (ev & POLLIN) ? read(c->fd, c->buf + c->have, sizeof c->buf - c->have) : 0;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			drop(i);
			continue;
		}
		c->have += (size_t)r;
		if (!frames(c))
			drop(i);
	}
}

void attach_broadcast(int stream, const char *buf, size_t n)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
	for (int i = nclients - 1; i >= 0; i--) {
		struct iovec iov[2] = { { h, 8 }, { (void *)buf, n } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t w = sendmsg(clients[i].fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w != (ssize_t)(8 + n))
			drop(i);
	}
}

void attach_close(void)
{
	while (nclients > 0)
		drop(nclients - 1);
	if (listener >= 0) {
		close(listener);
		unlink(listen_path);
	}
	listener = -1;
}
