/*
 * libc-binding: the libc calls src/sys/libc.ts makes, as a Node-API module that Bun
 * loads with process.dlopen. No policy: each function is one libc call with its
 * arguments converted (listDir and readFile: the loop of calls that reads a directory
 * or a file whole; spawn: posix_spawn with its file actions), returning what the call returns, or -errno when it fails (so no
 * other call made by the JavaScript engine between two bindings can overwrite errno
 * before it is read).
 *
 * Why not bun:ffi, which this replaces: binding libc through bun:ffi loads its module
 * and compiles a trampoline per symbol with TinyCC in every process — measured in a
 * compiled executable, 1.3-1.5 ms and 3.5 MiB of peak RSS per call of berth-runtime,
 * which engines exec several times per container. This module costs 0.2 ms and
 * 1.5 MiB. (libseccomp, needed only when a seccomp program is compiled, stays on
 * bun:ffi.)
 *
 * Paths arrive as JavaScript strings; one containing a NUL byte, or longer than
 * PATH_MAX, is refused with EINVAL / ENAMETOOLONG instead of being cut short.
 * Buffers arrive as typed arrays; a length argument larger than the array is cut to it.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 6

/* Every binding has this shape: argv holds up to MAX_ARGS arguments. */
typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
} call_t;

static int args(napi_env env, napi_callback_info info, call_t *c) {
  c->env = env;
  c->argc = MAX_ARGS;
  return napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) == napi_ok ? 0 : -EINVAL;
}

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* A syscall-style result: the value, or -errno when rc < 0. */
static napi_value result(napi_env env, long rc) {
  return number(env, rc < 0 ? -(double)errno : (double)rc);
}

static int64_t int_arg(call_t *c, size_t i) {
  int64_t v = 0;
  if (i >= c->argc) return 0;
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(c->env, c->argv[i], &v, &lossless);
  } else {
    napi_get_value_int64(c->env, c->argv[i], &v);
  }
  return v;
}

/* A path argument into buf (PATH_MAX bytes); 0, or -EINVAL / -ENAMETOOLONG. */
static int path_arg(call_t *c, size_t i, char *buf) {
  size_t len = 0;
  if (i >= c->argc || napi_get_value_string_utf8(c->env, c->argv[i], buf, PATH_MAX, &len) != napi_ok) return -EINVAL;
  if (len >= PATH_MAX - 1) return -ENAMETOOLONG;
  if (strlen(buf) != len) return -EINVAL; /* a NUL inside the string */
  return 0;
}

/* A typed array, DataView or Buffer argument (any ArrayBufferView): its first byte and its length in bytes. */
static int bytes_arg(call_t *c, size_t i, void **data, size_t *len) {
  bool is;
  if (i >= c->argc) return -EINVAL;
  if (napi_is_typedarray(c->env, c->argv[i], &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(c->env, c->argv[i], &type, &count, data, &ab, &offset) != napi_ok) return -EINVAL;
    size_t width = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: width = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: width = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: width = 8; break;
      default: width = 1;
    }
    *len = count * width;
    return 0;
  }
  if (napi_is_dataview(c->env, c->argv[i], &is) == napi_ok && is) {
    napi_value ab;
    size_t offset;
    return napi_get_dataview_info(c->env, c->argv[i], len, data, &ab, &offset) == napi_ok ? 0 : -EINVAL;
  }
  if (napi_is_buffer(c->env, c->argv[i], &is) == napi_ok && is)
    return napi_get_buffer_info(c->env, c->argv[i], data, len) == napi_ok ? 0 : -EINVAL;
  return -EINVAL;
}

/* syscall(nr, a1..a5): each argument a number, a bigint, or an ArrayBufferView (its address); any other object is EINVAL. */
static napi_value b_syscall(napi_env env, napi_callback_info info) {
  call_t c;
  if (args(env, info, &c) < 0) return number(env, -EINVAL);
  long a[MAX_ARGS] = {0};
  for (size_t i = 0; i < MAX_ARGS && i < c.argc; i++) {
    void *data;
    size_t len;
    napi_valuetype t;
    napi_typeof(env, c.argv[i], &t);
    if (t == napi_object) {
      /* anything but an ArrayBufferView would otherwise pass as 0, a NULL pointer */
      if (bytes_arg(&c, i, &data, &len) < 0) return number(env, -EINVAL);
      a[i] = (long)(uintptr_t)data;
    } else {
      a[i] = (long)int_arg(&c, i);
    }
  }
  return result(env, syscall(a[0], a[1], a[2], a[3], a[4], a[5]));
}

