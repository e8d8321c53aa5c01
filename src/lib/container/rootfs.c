/* The order of the rootfs work, runc's: propagation of "/", the rootfs as
 * a mount point, the spec's mounts, /dev, the console; pivot_root; then
 * masked and read-only paths and the final propagation. */
#include "container/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/rootfs_internal.h"
#include "util/cleanup.h"

static const char *propagation_name(unsigned long flags)
{
    bool rec = flags & MS_REC;
    if (flags & MS_SHARED)
        return rec ? "rshared" : "shared";
    if (flags & MS_SLAVE)
        return rec ? "rslave" : "slave";
    if (flags & MS_UNBINDABLE)
        return rec ? "runbindable" : "unbindable";
    return rec ? "rprivate" : "private";
}

static int ctx_open(struct rootfs_ctx *ctx, const struct oci_spec *spec,
                    const struct rootfs_options *opts, const char *root, v12n_error *err)
{
    ctx->spec = spec;
    ctx->opts = opts;
    ctx->cgroup_awaited = false;
    ctx->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctx->root_fd < 0)
        return v12n_fail_errno(err, "rootfs %s: open", root);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", ctx->root_fd);
    ssize_t n = readlink(link, ctx->root_path, sizeof ctx->root_path - 1);
    ctx->fd_paths = n > 0 && rootfs_path_is_procfs("/proc/self/fd");
    ctx->root_path[n > 0 ? n : 0] = '\0';
    if (n <= 0)
        snprintf(ctx->root_path, sizeof ctx->root_path, "%s", root);
    return 0;
}

int rootfs_await_cgroup(struct rootfs_ctx *ctx, v12n_error *err)
{
    if (ctx->cgroup_awaited || ctx->opts->await_cgroup == NULL)
        return 0;
    ctx->cgroup_awaited = true;
    return ctx->opts->await_cgroup(ctx->opts->await_cgroup_arg, err);
}

static void ctx_close(struct rootfs_ctx *ctx)
{
    v12n_closep(&ctx->root_fd);
}

/* The process's cwd must exist (runc creates it too). */
static int create_cwd(const struct rootfs_ctx *ctx, v12n_error *err)
{
    const struct oci_spec *spec = ctx->spec;
    if (!spec->has_process || spec->process.cwd == NULL)
        return 0;
    int fd = rootfs_mkdir_p_in_root(ctx->root_fd, spec->process.cwd, false, err);
    if (fd < 0)
        return v12n_error_wrap(err, "cwd %s", spec->process.cwd);
    close(fd);
    return 0;
}

static int populate(struct rootfs_ctx *ctx, v12n_error *err)
{
    if (!ctx->fd_paths)
        return v12n_fail(err, ENOENT,
                         "rootfs %s: /proc is not mounted (mounts go through "
                         "/proc/self/fd)",
                         ctx->spec->root_path);
    if (rootfs_mount_all(ctx, err) < 0 || rootfs_setup_dev(ctx, err) < 0)
        return -1;
    if (ctx->opts->console_slave_fd >= 0 &&
        rootfs_setup_console(ctx, ctx->opts->console_slave_fd, err) < 0)
        return -1;
    return create_cwd(ctx, err);
}

int rootfs_prepare(const struct oci_spec *spec, const struct rootfs_options *opts, v12n_error *err)
{
    const char *root = spec->root_path;
    /* Nothing we mount may propagate back to the host: rslave, unless the
     * spec chose. */
    unsigned long prop = spec->rootfs_propagation ? spec->rootfs_propagation : MS_SLAVE | MS_REC;
    if (mount(NULL, "/", NULL, prop, NULL) < 0)
        return v12n_fail_errno(err, "rootfs %s: make / %s", root, propagation_name(prop));
    if (rootfs_make_parent_private(root, err) < 0)
        return -1;
    /* pivot_root needs the new root to be a mount point. */
    if (mount(root, root, "bind", MS_BIND | MS_REC, NULL) < 0)
        return v12n_fail_errno(err, "rootfs %s: bind-mount onto itself", root);
    struct rootfs_ctx ctx;
    if (ctx_open(&ctx, spec, opts, root, err) < 0)
        return -1;
    int r = populate(&ctx, err);
    ctx_close(&ctx);
    return r;
}

