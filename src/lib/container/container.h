/* The OCI runtime's operations, one function per runtime command.  The CLI
 * (src/cli/oci_*.c) parses flags into these structs and prints results;
 * nothing here prints or exits. */
#ifndef V12N_CONTAINER_CONTAINER_H
#define V12N_CONTAINER_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "container/cgroup.h"
#include "util/error.h"

/* Global flags every runtime command shares. */
struct runtime_ctx {
    const char *state_root;  /* --root, default /run/v12n */
    const char *cgroup_root; /* /sys/fs/cgroup (tests move it) */
    enum cgroup_manager cgroup_manager;
    bool systemd_cgroup; /* refused with a clear error */
    bool debug;
    /* Non-fatal problems (a failing poststart hook); may be NULL. */
    void (*warn)(const v12n_error *err);
};

#define RUNTIME_DEFAULT_STATE_ROOT "/run/v12n"

struct create_opts {
    const char *id;
    const char *bundle;         /* default: current directory */
    const char *pid_file;       /* may be NULL */
    const char *console_socket; /* may be NULL */
    bool no_pivot;
    bool no_new_keyring;
    int preserve_fds; /* fds 3..3+n-1 pass into the container */
    /* run only: */
    bool detach;
    bool keep;           /* run --keep: do not delete on exit */
    bool run_foreground; /* set by container_run */
};

/* `create`: the container exists, its init waits for `start`. */
int container_create(const struct runtime_ctx *ctx, const struct create_opts *opts,
                     v12n_error *err);

/* `start`: let the init exec the user's process; poststart hooks. */
int container_start(const struct runtime_ctx *ctx, const char *id, v12n_error *err);

/* `run`: create + start; unless detached, wait and return the exit status
 * in *exit_code (128+signal for a killed process), then delete. */
int container_run(const struct runtime_ctx *ctx, const struct create_opts *opts, int *exit_code,
                  v12n_error *err);

/* `state`: the runtime-spec state object (ociVersion, id, status, pid,
 * bundle, annotations) plus runc's rootfs, created, owner. */
int container_state(const struct runtime_ctx *ctx, const char *id, json_t **out, v12n_error *err);

/* `kill`: signal the init, or every process with all. */
int container_kill(const struct runtime_ctx *ctx, const char *id, int sig, bool all,
                   v12n_error *err);

/* `delete`: a stopped container (or any with force: killed first). */
int container_delete(const struct runtime_ctx *ctx, const char *id, bool force, v12n_error *err);

/* `list`: an array of state objects. */
int container_list(const struct runtime_ctx *ctx, json_t **out, v12n_error *err);

/* `ps`: host pids of the container's processes. */
int container_pids(const struct runtime_ctx *ctx, const char *id, pid_t **pids, size_t *n,
                   v12n_error *err);

int container_pause(const struct runtime_ctx *ctx, const char *id, v12n_error *err);
int container_resume(const struct runtime_ctx *ctx, const char *id, v12n_error *err);

/* `update`: resources is a linux.resources object. */
int container_update(const struct runtime_ctx *ctx, const char *id, json_t *resources,
                     v12n_error *err);

struct exec_opts {
    const char *id;
    json_t *process; /* a runtime-spec process object (built by the CLI
                        from --process FILE or from args and flags) */
    const char *pid_file;
    const char *console_socket;
    bool detach;
    int preserve_fds;
};

/* The container's own process object (from the config saved at create), the
 * base `exec` builds on when given arguments instead of --process. */
int container_process_template(const struct runtime_ctx *ctx, const char *id, json_t **out,
                               v12n_error *err);

/* `exec`: a new process in the container; unless detached, wait and return
 * its status in *exit_code. */
int container_exec(const struct runtime_ctx *ctx, const struct exec_opts *opts, int *exit_code,
                   v12n_error *err);

/* `features`: the runtime-spec features document. */
json_t *container_features(void);

/* Signal by name ("KILL", "SIGTERM") or number; -1 when unknown. */
int container_parse_signal(const char *s);

/* A valid container id: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 1024 chars. */
bool container_id_valid(const char *id);

#endif
