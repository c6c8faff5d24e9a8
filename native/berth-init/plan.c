/*
 * The helper's start, before op 0: its argument, the socket, not dumpable, and the plan
 * (native/PROTOCOL.md) read whole off the socket, every op checked against its signature
 * before the first runs, so a malformed plan does nothing at all. The plan comes from the
 * runtime that started the helper; the checks keep every read in bounds and every value
 * the meaning the kernel gives it. Nothing here runs after op 0: main() calls start()
 * once, before its loop over the ops.
 */
#include "berth-init.h"

/*
 * Argument types per op: s = string (NUL-terminated, no NUL inside), i = 8-byte integer,
 * u = 8-byte integer that fits in 32 bits (so a cast can never change its meaning),
 * g = a uid/gid: fits in 32 bits and is not -1, which set*id(2) reads as "leave unchanged",
 * n = a slot (below NSLOTS), N = a slot or NSLOTS (none), c = MOUNT_IN_ROOT's create (0–3),
 * b = raw bytes, p = a seccomp program (whole struct sock_filter, 1–65535 of them),
 * a = a struct sched_attr (at least its first version's 48 bytes).
 * A trailing * repeats the type before it zero or more times, + one or more. A leading ^
 * marks an op of the helper's first process (host.c), refused after FORK: its code never
 * runs in the container's process.
 */
static const char *const SIGNATURE[NOPS] = {
	[SETNS] = "^su", [UNSHARE] = "u", [USERNS_SYNC] = "^", [FORK] = "uuN",
	[WRITE_FILE] = "ss", [MOUNT] = "sssis", [MOUNT_IN_ROOT] = "ssssiscu",
	[MOUNT_SETATTR] = "ssiiiu", [MKNOD_IN_ROOT] = "ssuiuu", [SYMLINK_IN_ROOT] = "sss",
	[PIVOT_ROOT] = "s", [MOVE_CHROOT] = "s", [SETHOSTNAME] = "s", [SETDOMAINNAME] = "s",
	[SETRLIMIT] = "uii", [LOOPBACK_UP] = "", [CHDIR] = "s", [SETGROUPS] = "g*",
	[SETRESGID] = "g", [SETRESUID] = "g", [UMASK] = "u", [KEEPCAPS] = "u",
	[CAPS] = "iiiii", [NO_NEW_PRIVS] = "", [SECCOMP] = "up", [OPEN_DIR] = "s",
	[READY] = "", [WAIT_START] = "s", [FIND_EXEC] = "s+", [EXEC] = "us*",
	[CLOSE_FROM] = "u", [RESET_SIGNALS] = "", [SETSID] = "", [JOIN_KEYRING] = "s",
	[MASK_PATH] = "ss", [BIND_SELF_IN_ROOT] = "ssu", [MKDIR_IN_ROOT] = "ssu",
	[PERSONALITY] = "u", [IOPRIO] = "u", [SCHED_SETATTR] = "a", [IDMAP_TREE] = "^nsssu",
	[MOVE_TREE_IN_ROOT] = "nsss", [CONNECT_UNIX] = "^ns", [SECCOMP_NOTIFY] = "upn",
	[HOOK_SYNC] = "", [RUN_HOOK] = "usus*", [CONSOLE] = "sNuu", [CONSOLE_STDIO] = "",
	[OPEN_PATH] = "ns", [CHROOT] = "s", [OPEN_TREE] = "^nsu", [CHOWN_STDIO] = "g",
};

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

/* A plan bigger than this is a runtime bug, not a container: refuse it before malloc. */
#define MAX_PLAN (64u << 20)

/* An argument against its type in SIGNATURE; bad_plan names what is wrong with it. */
static void check_arg(char type, const struct arg *a, uint32_t i)
{
	uint64_t v = a->len == 8 ? get64(a->p) : 0;
	if (type == 's' ? !a->len || memchr(a->p, 0, a->len) != a->p + a->len - 1 : !strchr("bpa", type) && a->len != 8)
		bad_plan("argument", i);
	if ((type == 'u' && v > UINT32_MAX) || (type == 'g' && v >= UINT32_MAX))
		bad_plan("argument", i);
	if ((type == 'n' && v >= NSLOTS) || (type == 'N' && v > NSLOTS))
		bad_plan("slot", (long)v);
	if (type == 'c' && v > 3)
		bad_plan("create", (long)v);
	if (type == 'a' && a->len < 48)
		bad_plan("sched_attr size", a->len);
	if (type == 'p' && (!a->len || a->len % sizeof(struct sock_filter) || a->len / sizeof(struct sock_filter) > USHRT_MAX))
		bad_plan("program length", a->len);
}

/*
 * An op's argument count and types against its signature, and an op of the helper's first
 * process refused after FORK. EXEC's and RUN_HOOK's argv and envp (argc, then argv, then
 * env to the end) and SETGROUPS's list are built here, before op 0 runs: nothing is
 * allocated between a seccomp filter and execve, and the container's process does not
 * allocate for its groups.
 */
