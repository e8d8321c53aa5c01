/* The last steps before the container's program runs, shared by the init
 * and by `exec`: limits, identity, capabilities, seccomp, fds, execve. */
#ifndef V12N_CONTAINER_PROCESS_H
#define V12N_CONTAINER_PROCESS_H

#include "container/spec.h"
#include "util/error.h"

struct seccomp_profile;

/* rlimits and oomScoreAdj: done early, so `create` fails, not `start`. A
 * limit the host refuses is named ("setrlimit RLIMIT_NOFILE 4096/8192: ..."). */
int process_apply_limits(const struct oci_process *p, v12n_error *err);

/* Resolve args[0] against the PATH of p->env (inside the container), so a
 * missing program is reported at create time. Returns a malloc'd path. */
char *process_find_executable(const struct oci_process *p, v12n_error *err);

/* Identity, capabilities, no_new_privs, umask, cwd (checked to be inside
 * the container), fds above 2+preserve_fds marked close-on-exec, seccomp,
 * and execve.  Returns only on failure. */
int process_exec(const struct oci_process *p, const char *exe_path,
                 const struct seccomp_profile *seccomp, int preserve_fds, v12n_error *err);

#endif
