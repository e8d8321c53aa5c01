/* A container's record under the state root (/run/v12n/<id>/): state.json,
 * a copy of its config, the exec fifo.  Written before anything else is
 * created, so that `delete --force` can undo even a create that was killed
 * half-way. */
#ifndef V12N_CONTAINER_STATE_H
#define V12N_CONTAINER_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum container_status {
    CONTAINER_CREATING,
    CONTAINER_CREATED,
    CONTAINER_RUNNING,
    CONTAINER_PAUSED,
    CONTAINER_STOPPED,
};

struct container_state {
    char *id;
    char *bundle;
    char *rootfs;
    char *created;                 /* RFC 3339 */
    pid_t pid;                     /* init, 0 until known */
    unsigned long long start_time; /* /proc/<pid>/stat starttime: guards pid reuse */
    bool paused;
    json_t *annotations; /* owned, may be NULL */
    json_t *cgroup;      /* owned, cgroup_to_json(), may be NULL */
    uid_t owner;
};

#define STATE_FILE   "state.json"
#define STATE_CONFIG "config.json"
#define STATE_FIFO   "exec.fifo"

/* <root>/<id> into buf (with a file name appended when file != NULL). */
int state_path(const char *root, const char *id, const char *file, char *buf, size_t len,
               v12n_error *err);

/* mkdir <root>/<id>: fails with "container X already exists". */
int state_dir_create(const char *root, const char *id, v12n_error *err);

/* Lock one container against concurrent runtime commands (flock). */
int state_lock(const char *root, const char *id, v12n_error *err);

int state_save(const char *root, const struct container_state *st, v12n_error *err);
int state_load(const char *root, const char *id, struct container_state *st, v12n_error *err);
void state_clear(struct container_state *st);
int state_remove(const char *root, const char *id, v12n_error *err);

/* The live status: init dead (or a zombie, or a reused pid) is stopped. */
enum container_status state_status(const char *root, const struct container_state *st);
const char *container_status_name(enum container_status s);

/* The runtime-spec state object, as hooks read on stdin and `state` prints. */
json_t *state_to_json(const struct container_state *st, enum container_status status);

/* Process start time from /proc/<pid>/stat (0 when the process is gone). */
unsigned long long proc_start_time(pid_t pid, char *state_char);

/* Current time as RFC 3339 with nanoseconds, UTC. */
void rfc3339_now(char *buf, size_t len);

#endif
