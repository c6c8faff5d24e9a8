/*
 * The plan (native/PROTOCOL.md): read whole off the socket, and every op checked against
 * its signature before the first runs, so a malformed plan does nothing at all.
 */
#include "berth-init.h"

/*
 * Argument types per op: s = string (NUL-terminated, no NUL inside), i = 8-byte integer,
 * u = 8-byte integer that fits in 32 bits (so a cast can never change its meaning),
 * g = a uid/gid: fits in 32 bits and is not -1, which set*id(2) reads as "leave unchanged",
 * b = raw bytes. A trailing * repeats the type before it zero or more times, + one or more.
 */
static const char *const SIGNATURE[NOPS] = {
	[SETNS] = "su", [UNSHARE] = "u", [USERNS_SYNC] = "", [FORK] = "uuu",
	[WRITE_FILE] = "ss", [MOUNT] = "sssis", [MOUNT_IN_ROOT] = "ssssisuu",
	[MOUNT_SETATTR] = "ssiiiu", [MKNOD_IN_ROOT] = "ssuiuu", [SYMLINK_IN_ROOT] = "sss",
	[PIVOT_ROOT] = "s", [MOVE_CHROOT] = "s", [SETHOSTNAME] = "s", [SETDOMAINNAME] = "s",
	[SETRLIMIT] = "uii", [LOOPBACK_UP] = "", [CHDIR] = "s", [SETGROUPS] = "g*",
	[SETRESGID] = "g", [SETRESUID] = "g", [UMASK] = "u", [KEEPCAPS] = "u",
	[CAPS] = "iiiii", [NO_NEW_PRIVS] = "", [SECCOMP] = "ub", [OPEN_DIR] = "s",
	[READY] = "", [WAIT_START] = "s", [FIND_EXEC] = "s+", [EXEC] = "us*",
	[CLOSE_FROM] = "u", [RESET_SIGNALS] = "", [SETSID] = "", [JOIN_KEYRING] = "s",
	[MASK_PATH] = "ss", [BIND_SELF_IN_ROOT] = "ssu", [MKDIR_IN_ROOT] = "ssu",
	[PERSONALITY] = "u", [IOPRIO] = "u", [SCHED_SETATTR] = "b", [IDMAP_TREE] = "usssu",
	[MOVE_TREE_IN_ROOT] = "usss", [CONNECT_UNIX] = "us", [SECCOMP_NOTIFY] = "ubu",
	[HOOK_SYNC] = "", [RUN_HOOK] = "usus*", [CONSOLE] = "suuu", [CONSOLE_STDIO] = "",
	[OPEN_PATH] = "us", [CHROOT] = "s", [OPEN_TREE] = "usu", [CHOWN_STDIO] = "g",
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

static int arg_ok(char type, const struct arg *a)
{
	switch (type) {
	case 's': /* exactly one NUL, the last byte */
		return a->len > 0 && memchr(a->p, 0, a->len) == a->p + a->len - 1;
	case 'i':
		return a->len == 8;
	case 'u':
		return a->len == 8 && get64(a->p) <= UINT32_MAX;
	case 'g':
		return a->len == 8 && get64(a->p) < UINT32_MAX;
	default:
		return 1;
	}
}

/* Check an op's argument count and types against its signature, and the few values the
 * kernel would otherwise misread (EXEC's argc, a seccomp program's length). */
static void validate(const struct op *op)
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
		if (!arg_ok(i < fixed ? sig[i] : sig[fixed], &op->args[i]))
			bad_plan("argument", i);
	if (op->code == EXEC) {
		uint64_t argc = get64(op->args[0].p);
		if (argc < 1 || argc > op->argc - 1)
			bad_plan("argc", (long)argc);
	}
	if (op->code == RUN_HOOK) {
		uint64_t argc = get64(op->args[2].p);
		if (argc < 1 || argc > op->argc - 3)
			bad_plan("argc", (long)argc);
	}
	if (op->code == MOUNT_IN_ROOT && get64(op->args[6].p) > 3)
		bad_plan("create", (long)get64(op->args[6].p));
	if ((op->code == IDMAP_TREE || op->code == OPEN_TREE || op->code == MOVE_TREE_IN_ROOT || op->code == CONNECT_UNIX || op->code == OPEN_PATH) && get64(op->args[0].p) >= NSLOTS)
		bad_plan("slot", (long)get64(op->args[0].p));
	if (op->code == FORK && get64(op->args[2].p) > NSLOTS)
		bad_plan("slot", (long)get64(op->args[2].p));
	if (op->code == CONSOLE && get64(op->args[1].p) > NSLOTS)
		bad_plan("slot", (long)get64(op->args[1].p));
	if (op->code == SECCOMP_NOTIFY && get64(op->args[2].p) >= NSLOTS)
		bad_plan("slot", (long)get64(op->args[2].p));
	if (op->code == SCHED_SETATTR && op->args[0].len < 48)
		bad_plan("sched_attr size", op->args[0].len);
	if (op->code == SECCOMP || op->code == SECCOMP_NOTIFY) {
		uint32_t len = op->args[1].len;
		if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > USHRT_MAX)
			bad_plan("program length", len);
	}
}

int read_all(int fd, void *buf, size_t len)
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
	size_t len = total - sizeof head;
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
	size_t at = 0;
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
			if (len - at < 4)
				bad_plan("truncated argument", j);
			uint32_t alen = get32(buf + at);
			at += 4;
			if (alen > len - at)
				bad_plan("truncated argument", j);
			op->args[j] = (struct arg){ buf + at, alen };
			at += alen;
		}
		validate(op);
	}
	step = -1;
	if (at != len)
		bad_plan("trailing bytes", (long)(len - at));
	*count = n;
	return ops;
}
