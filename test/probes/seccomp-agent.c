/*
 * A minimal seccomp agent (runtime-spec config-linux.md, "seccomp" with listenerPath):
 * accepts one connection on SOCKPATH, receives the container process state and the
 * listener fd (SCM_RIGHTS), saves the state to STATEFILE, then answers every notified
 * system call itself: with -ERRNO, or as a success that did nothing when ERRNO is 0.
 *
 *   seccomp-agent SOCKPATH STATEFILE ERRNO
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int answer = atoi(argv[3]);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(srv, 1) < 0) {
		perror("listen");
		return 1;
	}
	int conn = accept(srv, NULL, NULL);
	if (conn < 0) {
		perror("accept");
		return 1;
	}
	static char state[1 << 16];
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { state, sizeof state - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(conn, &msg, 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (n <= 0 || !c || c->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "no listener fd received\n");
		return 1;
	}
	int listener;
	memcpy(&listener, CMSG_DATA(c), sizeof listener);
	FILE *f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fwrite(state, 1, (size_t)n, f);
	fclose(f);
	for (;;) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		memset(&req, 0, sizeof req);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* the container is gone */
		}
		memset(&resp, 0, sizeof resp);
		resp.id = req.id;
		resp.error = answer ? -answer : 0;
		resp.val = 0;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
			return 1;
		fprintf(stderr, "answered syscall %d\n", req.data.nr);
	}
}