/* addressOf(typedArray): where its bytes are, for pointers stored inside a struct (bpf attrs). */
static napi_value b_address_of(napi_env env, napi_callback_info info) {
  call_t c;
  void *data;
  size_t len;
  if (args(env, info, &c) < 0 || bytes_arg(&c, 0, &data, &len) < 0) return number(env, 0);
  return number(env, (double)(uintptr_t)data);
}

static napi_value b_open(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  return result(env, open(path, (int)int_arg(&c, 1), (mode_t)int_arg(&c, 2)));
}

static napi_value b_close(napi_env env, napi_callback_info info) {
  call_t c;
  args(env, info, &c);
  return result(env, close((int)int_arg(&c, 0)));
}

static napi_value b_flock(napi_env env, napi_callback_info info) {
  call_t c;
  args(env, info, &c);
  return result(env, flock((int)int_arg(&c, 0), (int)int_arg(&c, 1)));
}

/* read/write/pread(fd, buf, len[, offset]) */
static napi_value io(napi_env env, napi_callback_info info, int kind) {
  call_t c;
  void *data;
  size_t len;
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = bytes_arg(&c, 1, &data, &len)) < 0) return number(env, e);
  int64_t want = int_arg(&c, 2);
  if (want >= 0 && (size_t)want < len) len = (size_t)want;
  int fd = (int)int_arg(&c, 0);
  if (kind == 0) return result(env, read(fd, data, len));
  if (kind == 1) return result(env, write(fd, data, len));
  return result(env, pread(fd, data, len, (off_t)int_arg(&c, 3)));
}
static napi_value b_read(napi_env env, napi_callback_info info) { return io(env, info, 0); }
static napi_value b_write(napi_env env, napi_callback_info info) { return io(env, info, 1); }
static napi_value b_pread(napi_env env, napi_callback_info info) { return io(env, info, 2); }

/*
 * readFile(path): the whole file as a UTF-8 string, read until end of file (proc and
 * cgroup files report no size); -errno when open fails, -(READ_FAILED + errno) when a
 * read does (callers name the call that failed). One call instead of open + read... + close
 * from JavaScript: `berth stats` reads a dozen cgroup files per container, and each
 * call into the module costs about as much as the kernel's work on a small file.
 */
#define READ_FAILED 0x10000
static char *file_buf;
static size_t file_cap;
static napi_value b_read_file(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return number(env, -errno);
  size_t total = 0;
  for (;;) {
    if (total == file_cap) {
      size_t cap = file_cap ? file_cap * 2 : 16384;
      char *bigger = realloc(file_buf, cap);
      if (!bigger) {
        close(fd);
        return number(env, -ENOMEM);
      }
      file_buf = bigger;
      file_cap = cap;
    }
    ssize_t n = read(fd, file_buf + total, file_cap - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      e = -(READ_FAILED + errno);
      close(fd);
      return number(env, e);
    }
    if (n == 0) break;
    total += (size_t)n;
  }
  close(fd);
  napi_value s;
  if (napi_create_string_utf8(env, file_buf ? file_buf : "", total, &s) != napi_ok) return number(env, -EINVAL);
  return s;
}

/* one path, one optional integer: unlink, rmdir, mkdir, access, chmod, mkfifo */
static napi_value path_call(napi_env env, napi_callback_info info, int kind) {
  call_t c;
  char path[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  int64_t n = int_arg(&c, 1);
  switch (kind) {
    case 0: return result(env, unlink(path));
    case 1: return result(env, rmdir(path));
    case 2: return result(env, mkdir(path, (mode_t)n));
    case 3: return result(env, access(path, (int)n));
    case 4: return result(env, chmod(path, (mode_t)n));
    default: return result(env, mkfifo(path, (mode_t)n));
  }
}
static napi_value b_unlink(napi_env env, napi_callback_info info) { return path_call(env, info, 0); }
static napi_value b_rmdir(napi_env env, napi_callback_info info) { return path_call(env, info, 1); }
static napi_value b_mkdir(napi_env env, napi_callback_info info) { return path_call(env, info, 2); }
static napi_value b_access(napi_env env, napi_callback_info info) { return path_call(env, info, 3); }
static napi_value b_chmod(napi_env env, napi_callback_info info) { return path_call(env, info, 4); }
static napi_value b_mkfifo(napi_env env, napi_callback_info info) { return path_call(env, info, 5); }

static napi_value b_rename(napi_env env, napi_callback_info info) {
  call_t c;
  char from[PATH_MAX], to[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, from)) < 0 || (e = path_arg(&c, 1, to)) < 0) return number(env, e);
  return result(env, rename(from, to));
}

