/* Finding and running QEMU's binaries.  posix_spawn and two pipes read
 * with poll, so a tool that writes much on stderr cannot block us. */
#include "qemu/run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"

extern char **environ;

const char *qemu_debian_package(const char *binary)
{
    if (strncmp(binary, "qemu-system-x86", 15) == 0)
        return "qemu-system-x86";
    if (strcmp(binary, "qemu-img") == 0)
        return "qemu-utils";
    return "qemu-system";
}

static bool try_dir(const char *dir, size_t dlen, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%.*s/%s", (int)dlen, dir, name);
    return n > 0 && (size_t)n < len && access(out, X_OK) == 0;
}

int qemu_find_binary(const char *name, char *out, size_t len, v12n_error *err)
{
    const char *path = getenv("PATH");
    for (const char *p = path; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ":");
        if (n > 0 && try_dir(p, n, name, out, len))
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    /* like execvp: the default directories only when PATH is unset */
    if (path == NULL && try_dir("/usr/bin", 8, name, out, len))
        return 0;
    out[0] = '\0';
    return v12n_fail(err, ENOENT, "%s not found: QEMU is not installed (Debian package %s)", name,
                     qemu_debian_package(name));
}

void qemu_output_free(struct qemu_output *o)
{
    free(o->out);
    free(o->err);
    o->out = o->err = NULL;
}

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_read(struct buf *b, int fd)
{
    if (b->cap - b->len < 4097) {
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (n > 0)
        b->len += (size_t)n;
    if (b->data != NULL)
        b->data[b->len] = '\0';
    return n < 0 && errno != EINTR ? -1 : (int)n;
}

/* Drain both pipes until the child closes them. */
static int collect(int out_fd, int err_fd, struct buf *out, struct buf *errb)
{
    struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    struct buf *bufs[2] = {out, errb};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            int n = buf_read(bufs[i], fds[i].fd);
            if (n == 0 || (n < 0 && errno != EINTR)) {
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    return 0;
}

static int spawn(char *const argv[], int out_w, int err_w, pid_t *pid, v12n_error *err)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return v12n_fail(err, ENOMEM, "spawn %s", argv[0]);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    int r = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return v12n_fail(err, r, "run %s", argv[0]);
    return 0;
}

static int wait_child(pid_t pid, int *status, const char *name, v12n_error *err)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return v12n_fail_errno(err, "wait for %s", name);
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

int qemu_run_capture(char *const argv[], struct qemu_output *o, v12n_error *err)
{
    memset(o, 0, sizeof *o);
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return v12n_fail_errno(err, "run %s: pipe", argv[0]);
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]);
        close(po[1]);
        return v12n_fail_errno(err, "run %s: pipe", argv[0]);
    }
    pid_t pid = -1;
    int r = spawn(argv, po[1], pe[1], &pid, err);
    bool spawned = r == 0;
    close(po[1]);
    close(pe[1]);
    struct buf out = {0}, errb = {0};
    if (r == 0 && collect(po[0], pe[0], &out, &errb) < 0)
        r = v12n_fail_errno(err, "run %s: read output", argv[0]);
    close(po[0]);
    close(pe[0]);
    /* reap even when reading failed, so no zombie is left */
    if (spawned && wait_child(pid, &o->status, argv[0], r == 0 ? err : &(v12n_error){0}) < 0)
        r = -1;
    o->out = out.data ? out.data : strdup("");
    o->err = errb.data ? errb.data : strdup("");
    if (r == 0 && (o->out == NULL || o->err == NULL))
        r = v12n_fail(err, ENOMEM, "run %s", argv[0]);
    if (r < 0)
        qemu_output_free(o);
    return r;
}

int qemu_parse_version(const char *text, char *out, size_t len)
{
    const char *v = strstr(text, "version ");
    if (v == NULL || len == 0)
        return -1;
    v += 8;
    size_t n = strspn(v, "0123456789.");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

int qemu_version(const char *binary, char *out, size_t len, v12n_error *err)
{
    char *argv[] = {(char *)binary, "--version", NULL};
    struct qemu_output o;
    if (qemu_run_capture(argv, &o, err) < 0)
        return -1;
    int r = 0;
    if (o.status != 0 || qemu_parse_version(o.out, out, len) < 0)
        r = v12n_fail(err, 0, "%s --version: unexpected answer (exit %d)", binary, o.status);
    qemu_output_free(&o);
    return r;
}
