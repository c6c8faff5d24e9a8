/*
 * berth-monitor: what holds a detached container (see PROTOCOL.md beside this file).
 * main.c — the arguments, the daemon, the runtime's create, the loop, the exit record;
 * log.c — the k8s-file log writer with rotation; attach.c — the attach socket.
 */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <stddef.h>
#include <poll.h>
#include <sys/types.h>

enum { STREAM_STDIN = 0, STREAM_STDOUT = 1, STREAM_STDERR = 2 };

/* log.c */
void log_open(const char *path, long long max_size, int max_files);
void log_write(int stream, const char *buf, size_t n);
void log_close(void);

/* attach.c: frame types (the 8-byte header's first byte) beyond the streams */
enum { FRAME_CLOSE_STDIN = 3, FRAME_RESIZE = 4, FRAME_EXIT = 5 };
#define MAX_CLIENTS 16
void attach_listen(const char *path);
/* the fds to poll: the listener and each client (POLLIN unless stdin is backed up) */
int attach_pollfds(struct pollfd *fds, int stdin_busy);
/* after poll: accept, read frames; calls the handlers below */
void attach_ready(struct pollfd *fds, int n);
void attach_broadcast(int stream, const char *buf, size_t n);
void attach_close(void);

/* main.c: what a client's frames do */
void on_stdin(const char *buf, size_t n);
void on_close_stdin(void);
void on_resize(unsigned rows, unsigned cols);
void warn(const char *what, const char *detail);

#endif
