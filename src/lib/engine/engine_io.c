/* Attach frames and log lines (engine_io.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_io.h"
#include "util/cleanup.h"
#include "util/fs.h"

int attach_send(int fd, uint8_t type, const void *data, size_t len)
{
    if (len > ATTACH_FRAME_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    uint8_t hdr[ATTACH_HEADER_SIZE];
    uint32_t be = htonl((uint32_t)len);
    hdr[0] = type;
    memcpy(hdr + 1, &be, 4);
    if (v12n_write_all(fd, hdr, sizeof hdr) < 0)
        return -1;
    return len > 0 ? v12n_write_all(fd, data, len) : 0;
}

int attach_reader_fill(struct attach_reader *r, int fd)
{
    size_t room = sizeof r->buf - r->have;
    if (room == 0) {
        errno = EMSGSIZE;
        return -1;
    }
    ssize_t n = read(fd, r->buf + r->have, room);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    r->have += (size_t)n;
    return 1;
}

int attach_reader_next(struct attach_reader *r, uint8_t *type, const uint8_t **payload, size_t *len)
{
    static uint8_t frame[ATTACH_FRAME_MAX];
    if (r->have < ATTACH_HEADER_SIZE)
        return 0;
    uint32_t be;
    memcpy(&be, r->buf + 1, 4);
    size_t plen = ntohl(be);
    if (plen > ATTACH_FRAME_MAX)
        return -1;
    if (r->have < ATTACH_HEADER_SIZE + plen)
        return 0;
    *type = r->buf[0];
    memcpy(frame, r->buf + ATTACH_HEADER_SIZE, plen);
    r->have -= ATTACH_HEADER_SIZE + plen;
    memmove(r->buf, r->buf + ATTACH_HEADER_SIZE + plen, r->have);
    *payload = frame;
    *len = plen;
    return 1;
}

int engine_unix_addr(const char *path, struct sockaddr_un *addr, int *dir_fd, v12n_error *err)
{
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    *dir_fd = -1;
    if (strlen(path) < sizeof addr->sun_path) {
        strcpy(addr->sun_path, path);
        return 0;
    }
    /* A long path (a deep --root): through the directory's descriptor. */
    const char *slash = strrchr(path, '/');
    if (slash == NULL || strlen(slash) > 64)
        return v12n_fail(err, ENAMETOOLONG, "socket %s", path);
    char dir[4200];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    *dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dir_fd < 0)
        return v12n_fail_errno(err, "open %s", dir);
    snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d%s", *dir_fd, slash);
    return 0;
}

int attach_connect(const char *path, v12n_error *err)
{
    struct sockaddr_un addr;
    auto_close int dir_fd = -1;
    if (engine_unix_addr(path, &addr, &dir_fd, err) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return v12n_fail_errno(err, "socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        v12n_fail_errno(err, "connect %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

static size_t log_time(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

int engine_log_write(int fd, bool is_stderr, const char *data, size_t len)
{
    char stamp[48];
    size_t slen = log_time(stamp, sizeof stamp);
    const char *stream = is_stderr ? " stderr " : " stdout ";
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;
        struct iovec iov[4] = {
            {stamp, slen},
            {(void *)stream, 8},
            {(void *)(nl != NULL ? "F " : "P "), 2},
            {(void *)data, n},
        };
        struct iovec end = {(void *)"\n", 1};
        /* One writev per entry: O_APPEND keeps entries whole. */
        struct iovec all[5] = {iov[0], iov[1], iov[2], iov[3], end};
        if (writev(fd, all, 5) < 0)
            return -1;
        size_t used = n + (nl != NULL ? 1 : 0);
        data += used;
        len -= used;
    }
    return 0;
}

static int parse_line(const char *line, size_t len, struct engine_log_entry *e)
{
    const char *sp = memchr(line, ' ', len);
    if (sp == NULL || (size_t)(sp - line) >= sizeof e->time)
        return -1;
    size_t tlen = (size_t)(sp - line);
    memcpy(e->time, line, tlen);
    e->time[tlen] = '\0';
    const char *rest = sp + 1;
    size_t rlen = len - tlen - 1;
    if (rlen < 9 || rest[6] != ' ' || rest[8] != ' ' || (rest[7] != 'F' && rest[7] != 'P'))
        return -1;
    if (memcmp(rest, "stdout", 6) == 0)
        e->is_stderr = false;
    else if (memcmp(rest, "stderr", 6) == 0)
        e->is_stderr = true;
    else
        return -1;
    e->partial = rest[7] == 'P';
    e->text = rest + 9;
    e->len = rlen - 9;
    return 0;
}

int engine_log_parse(const char *buf, size_t len, size_t *used, engine_log_fn fn, void *arg)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (nl == NULL)
            break;
        size_t llen = (size_t)(nl - (buf + pos));
        struct engine_log_entry e;
        /* A damaged line is skipped rather than trusted. */
        if (parse_line(buf + pos, llen, &e) == 0 && fn(arg, &e) < 0) {
            *used = pos;
            return -1;
        }
        pos += llen + 1;
    }
    *used = pos;
    return 0;
}
