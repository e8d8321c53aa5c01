/* The parent/child handshake between the runtime and the processes it forks
 * (stage 1, the container init, exec'd processes): fixed-size messages on a
 * SOCK_SEQPACKET socketpair, so an error raised inside the container reaches
 * the runtime whole and is printed once, by the CLI. */
#ifndef V12N_CONTAINER_SYNC_H
#define V12N_CONTAINER_SYNC_H

#include <sys/types.h>

#include "util/error.h"

enum sync_type {
    SYNC_ERROR = 1,      /* child -> runtime: err follows, child exits */
    SYNC_USERMAP,        /* stage1 -> runtime: write my uid/gid maps */
    SYNC_USERMAP_DONE,   /* runtime -> stage1 */
    SYNC_PID,            /* stage1 -> runtime: value = init's pid */
    SYNC_GO,             /* runtime -> init: go on (state JSON follows) */
    SYNC_CGROUP_READY,   /* runtime -> init: the init is in its cgroup */
    SYNC_HOOKS,          /* init -> runtime: mounts done, run prestart/createRuntime */
    SYNC_HOOKS_DONE,     /* runtime -> init */
    SYNC_READY,          /* init -> runtime: created, waiting for start */
    SYNC_BORN_IN_CGROUP, /* stage1 -> runtime, before SYNC_PID when given a
                            cgroup fd: value = 1 if the init was cloned into it */
};

struct sync_msg {
    int type;
    int value;
    v12n_error err;
};

int sync_send(int fd, enum sync_type type, int value, v12n_error *err);

/* Send an error to the runtime (best effort: the child exits right after). */
void sync_send_error(int fd, const v12n_error *child_err);

/* Wait for a message of the given type. A SYNC_ERROR from the other side is
 * copied into err; EOF means the other side died. `who` names the peer. */
int sync_expect(int fd, enum sync_type type, int *value, const char *who, v12n_error *err);

/* A variable-length payload after a message (the state JSON for hooks). */
int sync_send_blob(int fd, const char *data, size_t len, v12n_error *err);
/* Receives into a malloc'd, NUL-terminated buffer. */
char *sync_recv_blob(int fd, const char *who, v12n_error *err);
#endif
