/* Shared between the files that implement container.h; not for the CLI. */
#ifndef V12N_CONTAINER_INTERNAL_H
#define V12N_CONTAINER_INTERNAL_H

#include "container/container.h"
#include "container/spec.h"
#include "container/state.h"

/* Create from an already parsed spec; *console_master gets the pty master
 * when the runtime itself holds the terminal (foreground run -t). */
int container_create_spec(const struct runtime_ctx *ctx, const struct create_opts *opts,
                          struct oci_spec *spec, const char *bundle, pid_t *init_pid,
                          int *console_master, v12n_error *err);

/* The config.json saved at create time (the bundle may have changed since). */
int container_load_config(const struct runtime_ctx *ctx, const char *id, const char *bundle,
                          struct oci_spec **spec, v12n_error *err);

/* The runtime-spec state as compact JSON text (for hooks). */
char *container_state_text(const struct container_state *st, enum container_status status);

/* <state root>/.seccomp-cache: compiled filters, reused across containers. */
const char *container_seccomp_cache(const struct runtime_ctx *ctx, char *buf, size_t len);

void container_warn(const struct runtime_ctx *ctx, const v12n_error *err);

void container_forward_signals(pid_t pid);
int container_wait_exit(pid_t pid, int *exit_code, v12n_error *err);

#endif