static void validate(struct op *op, int forked)
{
	const char *sig = op->code < NOPS ? SIGNATURE[op->code] : NULL;
	if (!sig)
		bad_plan("unknown op", op->code);
	if (*sig == '^' && forked)
		bad_plan("after FORK: op", op->code);
	sig += *sig == '^';
	size_t n = strlen(sig);
	char rep = n && (sig[n - 1] == '*' || sig[n - 1] == '+') ? sig[n - 1] : 0;
	size_t fixed = rep ? n - 2 : n;
	if (op->argc < fixed + (rep == '+') || (!rep && op->argc != fixed))
		bad_plan("argument count", op->argc);
	for (uint32_t i = 0; i < op->argc; i++)
		check_arg(i < fixed ? sig[i] : sig[fixed], &op->args[i], i);
	if (op->code == EXEC || op->code == RUN_HOOK) {
		uint32_t at = op->code == EXEC ? 0 : 2; /* argc, then argv, then env */
		uint64_t argc = get64(op->args[at].p);
		if (argc < 1 || argc > op->argc - at - 1)
			bad_plan("argc", (long)argc);
		if (!(op->argv = calloc(op->argc - at + 1, sizeof *op->argv))) /* argv, NULL, envp, NULL */
			die("malloc", NULL);
		for (uint32_t i = 0; i < op->argc - at - 1; i++)
			op->argv[i + (i >= argc)] = (char *)S(at + 1 + i);
		op->envp = op->argv + argc + 1;
	}
	if (op->code == SETGROUPS) {
		if (!(op->gids = calloc(op->argc ? op->argc : 1, sizeof *op->gids)))
			die("malloc", NULL);
		for (uint32_t i = 0; i < op->argc; i++)
			op->gids[i] = (gid_t)I(i);
	}
}

/*
 * The helper's argument (the socket's fd), the socket made close-on-exec, the helper made
 * not dumpable, and the whole plan read and checked before op 0 runs: a malformed plan
 * does nothing at all.
 */
struct op *start(int argc, char **argv, uint32_t *count)
{
	char *end;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
		static const char usage[] = "usage: berth-init SOCKFD (started by berth-runtime)\n";
		(void)write_all(2, usage, sizeof usage - 1);
		_exit(1);
	}
	sock = (int)fd;
	/* exec'd from its sealed copy as /proc/self/fd/N (sys/sealed-exec.ts), it was named "N" */
	(void)prctl(PR_SET_NAME, "berth-init", 0, 0, 0);
	/* whatever the plan does, the container never inherits the runtime's socket */
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	/*
	 * Not dumpable from here to the container's execve, which makes it dumpable again
	 * (CVE-2019-5736): while this host binary runs in a container's pid namespace, a
	 * process there could open it through /proc/PID/exe and write into it once we have
	 * exec'd. A non-dumpable process's /proc files need CAP_SYS_PTRACE in the host's
	 * user namespace, which a container does not get by default. Not for a non-root
	 * caller: its newuidmap must write our uid_map as the owner of /proc/PID, and a
	 * root-owned binary is not its to write anyway.
	 */
	if (geteuid() == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die("prctl", "PR_SET_DUMPABLE");
	unsigned char head[16];
	if (read_all(sock, head, sizeof head) < 0)
		bad_plan("short header", -1);
	if (memcmp(head, "BRTHPLN3", 8) != 0)
		bad_plan("magic", -1);
	uint32_t total = get32(head + 8), n = get32(head + 12);
	if (total < sizeof head || total > MAX_PLAN)
		bad_plan("total_len", total);
	size_t len = total - sizeof head, at = 0;
	unsigned char *buf = malloc(len + 1);
	if (!buf)
		die("malloc", "plan");
	if (read_all(sock, buf, len) < 0)
		bad_plan("short plan", -1);
	/* every op takes at least 8 bytes: this bounds the allocation by what was sent */
	if (n > len / 8)
		bad_plan("op_count", n);
	struct op *ops = calloc(n ? n : 1, sizeof *ops);
	if (!ops)
		die("malloc", "plan");
	int forked = 0;
	for (uint32_t i = 0; i < n; i++) {
		step = i;
		struct op *op = &ops[i];
		if (len - at < 8)
			bad_plan("truncated op", -1);
		op->code = get32(buf + at);
		op->argc = get32(buf + at + 4);
		at += 8;
		if (op->argc > (len - at) / 4)
			bad_plan("argument count", op->argc);
		op->args = calloc(op->argc ? op->argc : 1, sizeof *op->args);
		if (!op->args)
			die("malloc", "plan");
		for (uint32_t j = 0; j < op->argc; j++) {
			uint32_t alen = len - at < 4 ? 0 : get32(buf + at);
			if (len - at < 4 || alen > len - at - 4)
				bad_plan("truncated argument", j);
			op->args[j] = (struct arg){ buf + at + 4, alen };
			at += 4 + alen;
		}
		validate(op, forked);
		forked |= op->code == FORK;
	}
	step = -1;
	if (at != len)
		bad_plan("trailing bytes", (long)(len - at));
	*count = n;
	return ops;
}
