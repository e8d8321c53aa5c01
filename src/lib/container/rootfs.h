/* The container's filesystem view, built by the container init inside its
 * own mount namespace: mounts, /dev, pivot_root, masked and read-only paths.
 * Every target is resolved inside the rootfs without following symlinks out
 * of it (openat2 RESOLVE_IN_ROOT), so a hostile image cannot redirect a mount
 * onto the host (CVE-2021-30465, /dev symlink attacks). */
#ifndef V12N_CONTAINER_ROOTFS_H
#define V12N_CONTAINER_ROOTFS_H

#include <stdbool.h>

#include "container/spec.h"
#include "util/error.h"

struct rootfs_options {
    bool in_user_ns;      /* devices are bind-mounted from the host, not mknod'ed */
    bool no_pivot;        /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
    int console_slave_fd; /* >= 0: bind onto /dev/console */
    /* Called once, before the first cgroup mount (or after the last mount
     * when there is none): the runtime places the init in its cgroup while
     * the other mounts are made, and a cgroup mount must see the final one.
     * May be NULL. */
    int (*await_cgroup)(void *arg, v12n_error *err);
    void *await_cgroup_arg;
};

/* Before pivot: make the rootfs a mount point, apply rootfsPropagation
 * (rslave by default, as runc), mount every spec mount in order, populate /dev
 * (default devices, linux.devices, /dev/fd etc. symlinks, ptmx), console. */
int rootfs_prepare(const struct oci_spec *spec, const struct rootfs_options *opts, v12n_error *err);

/* pivot_root into spec->root_path (or move+chroot with no_pivot). */
int rootfs_pivot(const struct oci_spec *spec, const struct rootfs_options *opts, v12n_error *err);

/* After pivot: maskedPaths, readonlyPaths, root.readonly, then the final
 * propagation of "/". */
int rootfs_finish(const struct oci_spec *spec, v12n_error *err);

/* Open path inside the directory fd root_fd, never resolving outside it.
 * flags are open(2) flags; the result is an fd or -1 with errno. */
int rootfs_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

/* mkdir -p inside root_fd (each component resolved in root); the last
 * component becomes a file instead when as_file. Returns an O_PATH fd. */
int rootfs_mkdir_p_in_root(int root_fd, const char *path, bool as_file, v12n_error *err);

#endif
