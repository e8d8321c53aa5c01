#include "container/sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int sync_send(int fd, enum sync_type type, int value, v12n_error *err)
{
    struct sync_msg msg = {.type = type, .value = value};
    ssize_t n;
    do
        n = send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof msg)
        return v12n_fail_errno(err, "sync: send message %d", type);
    return 0;
}

void sync_send_error(int fd, const v12n_error *child_err)
{
    struct sync_msg msg = {.type = SYNC_ERROR, .err = *child_err};
    ssize_t n;
    do
        n = send(fd, &msg, sizeof msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
}

int sync_expect(int fd, enum sync_type type, int *value, const char *who, v12n_error *err)
{
    struct sync_msg msg;
    ssize_t n;
    do
        n = recv(fd, &msg, sizeof msg, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return v12n_fail_errno(err, "sync: read from %s", who);
    if (n == 0)
        return v12n_fail(err, 0, "%s exited unexpectedly", who);
    if (n != (ssize_t)sizeof msg)
        return v12n_fail(err, EPROTO, "sync: short message from %s", who);
    if (msg.type == SYNC_ERROR) {
        *err = msg.err;
        err->msg[sizeof err->msg - 1] = '\0';
        return -1;
    }
    if (msg.type != (int)type)
        return v12n_fail(err, EPROTO, "sync: %s sent message %d, expected %d", who, msg.type, type);
    if (value != NULL)
        *value = msg.value;
    return 0;
}

#define SYNC_BLOB_MAX (1 << 20)

int sync_send_blob(int fd, const char *data, size_t len, v12n_error *err)
{
    if (len > SYNC_BLOB_MAX)
        return v12n_fail(err, E2BIG, "sync: payload of %zu bytes too large", len);
    ssize_t n;
    do
        n = send(fd, data, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len)
        return v12n_fail_errno(err, "sync: send payload");
    return 0;
}

char *sync_recv_blob(int fd, const char *who, v12n_error *err)
{
    /* SEQPACKET keeps boundaries: peek at the size, then take it whole. */
    ssize_t size;
    do
        size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
    while (size < 0 && errno == EINTR);
    if (size <= 0 || size > SYNC_BLOB_MAX) {
        v12n_fail(err, size < 0 ? errno : EPROTO, "sync: no payload from %s", who);
        return NULL;
    }
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        v12n_fail(err, ENOMEM, "sync: payload");
        return NULL;
    }
    ssize_t n;
    do
        n = recv(fd, buf, (size_t)size, 0);
    while (n < 0 && errno == EINTR);
    if (n != size) {
        free(buf);
        v12n_fail(err, n < 0 ? errno : EPROTO, "sync: payload from %s", who);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}
