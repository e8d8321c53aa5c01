/* The container engine: container records, their lifecycle and the monitor
 * that keeps each running container company.  See docs/engine.md.
 *
 *   <root>/containers/<id>/record.json   the record (engine_container)
 *   <root>/containers/<id>/config.json   the OCI bundle's config
 *   <root>/containers/<id>/upper, work   the overlay's own layer
 *   <root>/containers/<id>/rootfs        the merged rootfs (mounted while running)
 *   <root>/containers/<id>/etc/          generated hostname, hosts, resolv.conf
 *   <root>/containers/<id>/log           the log (see engine_log_*)
 *   <root>/containers/<id>/attach.sock   the monitor's attach socket
 *   <root>/containers/.lock              flock: record writers
 *   <run_dir>/runtime/<id>               the OCI runtime's state
 */
#ifndef V12N_ENGINE_ENGINE_H
#define V12N_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/container.h"
#include "util/error.h"

#define ENGINE_DEFAULT_RUN_DIR "/run/v12n/engine"
#define ENGINE_ID_LEN          64

enum engine_state {
    ENGINE_CREATED,
    ENGINE_RUNNING,
    ENGINE_EXITED,
};

struct engine {
    char root[4096];    /* the store's root, shared with the images */
    char run_dir[4096]; /* runtime state */
    char runtime_root[4096];
    /* The small static monitor the monitor becomes once the container runs
     * ("" or missing: it stays in-process). */
    char monitor_bin[4096];
    struct runtime_ctx rt;
};

/* A container's record, as stored in record.json. */
struct engine_container {
    char id[ENGINE_ID_LEN + 1];
    char *name;
    char *image;                        /* the reference as the user gave it */
    char *image_id;                     /* sha256:... (pinned as "container <id>") */
    char **command;                     /* the process args (for ps) */
    char *created, *started, *finished; /* RFC 3339, NULL: never */
    enum engine_state state;
    int exit_code;
    pid_t pid;         /* the init's host pid while running */
    pid_t monitor_pid; /* while running */
    bool tty, interactive, auto_remove;
    int stop_signal;
    json_t *opts; /* the run options, as given (for inspect) */
};

int engine_init(struct engine *e, const char *root, const char *run_dir, v12n_error *err);

void engine_container_clear(struct engine_container *c);
const char *engine_state_name(enum engine_state s);

/* <root>/containers/<id>/<leaf> */
const char *engine_path(const struct engine *e, const char *id, const char *leaf, char *buf,
                        size_t len);

/* The lock every record writer holds (flock, blocking). Returns the fd. */
int engine_lock(const struct engine *e, v12n_error *err);
void engine_unlock(int fd);

int engine_record_load(const struct engine *e, const char *id, struct engine_container *out,
                       v12n_error *err);
int engine_record_save(const struct engine *e, const struct engine_container *c, v12n_error *err);
/* Every record (ids sorted by creation time, newest first). */
int engine_record_list(const struct engine *e, struct engine_container **out, size_t *n,
                       v12n_error *err);
void engine_records_free(struct engine_container *cs, size_t n);
/* By name, full id or unique id prefix; ENOENT / EINVAL (ambiguous). */
int engine_lookup(const struct engine *e, const char *ref, struct engine_container *out,
                  v12n_error *err);
/* A free name (random adjective_noun) into buf; the caller holds the lock. */
int engine_name_generate(const struct engine *e, char *buf, size_t len, v12n_error *err);
/* Whether a record other than except_id holds name (the caller holds the lock). */
bool engine_name_taken(const struct engine *e, const char *name, const char *except_id);
bool engine_name_valid(const char *name);
/* Rename under the lock. */
int engine_rename(const struct engine *e, const char *ref, const char *new_name, v12n_error *err);
/* A new random id. */
int engine_id_generate(char id[ENGINE_ID_LEN + 1], v12n_error *err);

/* A container pins its image in the store (root) as "container <id>" from
 * before its directory exists until after it is gone from sight.  A pin
 * whose container directory is missing is stale (a monitor killed between
 * the two, a power loss undoing an unpin): true for such an owner. */
#define ENGINE_PIN_PREFIX "container "
bool engine_pin_stale(const char *root, const char *owner);
/* The current UTC time, RFC 3339 with nanoseconds. */
char *engine_now(void);

/* ---- lifecycle (lifecycle.c) ---- */

/* Mount the container's rootfs from its image layers (nothing when mounted). */
int engine_rootfs_prepare(const struct engine *e, const struct engine_container *c,
                          v12n_error *err);
/* The same through a store the caller holds open, without the mounted check
 * (engine_create: the rootfs was made a moment ago). */
struct store;
int engine_rootfs_mount_from(const struct engine *e, struct store *s,
                             const struct engine_container *c, v12n_error *err);

struct engine_launch {
    int attach_fd; /* a connected attach client (the caller's end), or -1 */
};

/* Start the container's monitor (which creates and starts the container)
 * and wait until it runs: 0, or -1 with the monitor's error.  with_client:
 * *client_fd gets an attach connection made before the container starts,
 * so no output is missed. */
int engine_launch(const struct engine *e, const char *id, bool with_client, int *client_fd,
                  v12n_error *err);

/* Wait for the container to exit (timeout_ms < 0: forever); 1 on timeout. */
int engine_wait(const struct engine *e, const char *id, int timeout_ms, int *exit_code,
                v12n_error *err);
int engine_kill(const struct engine *e, const char *ref, int sig, v12n_error *err);
/* StopSignal, then SIGKILL after timeout_s. */
int engine_stop(const struct engine *e, const char *ref, int timeout_s, v12n_error *err);
/* Remove a container: refused while running unless force (killed first). */
int engine_remove(const struct engine *e, const char *ref, bool force, v12n_error *err);
/* What is left after the init exits: runtime state, rootfs mount. */
int engine_teardown(const struct engine *e, const char *id, v12n_error *err);
/* Delete everything of an exited container (dir, image pin). */
int engine_destroy(const struct engine *e, const char *id, v12n_error *err);
/* engine_destroy in two steps: detach leaves nothing any command can see
 * (runtime state, mount, pin gone; the directory renamed to a hidden
 * containers/.removing-<id>), finish deletes every such directory (also
 * those a monitor killed in between left). */
int engine_destroy_detach(const struct engine *e, const char *id, v12n_error *err);
void engine_destroy_finish(const struct engine *e);

struct monitor_io;
/* After the init exited: record the exit, clean up (and remove, --rm), then
 * tell the attach clients in io the exit code. */
void engine_monitor_finish(const struct engine *e, const char *id, struct monitor_io *io);

/* The monitor's main (never returns). ready_fd: where it reports "ok" or an
 * error; client_fd: the first attach client, or -1. */
void engine_monitor_main(const struct engine *e, const char *id, int ready_fd, int client_fd)
    __attribute__((noreturn));

#endif
