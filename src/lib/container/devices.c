/* /dev inside the container: the default devices, linux.devices, the
 * /dev/fd and std* links, /dev/ptmx and /dev/console.  Every entry is made
 * in a directory resolved inside the rootfs, by name, without following
 * what the image left there: an image whose /dev/null links to a host file
 * gets that link replaced, never the host file clobbered. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/rootfs_internal.h"
#include "util/cleanup.h"

#define UNIX98_PTY_SLAVE_MAJOR 136

struct dev_node {
    const char *path;
    char type; /* 'c', 'u', 'b', 'p' */
    unsigned int major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* What the runtime spec says every container gets. */
static const struct dev_node default_devices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

static mode_t node_format(char type)
{
    return type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
}

/* runc sets up /dev unless it is a bind of the host's (then it has all). */
static bool dev_is_host_bind(const struct oci_spec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct oci_mount *m = &spec->mounts[i];
        char dest[PATH_MAX];
        bool bind = m->bind || (m->type != NULL && strcmp(m->type, "bind") == 0);
        if (bind && rootfs_clean_path(m->destination, dest, sizeof dest) == 0 &&
            strcmp(dest, "/dev") == 0)
            return true;
    }
    return false;
}

static bool has_devpts_at_dev_pts(const struct oci_spec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const struct oci_mount *m = &spec->mounts[i];
        char dest[PATH_MAX];
        if (m->type != NULL && strcmp(m->type, "devpts") == 0 &&
            rootfs_clean_path(m->destination, dest, sizeof dest) == 0 &&
            strcmp(dest, "/dev/pts") == 0)
            return true;
    }
    return false;
}

/* Remove whatever non-directory the image has at dir/name (a symlink, a
 * file, a stale node): we create the entry ourselves. */
static int clear_entry(int dir_fd, const char *name)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    return unlinkat(dir_fd, name, 0);
}

/* In a user namespace mknod is refused: bind the host's node onto an empty
 * file instead. */
static int bind_host_device(const struct rootfs_ctx *ctx, const struct dev_node *d, int dir_fd,
                            const char *name, v12n_error *err)
{
    auto_close int src = open(d->path, O_PATH | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) < 0)
        return v12n_fail_errno(err, "device %s: open the host's", d->path);
    if ((st.st_mode & S_IFMT) != node_format(d->type) || st.st_rdev != makedev(d->major, d->minor))
        return v12n_fail(err, ENODEV, "device %s: the host's is not %c %u:%u", d->path, d->type,
                         d->major, d->minor);
    auto_close int dst =
        openat(dir_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dst < 0)
        return v12n_fail_errno(err, "device %s: create the mount point", d->path);
    char src_path[64];
    snprintf(src_path, sizeof src_path, "/proc/self/fd/%d", src);
    struct target_path tp;
    if (mount(src_path, rootfs_target(ctx, dst, d->path, &tp), NULL, MS_BIND, NULL) < 0)
        return v12n_fail_errno(err, "device %s: bind-mount the host's", d->path);
    return 0;
}

/* umask is 0 here (set by the caller), so mode is exact. */
static int create_device(const struct rootfs_ctx *ctx, const struct dev_node *d, v12n_error *err)
{
    char path[PATH_MAX];
    if (rootfs_clean_path(d->path, path, sizeof path) < 0)
        return v12n_fail_errno(err, "device %s", d->path);
    char *slash = strrchr(path, '/');
    if (slash[1] == '\0')
        return v12n_fail(err, EINVAL, "device %s: not a file path", d->path);
    *slash = '\0';
    const char *name = slash + 1;
    auto_close int dir = rootfs_mkdir_p_in_root(ctx->root_fd, path[0] ? path : "/", false, err);
    if (dir < 0)
        return v12n_error_wrap(err, "device %s", d->path);
    if (clear_entry(dir, name) < 0)
        return v12n_fail_errno(err, "device %s: remove what the image has there", d->path);
    /* A fifo needs no privilege: only real devices are bound from the host. */
    if (ctx->opts->in_user_ns && d->type != 'p')
        return bind_host_device(ctx, d, dir, name, err);
    if (mknodat(dir, name, node_format(d->type) | (d->mode & 07777), makedev(d->major, d->minor)) <
        0) {
        if (errno == EPERM && d->type != 'p')
            return bind_host_device(ctx, d, dir, name, err);
        return v12n_fail_errno(err, "device %s: mknod", d->path);
    }
    if (fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return v12n_fail_errno(err, "device %s: chown %u:%u", d->path, d->uid, d->gid);
    return 0;
}

static bool spec_has_device(const struct oci_spec *spec, const char *path)
{
    char want[PATH_MAX], have[PATH_MAX];
    if (rootfs_clean_path(path, want, sizeof want) < 0)
        return false;
    for (size_t i = 0; i < spec->n_devices; i++)
        if (rootfs_clean_path(spec->devices[i].path, have, sizeof have) == 0 &&
            strcmp(want, have) == 0)
            return true;
    return false;
}

static int create_devices(const struct rootfs_ctx *ctx, v12n_error *err)
{
    const struct oci_spec *spec = ctx->spec;
    for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++)
        if (!spec_has_device(spec, default_devices[i].path) &&
            create_device(ctx, &default_devices[i], err) < 0)
            return -1;
    for (size_t i = 0; i < spec->n_devices; i++) {
        const struct oci_device *od = &spec->devices[i];
        if (od->major < 0 || od->minor < 0 || od->major > UINT_MAX || od->minor > UINT_MAX)
            return v12n_fail(err, EINVAL, "device %s: bad major/minor", od->path);
        struct dev_node d = {
            .path = od->path,
            .type = od->type,
            .major = (unsigned int)od->major,
            .minor = (unsigned int)od->minor,
            .mode = od->has_file_mode && od->file_mode != 0 ? od->file_mode : 0666,
            .uid = od->has_uid ? od->uid : 0,
            .gid = od->has_gid ? od->gid : 0,
        };
        if (create_device(ctx, &d, err) < 0)
            return -1;
    }
    return 0;
}