/* stat/lstat(path, buf) and fstat(fd, buf): struct stat's bytes into buf */
static napi_value stat_call(napi_env env, napi_callback_info info, int kind) {
  call_t c;
  char path[PATH_MAX];
  void *data;
  size_t len;
  struct stat st;
  int e, rc;
  if ((e = args(env, info, &c)) < 0 || (e = bytes_arg(&c, 1, &data, &len)) < 0) return number(env, e);
  if (len < sizeof st) return number(env, -EINVAL);
  if (kind == 2) {
    rc = fstat((int)int_arg(&c, 0), &st);
  } else {
    if ((e = path_arg(&c, 0, path)) < 0) return number(env, e);
    rc = kind == 0 ? stat(path, &st) : lstat(path, &st);
  }
  if (rc == 0) memcpy(data, &st, sizeof st);
  return result(env, rc);
}
static napi_value b_stat(napi_env env, napi_callback_info info) { return stat_call(env, info, 0); }
static napi_value b_lstat(napi_env env, napi_callback_info info) { return stat_call(env, info, 1); }
static napi_value b_fstat(napi_env env, napi_callback_info info) { return stat_call(env, info, 2); }

/* path-valued calls: realpath(path) and readlink(path) return a string, or -errno */
static napi_value string_or_errno(napi_env env, const char *s, ssize_t len) {
  if (s == NULL || len < 0) return number(env, -(double)errno);
  napi_value r;
  napi_create_string_utf8(env, s, (size_t)len, &r);
  return r;
}

static napi_value b_realpath(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX], out[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  char *r = realpath(path, out);
  return string_or_errno(env, r, r ? (ssize_t)strlen(r) : -1);
}

static napi_value b_readlink(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX], out[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  ssize_t n = readlink(path, out, sizeof out);
  if (n == (ssize_t)sizeof out) {
    errno = ENAMETOOLONG;
    n = -1;
  }
  return string_or_errno(env, out, n);
}

/* listDir(path): [name, d_type, name, d_type, …] in the kernel's order (. and .. included), or -errno */
static napi_value b_list_dir(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  DIR *dir = opendir(path);
  if (dir == NULL) return number(env, -(double)errno);
  napi_value out;
  napi_create_array(env, &out);
  uint32_t i = 0;
  struct dirent *ent;
  int err;
  for (;;) {
    errno = 0; /* readdir's only way to tell the end from a failure; the napi calls may set it */
    if ((ent = readdir(dir)) == NULL) {
      err = errno;
      break;
    }
    napi_value name;
    napi_create_string_utf8(env, ent->d_name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, out, i++, name);
    napi_set_element(env, out, i++, number(env, ent->d_type));
  }
  closedir(dir);
  return err != 0 ? number(env, -(double)err) : out;
}

/* poll(fd, events, timeoutMs) on one fd: its revents (0 on timeout), or -errno */
static napi_value b_poll(napi_env env, napi_callback_info info) {
  call_t c;
  args(env, info, &c);
  struct pollfd p = {.fd = (int)int_arg(&c, 0), .events = (short)int_arg(&c, 1), .revents = 0};
  int rc = poll(&p, 1, (int)int_arg(&c, 2));
  return result(env, rc < 0 ? rc : p.revents);
}

/* socketpair(domain, type, protocol, Int32Array(2)) */
static napi_value b_socketpair(napi_env env, napi_callback_info info) {
  call_t c;
  void *data;
  size_t len;
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = bytes_arg(&c, 3, &data, &len)) < 0) return number(env, e);
  if (len < 2 * sizeof(int)) return number(env, -EINVAL);
  return result(env, socketpair((int)int_arg(&c, 0), (int)int_arg(&c, 1), (int)int_arg(&c, 2), (int *)data));
}

#define SPAWN_MAX_ARGS 64
#define SPAWN_ARG_BYTES 8192

/* Array argument i of strings into out[] (NULL-terminated), NUL-separated in strings
 * from *used on: 0, or -errno (EINVAL: not an array of strings, or one holding a NUL). */
static int strings_arg(call_t *c, size_t i, char *strings, size_t *used, char **out, uint32_t max) {
  uint32_t n = 0;
  if (napi_get_array_length(c->env, c->argv[i], &n) != napi_ok || n > max) return -EINVAL;
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    size_t len = 0;
    if (napi_get_element(c->env, c->argv[i], k, &v) != napi_ok ||
        napi_get_value_string_utf8(c->env, v, strings + *used, SPAWN_ARG_BYTES - *used, &len) != napi_ok)
      return -EINVAL;
    if (*used + len + 1 >= SPAWN_ARG_BYTES) return -E2BIG;
    if (strlen(strings + *used) != len) return -EINVAL; /* a NUL inside */
    out[k] = strings + *used;
    *used += len + 1;
  }
  out[n] = NULL;
  return 0;
}

