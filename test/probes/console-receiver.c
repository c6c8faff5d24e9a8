/*
 * The other end of --console-socket, as conmon and containerd's shim are: accept one
 * connection on SOCKPATH, take the pty master from its one SCM_RIGHTS message, type
 * INPUT into it, and copy everything the container writes to OUTFILE until it closes.
 *
 *   console-receiver SOCKPATH OUTFILE INPUT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(srv, 1) < 0) {
		perror("listen");
		return 1;
	}
	int conn = accept(srv, NULL, NULL);
	char name[4096];
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { name, sizeof name };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(conn, &msg, 0);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "no fd received\n");
		return 1;
	}
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof master);
	FILE *out = fopen(argv[2], "w");
	if (!out)
		return 1;
	fprintf(out, "name=%.*s\n", (int)n, name);
	fflush(out);
	(void)write(master, argv[3], strlen(argv[3]));
	char buf[4096];
	for (;;) {
		ssize_t r = read(master, buf, sizeof buf);
		if (r <= 0)
			break; /* EIO: the container closed its side */
		fwrite(buf, 1, (size_t)r, out);
		fflush(out);
	}
	fclose(out);
	return 0;
}
