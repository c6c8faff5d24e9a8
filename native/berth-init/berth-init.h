/*
 * berth-init: the code that runs between clone() and execve(), where the multi-threaded
 * runtime (Bun) cannot be. It executes an init plan built in TypeScript (src/plan/), op
 * by op, and stops at the first failure. It decides nothing: no JSON, no defaults, no
 * policy. Single-threaded and static: scripts/build-native.sh compiles every .c file
 * here into native/build/berth-init. native/PROTOCOL.md is the contract with src/plan/
 * (ops.ts, encode.ts); change them together. The files, by concern:
 *
 *   main.c     the op switch and main: starts, then runs the plan op by op; an op of
 *              host.c, console.c or hooks.c goes on to that file's switch
 *   report.c   the socket: report lines, complaints on fd 2, fail(), die(), must(), the
 *              plan's integers, the state JSON an op waits for, an fd passed on
 *   in-root.c  paths resolved inside the root filesystem (openat2 RESOLVE_IN_ROOT)
 *   mounts.c   the mount ops, pivot_root, attaching detached trees
 *   process.c  fork, identity, capabilities, fds, signals, seccomp, the executable, execve
 *   plan.c     the start: the socket, not dumpable, the plan read and checked before op 0
 *   host.c     the helper's first process: ops refused after FORK (namespaces joined,
 *              the user namespace's maps, idmapped and detached trees, sockets), and
 *              FORK's parent (the pid report, the console proxy, the exit status)
 *   console.c  the pty (CONSOLE, CONSOLE_STDIO, CHOWN_STDIO)
 *   hooks.c    startContainer hooks (HOOK_SYNC, RUN_HOOK), run after READY
 *
 * main.c to process.c are the part that runs in the container's process, from FORK's
 * clone to EXEC's execve; native/clone-execve-size.test.ts keeps its size in a budget and
 * says what the other files hold.
 */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>


/* Op codes: the wire interface with src/plan/ops.ts. */
enum {
	SETNS = 1, UNSHARE, USERNS_SYNC, FORK, WRITE_FILE, MOUNT, MOUNT_IN_ROOT, MOUNT_SETATTR,
	MKNOD_IN_ROOT, SYMLINK_IN_ROOT, PIVOT_ROOT, MOVE_CHROOT, SETHOSTNAME, SETDOMAINNAME,
	SETRLIMIT, LOOPBACK_UP, CHDIR, SETGROUPS, SETRESGID, SETRESUID, UMASK, KEEPCAPS, CAPS,
	NO_NEW_PRIVS, SECCOMP, OPEN_DIR, READY, WAIT_START, FIND_EXEC, EXEC, CLOSE_FROM,
	RESET_SIGNALS, SETSID, JOIN_KEYRING, MASK_PATH, BIND_SELF_IN_ROOT, MKDIR_IN_ROOT,
	PERSONALITY, IOPRIO, SCHED_SETATTR, IDMAP_TREE, MOVE_TREE_IN_ROOT, CONNECT_UNIX,
	SECCOMP_NOTIFY, HOOK_SYNC, RUN_HOOK, CONSOLE, CONSOLE_STDIO, OPEN_PATH, CHROOT,
	OPEN_TREE, CHOWN_STDIO, NOPS
};

/* Fds an op keeps for a later op (an idmapped tree, a connected socket), by slot. */
#define NSLOTS 64

struct arg {
	const unsigned char *p;
	uint32_t len;
};

struct op {
	uint32_t code, argc;
	struct arg *args;
	char **argv, **envp;	/* EXEC, RUN_HOOK: built before op 0 runs (plan.c) */
	gid_t *gids;		/* SETGROUPS: likewise */
};

/* State one op leaves for a later one (main.c, but console_peer). */
extern int sock;		/* closed by FORK (parent) and READY */
extern long step;		/* the op being run, for error reports; -1 = the header */
extern int startdir;		/* OPEN_DIR, for WAIT_START after pivot_root */
extern const char *found;	/* FIND_EXEC's winner, for EXEC */
extern int slots[NSLOTS];	/* kept fds + 1 (0 = empty) */
extern int console_peer;	/* FORK with a console: the child's end, where CONSOLE sends the master (console.c) */

/* An op's string and integer arguments. */
#define S(i) ((const char *)op->args[i].p)
#define I(i) get64(op->args[i].p)

/* report.c */
int write_all(int fd, const char *buf, size_t len);
__attribute__((format(printf, 2, 3))) void say(int fd, const char *fmt, ...);
_Noreturn void fail(int err, const char *call, const char *detail);
_Noreturn void die(const char *call, const char *detail); /* fail() with the current errno */
long must(long r, const char *call, const char *detail);
_Noreturn void bad_plan(const char *what, long arg);
uint64_t get64(const unsigned char *p);
int read_all(int fd, void *buf, size_t len);
char *read_state(const char *line, uint32_t *len);
int send_fd(int to, int fd, const void *data, size_t len);

/* plan.c */
struct op *start(int argc, char **argv, uint32_t *count);

/* in-root.c */
int in_root(const char *root, const char *path, uint64_t create, const char *src, int optional);
int make_in_root(const char *root, const char *path, int file, mode_t mode);
int parent_in_root(const char *root, const char *path, char *dir, const char **base);
const char *fd_path(int fd);

/* mounts.c */
void do_mount(const struct op *op);
void do_mount_in_root(const struct op *op);
void do_mount_setattr(const struct op *op);
void do_node_in_root(const struct op *op);
void do_enter_root(const struct op *op);
void do_cover_in_root(const struct op *op);
void do_mkdir_in_root(const struct op *op);
void do_move_tree(const struct op *op);

/* process.c */
void do_fork(uint64_t wait, uint64_t console, uint64_t cgroup_slot);
void write_file(const char *path, const char *data);
void do_caps(const struct op *op);
void do_close_from(unsigned int from);
void do_reset_signals(void);
void do_seccomp(const struct op *op);
void do_find_exec(const struct op *op);
void do_exec(const struct op *op);

/* The ops of console.c, hooks.c and host.c, each file's own switch: 0 for an op not its own. */
int run_console_op(const struct op *op);
int run_hooks_op(const struct op *op);
int run_host_op(const struct op *op);

/* host.c */
_Noreturn void be_parent(pid_t pid, uint64_t wait, const int gate[2], const int peer[2]);

#endif
