/* QMP over a unix socket, with jansson.  A receive buffer split into
 * lines; every line is one JSON object: a greeting, a response (return or
 * error, with our id) or an event. */
#include "qemu/qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"

struct qmp_client {
    int fd;
    char *buf;
    size_t len, cap;
    json_t *events; /* array, oldest first */
    uint64_t next_id;
    char version[32];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Take the first complete line from the buffer, parsed; NULL if none yet. */
static int take_line(struct qmp_client *c, json_t **msg, v12n_error *err)
{
    *msg = NULL;
    if (c->len == 0)
        return 0;
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl == NULL)
        return 0;
    size_t n = (size_t)(nl - c->buf);
    json_error_t jerr;
    json_t *j = json_loadb(c->buf, n, 0, &jerr);
    memmove(c->buf, nl + 1, c->len - n - 1);
    c->len -= n + 1;
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return v12n_fail(err, EPROTO, "qmp: QEMU sent a line that is not a JSON object");
    }
    *msg = j;
    return 0;
}

static int fill(struct qmp_client *c, int64_t deadline, const char *what, v12n_error *err)
{
    if (c->cap - c->len < 4096) {
        if (c->cap >= QMP_MAX_LINE)
            return v12n_fail(err, EPROTO, "qmp %s: QEMU sent a line over %u bytes", what,
                             QMP_MAX_LINE);
        size_t cap = c->cap ? c->cap * 2 : 16384;
        char *b = realloc(c->buf, cap);
        if (b == NULL)
            return v12n_fail(err, ENOMEM, "qmp %s", what);
        c->buf = b;
        c->cap = cap;
    }
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, remaining(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return v12n_fail_errno(err, "qmp %s: poll", what);
        if (r == 0)
            return v12n_fail(err, ETIMEDOUT, "qmp %s: no answer from QEMU", what);
        break;
    }
    ssize_t n;
    do
        n = read(c->fd, c->buf + c->len, c->cap - c->len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return v12n_fail_errno(err, "qmp %s: read", what);
    if (n == 0)
        return v12n_fail(err, ECONNRESET, "qmp %s: QEMU closed the connection", what);
    c->len += (size_t)n;
    return 0;
}

/* The next message, reading as needed until the deadline. */
static int next_message(struct qmp_client *c, int64_t deadline, const char *what, json_t **msg,
                        v12n_error *err)
{
    for (;;) {
        if (take_line(c, msg, err) < 0)
            return -1;
        if (*msg != NULL)
            return 0;
        if (fill(c, deadline, what, err) < 0)
            return -1;
    }
}

static void queue_event(struct qmp_client *c, json_t *ev)
{
    if (json_array_size(c->events) >= QMP_MAX_EVENTS)
        json_array_remove(c->events, 0);
    json_array_append_new(c->events, ev);
}

static int send_line(struct qmp_client *c, json_t *msg, const char *what, v12n_error *err)
{
    auto_free char *text = json_dumps(msg, JSON_COMPACT);
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "qmp %s", what);
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps leaves the NUL: room for the newline */
    /* MSG_NOSIGNAL: a QEMU that went away is an error, not a SIGPIPE */
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = send(c->fd, text + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return v12n_fail_errno(err, "qmp %s: send", what);
        off += (size_t)w;
    }
    return 0;
}

static int qmp_error(json_t *error, const char *cmd, v12n_error *err)
{
    const char *cls = json_string_value(json_object_get(error, "class"));
    const char *desc = json_string_value(json_object_get(error, "desc"));
    return v12n_fail(err, 0, "qmp %s: %s: %s", cmd, cls ? cls : "Error",
                     desc ? desc : "(no description)");
}