/* pivot_root(".", "."): the old root ends up stacked on the new one, where
 * a lazy unmount removes it; no directory for it is needed in the image. */
static int pivot(const char *root, v12n_error *err)
{
    auto_close int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (old_root < 0)
        return v12n_fail_errno(err, "pivot_root: open /");
    auto_close int new_root = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (new_root < 0)
        return v12n_fail_errno(err, "pivot_root: open %s", root);
    if (fchdir(new_root) < 0)
        return v12n_fail_errno(err, "pivot_root: chdir %s", root);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return v12n_fail_errno(err, "pivot_root %s", root);
    /* The kernel promises nothing about "." after pivot_root: go to the old
     * root explicitly, make it rslave so the unmount stays ours, detach it. */
    if (fchdir(old_root) < 0)
        return v12n_fail_errno(err, "pivot_root: chdir to the old root");
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return v12n_fail_errno(err, "pivot_root: make the old root rslave");
    if (umount2(".", MNT_DETACH) < 0)
        return v12n_fail_errno(err, "pivot_root: unmount the old root");
    return 0;
}

/* --no-pivot (a rootfs on a ramfs, where pivot_root fails): move the
 * rootfs over "/" and chroot into it.  The old root stays reachable to a
 * process that can chroot, which is why pivot_root is the default. */
static int move_root(const char *root, v12n_error *err)
{
    if (chdir(root) < 0)
        return v12n_fail_errno(err, "chdir %s", root);
    if (mount(root, "/", NULL, MS_MOVE, NULL) < 0)
        return v12n_fail_errno(err, "move %s onto /", root);
    if (chroot(".") < 0)
        return v12n_fail_errno(err, "chroot %s", root);
    return 0;
}

int rootfs_pivot(const struct oci_spec *spec, const struct rootfs_options *opts, v12n_error *err)
{
    int r = opts->no_pivot ? move_root(spec->root_path, err) : pivot(spec->root_path, err);
    if (r < 0)
        return -1;
    if (chdir("/") < 0)
        return v12n_fail_errno(err, "chdir / in the new root");
    return 0;
}

/* root.readonly; in a user namespace the locked flags of "/" must be kept. */
static int remount_root_readonly(v12n_error *err)
{
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (mount(NULL, "/", NULL, flags, NULL) == 0)
        return 0;
    struct statvfs sv;
    if (errno != EPERM || statvfs("/", &sv) < 0)
        return v12n_fail_errno(err, "remount / read-only");
    flags |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
    flags |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
    flags |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
    if (mount(NULL, "/", NULL, flags, NULL) < 0)
        return v12n_fail_errno(err, "remount / read-only");
    return 0;
}

int rootfs_finish(const struct oci_spec *spec, v12n_error *err)
{
    static const struct rootfs_options after_pivot = {.console_slave_fd = -1};
    struct rootfs_ctx ctx;
    if (ctx_open(&ctx, spec, &after_pivot, "/", err) < 0)
        return -1;
    int r = 0;
    if (rootfs_mask_paths(&ctx, spec->masked_paths, err) < 0 ||
        rootfs_readonly_paths(&ctx, spec->readonly_paths, err) < 0)
        r = -1;
    ctx_close(&ctx);
    if (r < 0)
        return -1;
    if (spec->root_readonly && remount_root_readonly(err) < 0)
        return -1;
    if (spec->rootfs_propagation != 0 && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
        return v12n_fail_errno(err, "make / %s", propagation_name(spec->rootfs_propagation));
    return 0;
}