/*
 * spawn(path, argv, fds[, env]): posix_spawn path with argv, the environment env ("K=V"
 * strings; empty when not given), and child fd i = this process's fds[i] (each entry an
 * open fd); every other fd closed. All signals default and unblocked in the child. The
 * pid, or -errno. Why not Bun.spawn for the helper of `create`: it costs ~1 ms and
 * ~1 MiB per call here, for a child nobody waits on (src/sys/init-helper.ts); and
 * Bun.spawnSync cannot run two children at once, which the CNI plugins' DELs do
 * (src/sys/cni-plugin.ts).
 */
static napi_value b_spawn(napi_env env, napi_callback_info info) {
  call_t c;
  char path[PATH_MAX];
  int e;
  if ((e = args(env, info, &c)) < 0 || (e = path_arg(&c, 0, path)) < 0) return number(env, e);
  uint32_t argc = 0, nfds = 0;
  if (c.argc < 3 || napi_get_array_length(env, c.argv[1], &argc) != napi_ok || napi_get_array_length(env, c.argv[2], &nfds) != napi_ok ||
      argc == 0)
    return number(env, -EINVAL);
  /* the strings, NUL-separated in one buffer */
  static char strings[SPAWN_ARG_BYTES];
  char *argv[SPAWN_MAX_ARGS + 1];
  char *envp[SPAWN_MAX_ARGS + 1] = {NULL};
  size_t used = 0;
  if ((e = strings_arg(&c, 1, strings, &used, argv, SPAWN_MAX_ARGS)) < 0) return number(env, e);
  if (c.argc > 3 && (e = strings_arg(&c, 3, strings, &used, envp, SPAWN_MAX_ARGS)) < 0) return number(env, e);
  /* from[i]: the fd that becomes the child's fd i; moved: the copies made below (--preserve-fds has no limit) */
  int *from = calloc(2 * (size_t)nfds + 1, sizeof(int));
  if (from == NULL) return number(env, -ENOMEM);
  int *moved = from + nfds;
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    int32_t fd;
    if (napi_get_element(env, c.argv[2], i, &v) != napi_ok || napi_get_value_int32(env, v, &fd) != napi_ok || fd < 0) {
      free(from);
      return number(env, -EINVAL);
    }
    from[i] = fd;
  }
  /* A source below nfds that is not its own target could be overwritten by an earlier
   * dup2: move it above the targets first (close-on-exec, so only the dup2 copy goes on). */
  uint32_t nmoved = 0;
  int rc = 0;
  for (uint32_t i = 0; i < nfds && rc == 0; i++) {
    if (from[i] == (int)i || from[i] >= (int)nfds) continue;
    int high = fcntl(from[i], F_DUPFD_CLOEXEC, (int)nfds);
    if (high < 0) rc = errno;
    else from[i] = moved[nmoved++] = high;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t all, none;
  pid_t pid = -1;
  if (rc == 0) {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    /* dup2(i, i) clears close-on-exec (glibc 2.29+): what --preserve-fds hands on */
    for (uint32_t i = 0; i < nfds && rc == 0; i++) rc = posix_spawn_file_actions_adddup2(&actions, from[i], (int)i);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, (int)nfds);
    sigfillset(&all);
    sigemptyset(&none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (rc == 0) rc = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  for (uint32_t i = 0; i < nmoved; i++) close(moved[i]);
  free(from);
  return number(env, rc != 0 ? -(double)rc : (double)pid);
}

/* waitpid(pid): blocks until the child ends; its raw wait status, or -errno */
static napi_value b_waitpid(napi_env env, napi_callback_info info) {
  call_t c;
  args(env, info, &c);
  int status = 0;
  pid_t r;
  while ((r = waitpid((pid_t)int_arg(&c, 0), &status, 0)) < 0 && errno == EINTR)
    ;
  return result(env, r < 0 ? r : status);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const struct {
    const char *name;
    napi_callback fn;
  } table[] = {
      {"syscall", b_syscall}, {"addressOf", b_address_of}, {"open", b_open}, {"close", b_close},
      {"flock", b_flock}, {"read", b_read}, {"write", b_write}, {"pread", b_pread},
      {"unlink", b_unlink}, {"rmdir", b_rmdir}, {"mkdir", b_mkdir}, {"access", b_access},
      {"chmod", b_chmod}, {"mkfifo", b_mkfifo}, {"rename", b_rename}, {"stat", b_stat},
      {"lstat", b_lstat}, {"fstat", b_fstat}, {"realpath", b_realpath}, {"readlink", b_readlink},
      {"listDir", b_list_dir}, {"socketpair", b_socketpair}, {"poll", b_poll}, {"readFile", b_read_file},
      {"spawn", b_spawn}, {"waitpid", b_waitpid},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, table[i].name, NAPI_AUTO_LENGTH, table[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, table[i].name, fn) != napi_ok)
      return NULL;
  }
  return exports;
}