int qmp_execute(struct qmp_client *c, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
                v12n_error *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint64_t id = ++c->next_id;
    char idtext[32];
    snprintf(idtext, sizeof idtext, "v12n-%llu", (unsigned long long)id);
    auto_json json_t *msg = json_pack("{s:s,s:s}", "execute", cmd, "id", idtext);
    if (msg == NULL) {
        json_decref(args);
        return v12n_fail(err, ENOMEM, "qmp %s", cmd);
    }
    if (args != NULL)
        json_object_set_new(msg, "arguments", args);
    if (send_line(c, msg, cmd, err) < 0)
        return -1;
    for (;;) {
        auto_json json_t *in = NULL;
        if (next_message(c, deadline, cmd, &in, err) < 0)
            return -1;
        if (json_object_get(in, "event") != NULL) {
            queue_event(c, json_incref(in));
            continue;
        }
        /* answers to commands that timed out earlier carry older ids */
        const char *got = json_string_value(json_object_get(in, "id"));
        if (got == NULL || strcmp(got, idtext) != 0)
            continue;
        json_t *error = json_object_get(in, "error");
        if (error != NULL)
            return qmp_error(error, cmd, err);
        json_t *r = json_object_get(in, "return");
        if (r == NULL)
            return v12n_fail(err, EPROTO, "qmp %s: answer without return or error", cmd);
        if (ret != NULL)
            *ret = json_incref(r);
        return 0;
    }
}

static json_t *take_queued(struct qmp_client *c, const char *name)
{
    for (size_t i = 0; i < json_array_size(c->events); i++) {
        json_t *ev = json_array_get(c->events, i);
        const char *n = json_string_value(json_object_get(ev, "event"));
        if (name == NULL || (n != NULL && strcmp(n, name) == 0)) {
            json_incref(ev);
            json_array_remove(c->events, i);
            return ev;
        }
    }
    return NULL;
}

json_t *qmp_next_event(struct qmp_client *c)
{
    return take_queued(c, NULL);
}

int qmp_wait_event(struct qmp_client *c, const char *name, json_t **event, int timeout_ms,
                   v12n_error *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    char what[64];
    snprintf(what, sizeof what, "wait for event %s", name);
    json_t *ev = take_queued(c, name);
    while (ev == NULL) {
        json_t *in = NULL;
        if (next_message(c, deadline, what, &in, err) < 0)
            return -1;
        if (json_object_get(in, "event") == NULL) {
            json_decref(in); /* a late answer to a timed-out command */
            continue;
        }
        queue_event(c, in);
        ev = take_queued(c, name);
    }
    if (event != NULL)
        *event = ev;
    else
        json_decref(ev);
    return 0;
}

static int handshake(struct qmp_client *c, int timeout_ms, v12n_error *err)
{
    auto_json json_t *greeting = NULL;
    if (next_message(c, now_ms() + timeout_ms, "greeting", &greeting, err) < 0)
        return -1;
    json_t *qmp = json_object_get(greeting, "QMP");
    if (!json_is_object(qmp))
        return v12n_fail(err, EPROTO, "qmp: the peer's first message is no QMP greeting");
    json_t *q = json_object_get(json_object_get(qmp, "version"), "qemu");
    snprintf(c->version, sizeof c->version, "%lld.%lld.%lld",
             (long long)json_integer_value(json_object_get(q, "major")),
             (long long)json_integer_value(json_object_get(q, "minor")),
             (long long)json_integer_value(json_object_get(q, "micro")));
    return qmp_execute(c, "qmp_capabilities", NULL, NULL, timeout_ms, err);
}

int qmp_attach(int fd, int timeout_ms, struct qmp_client **out, v12n_error *err)
{
    struct qmp_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return v12n_fail(err, ENOMEM, "qmp: connect");
    }
    c->fd = fd;
    c->events = json_array();
    if (c->events == NULL) {
        qmp_close(c);
        return v12n_fail(err, ENOMEM, "qmp: connect");
    }
    if (handshake(c, timeout_ms, err) < 0) {
        qmp_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int connect_once(const char *path, int *fd_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *fd_out = fd;
    return 0;
}

int qmp_connect(const char *path, int timeout_ms, struct qmp_client **out, v12n_error *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    int fd = -1;
    while (connect_once(path, &fd) < 0) {
        /* not there yet, or not listening yet: QEMU is still starting */
        if ((errno != ENOENT && errno != ECONNREFUSED) || remaining(deadline) == 0)
            return v12n_fail_errno(err, "qmp: connect %s", path);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (qmp_attach(fd, remaining(deadline) + 1, out, err) < 0)
        return v12n_error_wrap(err, "qmp %s", path);
    return 0;
}

const char *qmp_qemu_version(const struct qmp_client *c)
{
    return c->version;
}

void qmp_close(struct qmp_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    json_decref(c->events);
    free(c->buf);
    free(c);
}
