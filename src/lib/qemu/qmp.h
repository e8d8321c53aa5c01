/* A QMP client: QEMU's JSON control protocol over a unix socket.
 *
 * One JSON object per line.  On connect QEMU sends a greeting; we answer
 * qmp_capabilities.  Each command carries an id and the answer with that id
 * is its result; asynchronous events (SHUTDOWN, POWERDOWN, STOP, RESET, ...)
 * may arrive between them and are queued for qmp_wait_event/qmp_next_event.
 * Single-threaded: one caller at a time. */
#ifndef V12N_QEMU_QMP_H
#define V12N_QEMU_QMP_H

#include <jansson.h>

#include "util/error.h"

struct qmp_client;

/* Connect to path, retrying until timeout_ms (QEMU creates the socket a
 * little after it starts), read the greeting and negotiate capabilities. */
int qmp_connect(const char *path, int timeout_ms, struct qmp_client **out, v12n_error *err);

/* The same over an already connected descriptor (owned from now on). */
int qmp_attach(int fd, int timeout_ms, struct qmp_client **out, v12n_error *err);

void qmp_close(struct qmp_client *c);

/* QEMU's version from the greeting, "7.2.19". */
const char *qmp_qemu_version(const struct qmp_client *c);

/* Run a command.  args (may be NULL) is stolen.  On success *ret (when not
 * NULL) gets a new reference to the "return" value.  A QMP error becomes
 * "qmp CMD: CLASS: DESC"; no answer within timeout_ms, ETIMEDOUT. */
int qmp_execute(struct qmp_client *c, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
                v12n_error *err);

/* Wait for the event called name (queued or arriving); the events before
 * it stay queued.  *event (when not NULL) gets the whole event object. */
int qmp_wait_event(struct qmp_client *c, const char *name, json_t **event, int timeout_ms,
                   v12n_error *err);

/* The oldest queued event (new reference) or NULL. */
json_t *qmp_next_event(struct qmp_client *c);

/* Longest line we accept from QEMU; longer means a confused peer. */
#define QMP_MAX_LINE (16u << 20)
/* Events kept; the oldest are dropped beyond this. */
#define QMP_MAX_EVENTS 256

#endif
