/*
 * The plan (native/PROTOCOL.md): read whole off the socket, and every op checked against
 * its signature before the first runs, so a malformed plan does nothing at all. The plan
 * comes from the runtime that started the helper; the checks keep every read in bounds
 * and every value the meaning the kernel gives it.
 */
#include "berth-init.h"

/*
 * Argument types per op: s = string (NUL-terminated, no NUL inside), i = 8-byte integer,
 * u = 8-byte integer that fits in 32 bits (so a cast can never change its meaning),
 * g = a uid/gid: fits in 32 bits and is not -1, which set*id(2) reads as "leave unchanged",
 * n = a slot (below NSLOTS), N = a slot or NSLOTS (none), c = MOUNT_IN_ROOT's create (0–3),
 * b = raw bytes, p = a seccomp program (whole struct sock_filter, 1–65535 of them),
 * a = a struct sched_attr (at least its first version's 48 bytes).
 * A trailing * repeats the type before it zero or more times, + one or more.
 */
static const char *const SIGNATURE[NOPS] = {
	[SETNS] = "su", [UNSHARE] = "u", [USERNS_SYNC] = "", [FORK] = "uuN",
	[WRITE_FILE] = "ss", [MOUNT] = "sssis", [MOUNT_IN_ROOT] = "ssssiscu",
	[MOUNT_SETATTR] = "ssiiiu", [MKNOD_IN_ROOT] = "ssuiuu", [SYMLINK_IN_ROOT] = "sss",
	[PIVOT_ROOT] = "s", [MOVE_CHROOT] = "s", [SETHOSTNAME] = "s", [SETDOMAINNAME] = "s",
	[SETRLIMIT] = "uii", [LOOPBACK_UP] = "", [CHDIR] = "s", [SETGROUPS] = "g*",
	[SETRESGID] = "g", [SETRESUID] = "g", [UMASK] = "u", [KEEPCAPS] = "u",
	[CAPS] = "iiiii", [NO_NEW_PRIVS] = "", [SECCOMP] = "up", [OPEN_DIR] = "s",
	[READY] = "", [WAIT_START] = "s", [FIND_EXEC] = "s+", [EXEC] = "us*",
	[CLOSE_FROM] = "u", [RESET_SIGNALS] = "", [SETSID] = "", [JOIN_KEYRING] = "s",
	[MASK_PATH] = "ss", [BIND_SELF_IN_ROOT] = "ssu", [MKDIR_IN_ROOT] = "ssu",
	[PERSONALITY] = "u", [IOPRIO] = "u", [SCHED_SETATTR] = "a", [IDMAP_TREE] = "nsssu",
	[MOVE_TREE_IN_ROOT] = "nsss", [CONNECT_UNIX] = "ns", [SECCOMP_NOTIFY] = "upn",
	[HOOK_SYNC] = "", [RUN_HOOK] = "usus*", [CONSOLE] = "sNuu", [CONSOLE_STDIO] = "",
	[OPEN_PATH] = "ns", [CHROOT] = "s", [OPEN_TREE] = "nsu", [CHOWN_STDIO] = "g",
};

/* A plan bigger than this is a runtime bug, not a container: refuse it before malloc. */
#define MAX_PLAN (64u << 20)

uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

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
 * An op's argument count and types against its signature. EXEC's and RUN_HOOK's argv and
 * envp (argc, then argv, then env to the end) are built here, before op 0 runs: nothing is
 * allocated between a seccomp filter and execve.
 */
static void validate(struct op *op)
{
	const char *sig = op->code < NOPS ? SIGNATURE[op->code] : NULL;
	if (!sig)
		bad_plan("unknown op", op->code);
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
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t at = 0;
	while (at < len) {
		ssize_t n = read(fd, (char *)buf + at, len - at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read", "plan");
		if (n == 0)
			return -1;
		at += (size_t)n;
	}
	return 0;
}

/* Read the whole plan and check every op before running the first: a malformed plan does
 * nothing at all. */
struct op *read_plan(uint32_t *count)
{
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
		validate(op);
	}
	step = -1;
	if (at != len)
		bad_plan("trailing bytes", (long)(len - at));
	*count = n;
	return ops;
}

/*
 * Report `line` and read what the runtime answers: u32 length (little-endian) and that
 * many bytes, a state JSON of at most 1 MiB (SECCOMP_NOTIFY, HOOK_SYNC). A runtime that
 * gave up closes the socket instead, and reports why itself.
 */
char *read_state(const char *line, uint32_t *len)
{
	unsigned char head[4];
	say(sock, "%s", line);
	if (read_all(sock, head, sizeof head) < 0)
		_exit(1);
	*len = get32(head);
	if (*len > (1u << 20))
		bad_plan("state length", *len);
	char *state = malloc(*len + 1);
	if (!state)
		die("malloc", NULL);
	if (*len && read_all(sock, state, *len) < 0)
		_exit(1);
	return state;
}