/* /dev/fd, /dev/std*, /dev/core: an entry the image already has stays. */
static int create_links(const struct rootfs_ctx *ctx, int dev, v12n_error *err)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
            return v12n_fail_errno(err, "link /dev/%s to %s", links[i][1], links[i][0]);
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
        errno != EEXIST)
        return v12n_fail_errno(err, "link /dev/core to /proc/kcore");
    /* The devpts instance's own ptmx, not the host's. */
    if (has_devpts_at_dev_pts(ctx->spec) &&
        (clear_entry(dev, "ptmx") < 0 || symlinkat("pts/ptmx", dev, "ptmx") < 0))
        return v12n_fail_errno(err, "link /dev/ptmx to pts/ptmx");
    return 0;
}

int rootfs_setup_dev(struct rootfs_ctx *ctx, v12n_error *err)
{
    if (dev_is_host_bind(ctx->spec))
        return 0;
    mode_t old_umask = umask(0);
    int r = create_devices(ctx, err);
    umask(old_umask);
    if (r < 0)
        return -1;
    auto_close int dev = rootfs_mkdir_p_in_root(ctx->root_fd, "/dev", false, err);
    if (dev < 0)
        return v12n_error_wrap(err, "/dev");
    return create_links(ctx, dev, err);
}

/* /dev/console as a mount point: an empty file we create, or the node or
 * file already there (when /dev is the host's, it must not be removed). */
static int open_console_point(int dev, v12n_error *err)
{
    struct stat st;
    if (fstatat(dev, "console", &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(st.st_mode))
            return v12n_fail(err, EISDIR, "console /dev/console: a directory is in the way");
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && unlinkat(dev, "console", 0) < 0)
            return v12n_fail_errno(err, "console /dev/console: remove what the image has there");
    } else if (errno != ENOENT) {
        return v12n_fail_errno(err, "console /dev/console");
    }
    int made =
        openat(dev, "console",
               O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (made < 0 && errno != EEXIST)
        return v12n_fail_errno(err, "console /dev/console: create the mount point");
    v12n_closep(&made);
    /* O_PATH: opening a tty (the host's, when /dev is a bind) has effects. */
    int fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "console /dev/console");
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
        close(fd);
        return v12n_fail(err, EPERM, "console /dev/console: not a file or a device");
    }
    return fd;
}

/* A pty opened before this mount namespace was made lies on a devpts mount
 * that is not ours (mount(2) says EINVAL): bind our copy of it instead,
 * found by its number under /dev/pts and checked to be the same device. */
static int bind_pty_by_number(int slave_fd, const char *target)
{
    struct stat pty, here;
    if (fstat(slave_fd, &pty) < 0)
        return -1;
    if (!S_ISCHR(pty.st_mode) || major(pty.st_rdev) != UNIX98_PTY_SLAVE_MAJOR) {
        errno = EINVAL;
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%u", minor(pty.st_rdev));
    if (stat(path, &here) < 0)
        return -1;
    if (here.st_rdev != pty.st_rdev || here.st_dev != pty.st_dev) {
        errno = EINVAL;
        return -1;
    }
    return mount(path, target, NULL, MS_BIND, NULL);
}

int rootfs_setup_console(struct rootfs_ctx *ctx, int slave_fd, v12n_error *err)
{
    auto_close int dev = rootfs_mkdir_p_in_root(ctx->root_fd, "/dev", false, err);
    if (dev < 0)
        return v12n_error_wrap(err, "console /dev/console");
    auto_close int point = open_console_point(dev, err);
    if (point < 0)
        return -1;
    char src[64];
    snprintf(src, sizeof src, "/proc/self/fd/%d", slave_fd);
    struct target_path tp;
    const char *target = rootfs_target(ctx, point, "/dev/console", &tp);
    if (mount(src, target, NULL, MS_BIND, NULL) < 0 &&
        (errno != EINVAL || bind_pty_by_number(slave_fd, target) < 0))
        return v12n_fail_errno(err, "console /dev/console: bind-mount the pty");
    return 0;
}
