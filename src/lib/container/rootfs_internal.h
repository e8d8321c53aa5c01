/* Shared between rootfs.c, mounts.c and devices.c; not part of the library's
 * interface (the unit tests use it to reach the slow resolver). */
#ifndef V12N_CONTAINER_ROOTFS_INTERNAL_H
#define V12N_CONTAINER_ROOTFS_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "container/rootfs.h"
#include "container/spec.h"
#include "util/error.h"

/* One rootfs being built: the spec, the options and the rootfs itself as an
 * O_PATH fd, which every target is resolved from. */
struct rootfs_ctx {
    const struct oci_spec *spec;
    const struct rootfs_options *opts;
    int root_fd;
    char root_path[PATH_MAX]; /* as the kernel names root_fd: for /proc checks */
    bool fd_paths;            /* /proc/self/fd is a real procfs: mount through it */
    bool cgroup_awaited;      /* opts->await_cgroup has been called */
};

/* rootfs.c: call opts->await_cgroup once. */
int rootfs_await_cgroup(struct rootfs_ctx *ctx, v12n_error *err);

/* The path mount(2) is given for a target we resolved ourselves: the fd's
 * /proc/self/fd/N magic link, so no component is looked up again (and no
 * symlink swapped in meanwhile is followed).  Without a procfs (after pivot,
 * in a container without /proc) the plain path is used instead: then the
 * root is already the container's and no magic link exists to escape it. */
struct target_path {
    char s[PATH_MAX];
};

static inline const char *rootfs_target(const struct rootfs_ctx *ctx, int fd, const char *plain,
                                        struct target_path *buf)
{
    if (!ctx->fd_paths) {
        snprintf(buf->s, sizeof buf->s, "%s", plain);
        return buf->s;
    }
    snprintf(buf->s, sizeof buf->s, "/proc/self/fd/%d", fd);
    return buf->s;
}

/* Resolve in root by hand, one component at a time with O_NOFOLLOW (for
 * kernels before 5.6 without openat2; exposed so tests cover it). */
int rootfs_open_in_root_walk(int root_fd, const char *path, int flags, mode_t mode);

/* Lexically clean an absolute path: "/a//b/../c/" -> "/a/c", ".." stops at
 * "/".  Returns -1 (ENAMETOOLONG) when it does not fit. */
int rootfs_clean_path(const char *in, char *out, size_t len);

/* Whether fd / path lies on a procfs. */
bool rootfs_fd_is_procfs(int fd);
bool rootfs_path_is_procfs(const char *path);

/* mounts.c: pivot_root(2) refuses a new root whose parent mount is shared. */
int rootfs_make_parent_private(const char *root_path, v12n_error *err);

/* mounts.c: every spec mount in order. */
int rootfs_mount_all(struct rootfs_ctx *ctx, v12n_error *err);

/* mounts.c: after pivot. */
int rootfs_mask_paths(struct rootfs_ctx *ctx, char *const *paths, v12n_error *err);
int rootfs_readonly_paths(struct rootfs_ctx *ctx, char *const *paths, v12n_error *err);

/* devices.c: default devices, linux.devices, symlinks, /dev/ptmx. */
int rootfs_setup_dev(struct rootfs_ctx *ctx, v12n_error *err);

/* devices.c: the pty slave onto /dev/console. */
int rootfs_setup_console(struct rootfs_ctx *ctx, int slave_fd, v12n_error *err);

#endif
