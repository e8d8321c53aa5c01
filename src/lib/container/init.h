/* The processes the runtime forks to make a container: stage 1 joins and
 * creates namespaces, then forks the container init, which builds the
 * rootfs, waits for `start`, and becomes the user's program. */
#ifndef V12N_CONTAINER_INIT_H
#define V12N_CONTAINER_INIT_H

#include <stdbool.h>

#include "container/spec.h"

struct init_args {
    const struct oci_spec *spec;
    const char *id;
    int sync_fd;    /* our end of the handshake with the runtime */
    int fifo_fd;    /* exec.fifo, opened O_RDWR: `start` writes one byte */
    int console_fd; /* connected console socket; -1 without a terminal */
    int ns_fds[OCI_NS_COUNT];
    bool no_pivot;
    bool no_new_keyring;
    int preserve_fds;
    int cgroup_fd; /* pure cgroup v2: the container's cgroup, else -1 */
};

/* fork(), but into the container's cgroup when given one (cgroup_fd >= 0,
 * pure cgroup v2): the runtime then has no process to migrate, and no wait
 * for the RCU grace period a migration's write lock takes.  Kernels before
 * 5.7, or no right to the cgroup from a new user namespace: a plain fork
 * (*in_cgroup false), and the runtime moves the process. */
pid_t init_fork_in_cgroup(int cgroup_fd, bool *in_cgroup);

/* Runs in the child of fork(); never returns. */
_Noreturn void init_stage1(struct init_args *a);

/* Reset signal handlers and mask inherited from the runtime. */
void init_reset_signals(void);

#endif
