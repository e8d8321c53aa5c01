/* The spec's mounts, resolved inside the rootfs: every mount point is opened
 * with openat2(RESOLVE_IN_ROOT) and mounted through its /proc/self/fd/N
 * link, so a symlink in the image (or one swapped in while we work) can
 * never send a mount onto the host (CVE-2021-30465).  Also masked and
 * read-only paths, which run after pivot_root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/rootfs_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- paths ---- */

int rootfs_clean_path(const char *in, char *out, size_t len)
{
    if (len < 2) {
        errno = ENAMETOOLONG;
        return -1;
    }
    size_t o = 0;
    out[o++] = '/';
    const char *p = in;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        const char *end = strchrnul(p, '/');
        size_t n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--;
        } else if (!(n == 1 && p[0] == '.')) {
            size_t sep = o > 1 ? 1 : 0;
            if (o + sep + n + 1 > len) {
                errno = ENAMETOOLONG;
                return -1;
            }
            if (sep)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p = end;
    }
    out[o] = '\0';
    return 0;
}

bool rootfs_fd_is_procfs(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

bool rootfs_path_is_procfs(const char *path)
{
    struct statfs sfs;
    return statfs(path, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* ---- resolving inside the root ---- */

static int open_in_root_openat2(int root_fd, const char *path, int flags, mode_t mode)
{
    bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = creates ? mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a rename raced with a ".." walk; the kernel asks us to retry. */
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || tries == 64)
            return (int)fd;
    }
}

#define WALK_MAX_DEPTH 256
#define WALK_MAX_LINKS 40

/* The directories walked so far, as fds: ".." pops one, never past root. */
struct walk {
    int root_fd;
    int fds[WALK_MAX_DEPTH];
    size_t depth;
};

static int walk_cur(const struct walk *w)
{
    return w->depth > 0 ? w->fds[w->depth - 1] : w->root_fd;
}

static void walk_pop(struct walk *w)
{
    if (w->depth > 0)
        close(w->fds[--w->depth]);
}

static void walk_reset(struct walk *w)
{
    while (w->depth > 0)
        walk_pop(w);
}

/* rest := target + "/" + rest; an absolute target restarts at root. */
static int walk_follow(struct walk *w, int link_fd, char *rest, size_t rest_len, int *links)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(link_fd, "", target, sizeof target - 1);
    if (n < 0)
        return -1;
    target[n] = '\0';
    if (++*links > WALK_MAX_LINKS) {
        errno = ELOOP;
        return -1;
    }
    char joined[2 * PATH_MAX];
    int len = snprintf(joined, sizeof joined, "%s/%s", target, rest);
    if (len < 0 || (size_t)len >= rest_len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(rest, joined, (size_t)len + 1);
    if (target[0] == '/')
        walk_reset(w);
    return 0;
}

/* Open the last component into *out; a symlink there is followed (in root)
 * unless the caller asked for O_NOFOLLOW: then this returns 1 and the walk
 * goes on with the link's target. */
static int walk_open_last(struct walk *w, const char *name, int flags, mode_t mode, char *rest,
                          size_t rest_len, int *links, int *out)
{
    int cur = walk_cur(w);
    struct stat st;
    if (!(flags & O_NOFOLLOW) && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
        auto_close int link = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (link < 0 || walk_follow(w, link, rest, rest_len, links) < 0)
            return -1;
        return 1;
    }
    int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (!(flags & O_NOFOLLOW) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* Became a symlink since fstatat: someone is racing us. */
        close(fd);
        errno = ELOOP;
        return -1;
    }
    *out = fd;
    return 0;
}

int rootfs_open_in_root_walk(int root_fd, const char *path, int flags, mode_t mode)
{
    struct walk w = {.root_fd = root_fd};
    char rest[2 * PATH_MAX];
    int links = 0, result = -1;
    if (strlen(path) >= sizeof rest) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(rest, path);
    for (;;) {
        char *p = rest;
        while (*p == '/')
            p++;
        char *end = strchrnul(p, '/');
        char name[NAME_MAX + 1];
        size_t n = (size_t)(end - p);
        if (n > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        while (*end == '/')
            end++;
        bool last = *end == '\0';
        memmove(rest, end, strlen(end) + 1);

        if (strcmp(name, "..") == 0)
            walk_pop(&w);
        if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            if (last) {
                result = openat(walk_cur(&w), ".", flags | O_CLOEXEC, mode);
                break;
            }
            continue;
        }
        if (last) {
            if (walk_open_last(&w, name, flags, mode, rest, sizeof rest, &links, &result) == 1)
                continue;
            break;
        }
        int fd = openat(walk_cur(&w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            v12n_closep(&fd);
            break;
        }
        if (S_ISLNK(st.st_mode)) {
            int r = walk_follow(&w, fd, rest, sizeof rest, &links);
            v12n_closep(&fd);
            if (r < 0)
                break;
        } else if (!S_ISDIR(st.st_mode)) {
            close(fd);
            errno = ENOTDIR;
            break;
        } else if (w.depth == WALK_MAX_DEPTH) {
            close(fd);
            errno = ENAMETOOLONG;
            break;
        } else {
            w.fds[w.depth++] = fd;
        }
    }
    int saved = errno;
    walk_reset(&w);
    errno = saved;
    return result;
}

int rootfs_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
    static bool no_openat2;
    if (!no_openat2) {
        int fd = open_in_root_openat2(root_fd, path, flags, mode);
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        no_openat2 = true;
    }
    return rootfs_open_in_root_walk(root_fd, path, flags, mode);
}

/* Create name in dir (a directory, or an empty file when as_file); an entry
 * already there is fine: the caller resolves it again, inside root. */
static int create_entry(int dir_fd, const char *name, bool as_file)
{
    if (!as_file)
        return mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
    int fd = openat(dir_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    close(fd);
    return 0;
}

int rootfs_mkdir_p_in_root(int root_fd, const char *path, bool as_file, v12n_error *err)
{
    char clean[PATH_MAX];
    if (rootfs_clean_path(path, clean, sizeof clean) < 0)
        return v12n_fail_errno(err, "resolve %s inside rootfs", path);
    int fd = rootfs_open_in_root(root_fd, clean, O_PATH, 0);
    if (fd >= 0 || errno != ENOENT) {
        if (fd < 0)
            v12n_fail_errno(err, "resolve %s inside rootfs", clean);
        return fd;
    }
    /* Some component is missing: walk the prefixes, creating each in the
     * directory its parent resolved to, and resolve it again in root (what
     * we created may have been replaced by a symlink meanwhile). */
    auto_close int parent = rootfs_open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
    if (parent < 0)
        return v12n_fail_errno(err, "resolve / inside rootfs");
    char *slash = clean;
    while (slash != NULL) {
        char *name = slash + 1;
        slash = strchr(name, '/');
        if (slash != NULL)
            *slash = '\0';
        bool file = as_file && slash == NULL;
        int open_flags = O_PATH | (file ? 0 : O_DIRECTORY);
        int next = rootfs_open_in_root(root_fd, clean, open_flags, 0);
        if (next < 0 && errno == ENOENT) {
            if (create_entry(parent, name, file) < 0)
                return v12n_fail_errno(err, "create %s inside rootfs", clean);
            next = rootfs_open_in_root(root_fd, clean, open_flags, 0);
        }
        if (next < 0)
            return v12n_fail_errno(err, "resolve %s inside rootfs", clean);
        close(parent);
        parent = next;
        if (slash != NULL)
            *slash = '/';
    }
    return v12n_take_fd(&parent);
}

/* ---- /proc/self/mountinfo ---- */

struct mountinfo_entry {
    char *root, *mount_point, *fstype, *source, *super_opts;
    bool shared;
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0';) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* "36 35 98:0 /root /mnt rw,noatime shared:1 - ext4 /dev/sda1 rw,errors=..." */
static bool parse_mountinfo_line(char *line, struct mountinfo_entry *e)
{
    char *f[6];
    for (int i = 0; i < 6; i++)
        if ((f[i] = strsep(&line, " ")) == NULL)
            return false;
    e->shared = false;
    char *tok;
    while ((tok = strsep(&line, " ")) != NULL && strcmp(tok, "-") != 0)
        if (strncmp(tok, "shared:", 7) == 0)
            e->shared = true;
    if (tok == NULL || (e->fstype = strsep(&line, " ")) == NULL ||
        (e->source = strsep(&line, " ")) == NULL || line == NULL)
        return false;
    e->super_opts = line;
    e->root = f[3];
    e->mount_point = f[4];
    unescape_octal(e->root);
    unescape_octal(e->mount_point);
    unescape_octal(e->source);
    return true;
}

/* fn returns <0 to fail, >0 to stop, 0 to go on. */
typedef int (*mountinfo_fn)(const struct mountinfo_entry *e, void *data, v12n_error *err);

static int mountinfo_foreach(mountinfo_fn fn, void *data, v12n_error *err)
{
    auto_free char *text = v12n_read_file("/proc/self/mountinfo", NULL, err);
    if (text == NULL)
        return -1;
    char *rest = text, *line;
    while ((line = strsep(&rest, "\n")) != NULL) {
        struct mountinfo_entry e;
        if (line[0] == '\0' || !parse_mountinfo_line(line, &e))
            continue;
        int r = fn(&e, data, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    return 0;
}

/* Whether prefix is path or one of its ancestors ("/a" of "/a/b", not "/ab"). */
static bool path_has_prefix(const char *path, const char *prefix)
{
    if (strcmp(prefix, "/") == 0)
        return path[0] == '/';
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

struct parent_mount {
    const char *path;
    char mount_point[PATH_MAX];
    size_t best;
    bool shared;
};

static int find_parent_mount(const struct mountinfo_entry *e, void *data, v12n_error *err)
{
    struct parent_mount *pm = data;
    size_t n = strlen(e->mount_point);
    /* ">=": of mounts stacked on one point, the later one is on top. */
    if (path_has_prefix(pm->path, e->mount_point) && n >= pm->best && n < sizeof pm->mount_point) {
        pm->best = n;
        memcpy(pm->mount_point, e->mount_point, n + 1);
        pm->shared = e->shared;
    }
    return 0;
}

int rootfs_make_parent_private(const char *root_path, v12n_error *err)
{
    char real[PATH_MAX];
    if (realpath(root_path, real) == NULL)
        return v12n_fail_errno(err, "rootfs %s", root_path);
    struct parent_mount pm = {.path = real};
    if (mountinfo_foreach(find_parent_mount, &pm, err) < 0)
        return v12n_error_wrap(err, "rootfs %s: find its parent mount", root_path);
    /* pivot_root(2) refuses a new root whose parent mount is shared. */
    if (pm.best > 0 && pm.shared && mount(NULL, pm.mount_point, NULL, MS_PRIVATE, NULL) < 0)
        return v12n_fail_errno(err, "rootfs %s: make parent mount %s private", root_path,
                               pm.mount_point);
    return 0;
}

/* ---- one mount ---- */

/* A mount to make: a spec mount, or one we derive from it (cgroup, sysfs). */
struct mount_req {
    const char *name; /* for messages: the source, else the type */
    const char *source, *type, *data;
    const char *dest; /* clean, absolute inside the rootfs */
    unsigned long flags, clear_flags, propagation;
    bool bind;
};

/* The files lxcfs emulates: the only mounts allowed inside /proc (runc's
 * list).  Anything else there could hide sysctls or the LSM's attr files. */
static const char *const proc_mount_allowed[] = {
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
};

/* Where fd lies, relative to the rootfs ("/proc/cpuinfo"). */
static int path_in_root(const struct rootfs_ctx *ctx, int fd, char *out, size_t len)
{
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n < 0)
        return -1;
    real[n] = '\0';
    const char *rel = real;
    if (strcmp(ctx->root_path, "/") != 0 && path_has_prefix(real, ctx->root_path))
        rel = real + strlen(ctx->root_path);
    snprintf(out, len, "%s", rel[0] != '\0' ? rel : "/");
    return 0;
}

static int check_proc_target(const struct rootfs_ctx *ctx, const struct mount_req *m, int fd,
                             int src_fd, v12n_error *err)
{
    if (!ctx->fd_paths)
        return 0;
    char rel[PATH_MAX];
    if (path_in_root(ctx, fd, rel, sizeof rel) < 0)
        return v12n_fail_errno(err, "mount %s on %s: locate the mount point", m->name, m->dest);
    if (strcmp(rel, "/proc") == 0) {
        bool fresh_proc = !m->bind && m->type != NULL && strcmp(m->type, "proc") == 0;
        bool bind_of_proc = m->bind && src_fd >= 0 && rootfs_fd_is_procfs(src_fd);
        if (fresh_proc || bind_of_proc)
            return 0;
        return v12n_fail(err, EPERM, "mount %s on %s: only a procfs may be mounted on /proc",
                         m->name, m->dest);
    }
    if (!rootfs_fd_is_procfs(fd) && !path_has_prefix(rel, "/proc"))
        return 0;
    for (size_t i = 0; i < sizeof proc_mount_allowed / sizeof proc_mount_allowed[0]; i++)
        if (strcmp(rel, proc_mount_allowed[i]) == 0)
            return 0;
    return v12n_fail(err, EPERM,
                     "mount %s on %s: refusing to mount over %s inside /proc (only the files "
                     "lxcfs emulates may be covered)",
                     m->name, m->dest, rel);
}

/* The mount point, created if missing, as an O_PATH fd inside the rootfs. */
static int open_mount_point(const struct rootfs_ctx *ctx, const struct mount_req *m, bool as_file,
                            int src_fd, v12n_error *err)
{
    int fd = rootfs_mkdir_p_in_root(ctx->root_fd, m->dest, as_file, err);
    if (fd < 0) {
        v12n_error_wrap(err, "mount %s on %s", m->name, m->dest);
        return -1;
    }
    if (check_proc_target(ctx, m, fd, src_fd, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The mount now on top of dest: the fd taken before mounting still names
 * what lies underneath, so remounts and propagation need a fresh one. */
static int reopen_top(const struct rootfs_ctx *ctx, const struct mount_req *m, v12n_error *err)
{
    int fd = rootfs_open_in_root(ctx->root_fd, m->dest, O_PATH, 0);
    if (fd < 0)
        v12n_fail_errno(err, "mount %s on %s: resolve %s inside rootfs after mounting", m->name,
                        m->dest, m->dest);
    return fd;
}

static int apply_propagation(const struct rootfs_ctx *ctx, const struct mount_req *m,
                             v12n_error *err)
{
    if (m->propagation == 0)
        return 0;
    auto_close int top = reopen_top(ctx, m, err);
    if (top < 0)
        return -1;
    struct target_path tp;
    if (mount(NULL, rootfs_target(ctx, top, m->dest, &tp), NULL, m->propagation, NULL) < 0)
        return v12n_fail_errno(err, "mount %s on %s: set propagation", m->name, m->dest);
    return 0;
}

/* The flags a bind's remount sets: the spec's, plus those of the source
 * (ro, nosuid, nodev, noexec) the spec does not clear, which a bind shares
 * and a remount would otherwise drop.  In a user namespace those are
 * locked (dropping one fails with EPERM), so clearing one is refused with
 * a clear message.  0 when no remount is needed. */
static int bind_remount_flags(const struct rootfs_ctx *ctx, const struct mount_req *m, int src_fd,
                              unsigned long *out, v12n_error *err)
{
    struct statvfs sv;
    if (fstatvfs(src_fd, &sv) < 0)
        return v12n_fail_errno(err, "mount %s on %s: statvfs of the source", m->name, m->dest);
    unsigned long have = 0;
    have |= (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0;
    have |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
    have |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
    have |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
    /* A bind ignores every flag but MS_REC: the rest needs the remount. */
    unsigned long want = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    unsigned long drop = m->clear_flags & have;
    *out = 0;
    if (want == 0 && drop == 0)
        return 0;
    if (drop != 0 && ctx->opts->in_user_ns)
        return v12n_fail(err, EPERM,
                         "mount %s on %s: the source's ro/nosuid/nodev/noexec flags are locked "
                         "in a user namespace and cannot be cleared",
                         m->name, m->dest);
    *out = MS_BIND | MS_REMOUNT | want | (have & ~drop);
    return 0;
}

static int mount_bind(const struct rootfs_ctx *ctx, const struct mount_req *m, v12n_error *err)
{
    auto_close int src = open(m->source, O_PATH | O_CLOEXEC);
    struct stat st;
    if (src < 0 || fstat(src, &st) < 0)
        return v12n_fail_errno(err, "mount %s on %s: open the source", m->name, m->dest);
    unsigned long remount;
    if (bind_remount_flags(ctx, m, src, &remount, err) < 0)
        return -1;
    auto_close int dst = open_mount_point(ctx, m, !S_ISDIR(st.st_mode), src, err);
    if (dst < 0)
        return -1;
    char src_path[64];
    snprintf(src_path, sizeof src_path, "/proc/self/fd/%d", src);
    struct target_path tp;
    if (mount(src_path, rootfs_target(ctx, dst, m->dest, &tp), NULL, MS_BIND | (m->flags & MS_REC),
              NULL) < 0)
        return v12n_fail_errno(err, "mount %s on %s", m->name, m->dest);
    if (remount != 0) {
        auto_close int top = reopen_top(ctx, m, err);
        if (top < 0)
            return -1;
        if (mount(NULL, rootfs_target(ctx, top, m->dest, &tp), NULL, remount, NULL) < 0)
            return v12n_fail_errno(err, "mount %s on %s: remount with its options", m->name,
                                   m->dest);
    }
    return apply_propagation(ctx, m, err);
}

/* A new filesystem instance (proc, tmpfs, sysfs, devpts, ...). */
static int mount_fresh(const struct rootfs_ctx *ctx, const struct mount_req *m, v12n_error *err)
{
    auto_close int dst = open_mount_point(ctx, m, false, -1, err);
    if (dst < 0)
        return -1;
    struct target_path tp;
    const char *source = m->source != NULL ? m->source : m->type;
    if (mount(source, rootfs_target(ctx, dst, m->dest, &tp), m->type,
              m->flags & ~(MS_BIND | MS_REC), m->data) < 0)
        return v12n_fail_errno(err, "mount %s on %s", m->name, m->dest);
    return apply_propagation(ctx, m, err);
}

/* A fresh mount, or when the kernel refuses it (EPERM: a user namespace
 * that does not own the net/ipc namespace) a bind of the host's instance. */
static int mount_fresh_or_bind(const struct rootfs_ctx *ctx, const struct mount_req *m,
                               const char *host_path, bool bind_first, v12n_error *err)
{
    if (!bind_first) {
        v12n_error fresh_err = {0};
        if (mount_fresh(ctx, m, &fresh_err) == 0)
            return 0;
        if (!ctx->opts->in_user_ns || (fresh_err.errnum != EPERM && fresh_err.errnum != EBUSY) ||
            access(host_path, F_OK) < 0)
            return v12n_fail(err, fresh_err.errnum, "%s", fresh_err.msg);
    }
    struct mount_req bind = *m;
    bind.name = host_path;
    bind.source = host_path;
    bind.type = NULL;
    bind.data = NULL;
    bind.bind = true;
    bind.flags |= MS_BIND | MS_REC;
    return mount_bind(ctx, &bind, err);
}

/* ---- cgroup ---- */

#define CGROUP_MAX_HIERARCHIES 32

struct cgroup_line {
    int id;
    char *controllers; /* "cpu,cpuacct", "name=systemd", "" for v2 */
    char *path;
};

struct cgroup_hierarchy {
    char source[PATH_MAX];   /* the init's cgroup dir in this hierarchy, on the host */
    char name[NAME_MAX + 1]; /* basename of its mount point: "cpu,cpuacct" */
    char data[256];          /* for a fresh mount in a cgroup namespace */
    bool v2;
};

struct cgroup_scan {
    struct cgroup_line lines[CGROUP_MAX_HIERARCHIES];
    size_t n_lines;
    bool used[CGROUP_MAX_HIERARCHIES];
    struct cgroup_hierarchy found[CGROUP_MAX_HIERARCHIES];
    size_t n_found;
    bool fresh; /* cgroup namespace: mounted anew, the host paths do not matter */
};

static void parse_proc_cgroup(char *text, struct cgroup_scan *s)
{
    char *line;
    while ((line = strsep(&text, "\n")) != NULL && s->n_lines < CGROUP_MAX_HIERARCHIES) {
        char *id = strsep(&line, ":"), *ctrl = strsep(&line, ":");
        if (id == NULL || ctrl == NULL || line == NULL)
            continue;
        s->lines[s->n_lines++] = (struct cgroup_line){atoi(id), ctrl, line};
    }
}

static bool opts_has(const char *opts, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = opts; p != NULL; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Every controller of the /proc/self/cgroup line is in the mount's options. */
static bool line_matches(const struct cgroup_line *l, const char *super_opts)
{
    if (l->controllers[0] == '\0')
        return false;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", l->controllers);
    char *rest = copy, *c;
    while ((c = strsep(&rest, ",")) != NULL)
        if (!opts_has(super_opts, c))
            return false;
    return true;
}

static int collect_hierarchy(const struct mountinfo_entry *e, void *data, v12n_error *err)
{
    struct cgroup_scan *s = data;
    bool v2 = strcmp(e->fstype, "cgroup2") == 0;
    if ((!v2 && strcmp(e->fstype, "cgroup") != 0) || s->n_found == CGROUP_MAX_HIERARCHIES)
        return 0;
    for (size_t i = 0; i < s->n_lines; i++) {
        const struct cgroup_line *l = &s->lines[i];
        bool match = v2 ? l->id == 0 : l->id != 0 && line_matches(l, e->super_opts);
        /* A hierarchy mounted twice: the first mount wins, as in runc. */
        if (!match || s->used[i])
            continue;
        /* To bind it, the init's cgroup must lie under what this mount shows. */
        if (!s->fresh && !path_has_prefix(l->path, e->root))
            return 0;
        const char *rel = !path_has_prefix(l->path, e->root) ? ""
                          : strcmp(e->root, "/") == 0        ? l->path
                                                             : l->path + strlen(e->root);
        const char *base = strrchr(e->mount_point, '/');
        struct cgroup_hierarchy *h = &s->found[s->n_found++];
        s->used[i] = true;
        snprintf(h->source, sizeof h->source, "%s%s", e->mount_point,
                 strcmp(rel, "/") == 0 ? "" : rel);
        snprintf(h->name, sizeof h->name, "%s", base != NULL ? base + 1 : e->mount_point);
        snprintf(h->data, sizeof h->data, "%s", l->controllers);
        h->v2 = v2;
        return 0;
    }
    return 0;
}

/* Co-mounted controllers get a link each: cpu -> cpu,cpuacct. */
static int link_comounted(const struct rootfs_ctx *ctx, const struct mount_req *m,
                          const struct cgroup_hierarchy *h, v12n_error *err)
{
    if (strchr(h->name, ',') == NULL)
        return 0;
    auto_close int dir = rootfs_open_in_root(ctx->root_fd, m->dest, O_PATH | O_DIRECTORY, 0);
    if (dir < 0)
        return v12n_fail_errno(err, "mount cgroup on %s: resolve inside rootfs", m->dest);
    char copy[sizeof h->name];
    memcpy(copy, h->name, sizeof copy);
    char *rest = copy, *c;
    while ((c = strsep(&rest, ",")) != NULL)
        if (symlinkat(h->name, dir, c) < 0 && errno != EEXIST)
            return v12n_fail_errno(err, "mount cgroup on %s: link %s to %s", m->dest, c, h->name);
    return 0;
}

static int mount_hierarchy(const struct rootfs_ctx *ctx, const struct mount_req *m,
                           const struct cgroup_hierarchy *h, v12n_error *err)
{
    char dest[PATH_MAX];
    snprintf(dest, sizeof dest, "%s/%s", m->dest, h->name);
    struct mount_req sub = {.dest = dest, .flags = m->flags, .propagation = m->propagation};
    if (ctx->spec->namespaces[OCI_NS_CGROUP].wanted) {
        /* In its own cgroup namespace, a fresh mount shows the init's cgroup as root. */
        sub.name = sub.source = "cgroup";
        sub.type = h->v2 ? "cgroup2" : "cgroup";
        sub.data = h->v2 ? NULL : h->data;
        sub.flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
        return mount_fresh(ctx, &sub, err);
    }
    sub.name = sub.source = h->source;
    sub.bind = true;
    sub.flags |= MS_BIND | MS_REC;
    return mount_bind(ctx, &sub, err);
}

/* v1 or hybrid: a tmpfs holding each of the init's hierarchies, as runc. */
static int mount_cgroup_v1(const struct rootfs_ctx *ctx, const struct mount_req *m, v12n_error *err)
{
    auto_free char *text = v12n_read_file("/proc/self/cgroup", NULL, err);
    if (text == NULL)
        return v12n_error_wrap(err, "mount cgroup on %s", m->dest);
    auto_free struct cgroup_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return v12n_fail(err, ENOMEM, "mount cgroup on %s", m->dest);
    parse_proc_cgroup(text, s);
    s->fresh = ctx->spec->namespaces[OCI_NS_CGROUP].wanted;
    if (mountinfo_foreach(collect_hierarchy, s, err) < 0)
        return v12n_error_wrap(err, "mount cgroup on %s", m->dest);

    struct mount_req tmpfs = {.name = "tmpfs",
                              .source = "tmpfs",
                              .type = "tmpfs",
                              .data = "mode=755",
                              .dest = m->dest,
                              .flags = MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              .propagation = m->propagation};
    if (mount_fresh(ctx, &tmpfs, err) < 0)
        return v12n_error_wrap(err, "mount cgroup on %s", m->dest);
    for (size_t i = 0; i < s->n_found; i++)
        if (mount_hierarchy(ctx, m, &s->found[i], err) < 0 ||
            link_comounted(ctx, m, &s->found[i], err) < 0)
            return -1;
    if (!(m->flags & MS_RDONLY))
        return 0;
    auto_close int top = reopen_top(ctx, m, err);
    if (top < 0)
        return -1;
    struct target_path tp;
    if (mount(NULL, rootfs_target(ctx, top, m->dest, &tp), NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | tmpfs.flags, NULL) < 0)
        return v12n_fail_errno(err, "mount cgroup on %s: remount read-only", m->dest);
    return 0;
}

static int mount_cgroup(const struct rootfs_ctx *ctx, const struct mount_req *m, v12n_error *err)
{
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) < 0)
        return v12n_fail_errno(err, "mount %s on %s: statfs /sys/fs/cgroup", m->name, m->dest);
    if (sfs.f_type != CGROUP2_SUPER_MAGIC)
        return mount_cgroup_v1(ctx, m, err);
    struct mount_req v2 = *m;
    v2.type = "cgroup2";
    /* Without a cgroup namespace of its own a user namespace may not mount
     * cgroup2 (EPERM), nor a busy one (EBUSY): show the host's instead. */
    v12n_error fresh_err = {0};
    if (mount_fresh(ctx, &v2, &fresh_err) == 0)
        return 0;
    if (fresh_err.errnum != EPERM && fresh_err.errnum != EBUSY)
        return v12n_fail(err, fresh_err.errnum, "%s", fresh_err.msg);
    struct mount_req bind = *m;
    bind.name = bind.source = "/sys/fs/cgroup";
    bind.type = NULL;
    bind.bind = true;
    bind.flags |= MS_BIND;
    return mount_bind(ctx, &bind, err);
}

/* ---- dispatch ---- */

static int mount_one(const struct rootfs_ctx *ctx, const struct oci_mount *om, v12n_error *err)
{
    const char *name = om->source != NULL ? om->source : om->type != NULL ? om->type : "none";
    char dest[PATH_MAX];
    if (rootfs_clean_path(om->destination, dest, sizeof dest) < 0)
        return v12n_fail_errno(err, "mount %s on %s", name, om->destination);
    struct mount_req m = {.name = name,
                          .source = om->source,
                          .type = om->type,
                          .data = om->data,
                          .dest = dest,
                          .flags = om->flags,
                          .clear_flags = om->clear_flags,
                          .propagation = om->propagation,
                          .bind = om->bind || (om->type != NULL && strcmp(om->type, "bind") == 0)};
    if (m.bind) {
        if (m.source == NULL)
            return v12n_fail(err, EINVAL, "mount on %s: a bind mount needs a source", dest);
        return mount_bind(ctx, &m, err);
    }
    if (m.type == NULL)
        return v12n_fail(err, EINVAL, "mount %s on %s: no type, and not a bind mount", name, dest);
    if (strcmp(m.type, "cgroup") == 0)
        return mount_cgroup(ctx, &m, err);
    if (strcmp(m.type, "sysfs") == 0) {
        /* sysfs belongs to the net namespace: a user namespace without its own
         * cannot mount one, so it gets the host's /sys, as runc does. */
        bool must_bind = ctx->opts->in_user_ns && !ctx->spec->namespaces[OCI_NS_NETWORK].wanted;
        return mount_fresh_or_bind(ctx, &m, "/sys", must_bind, err);
    }
    if (strcmp(m.type, "mqueue") == 0)
        return mount_fresh_or_bind(ctx, &m, "/dev/mqueue", false, err);
    return mount_fresh(ctx, &m, err);
}

static bool is_cgroup_mount(const struct oci_mount *m)
{
    return m->type != NULL && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0);
}

int rootfs_mount_all(struct rootfs_ctx *ctx, v12n_error *err)
{
    for (size_t i = 0; i < ctx->spec->n_mounts; i++) {
        const struct oci_mount *m = &ctx->spec->mounts[i];
        if (is_cgroup_mount(m) && rootfs_await_cgroup(ctx, err) < 0)
            return -1;
        if (mount_one(ctx, m, err) < 0)
            return -1;
    }
    return rootfs_await_cgroup(ctx, err);
}

/* ---- after pivot: masked and read-only paths ---- */

/* The container's /dev/null, checked to be the null device: masking with
 * whatever the image put there (a symlink, a file) would expose it instead
 * of hiding the path (CVE-2025-31133). */
static int open_dev_null(const struct rootfs_ctx *ctx, v12n_error *err)
{
    auto_close int fd = rootfs_open_in_root(ctx->root_fd, "/dev/null", O_PATH | O_NOFOLLOW, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return v12n_fail_errno(err, "open /dev/null");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        return v12n_fail(err, EPERM, "/dev/null is not the null device (1:3)");
    return v12n_take_fd(&fd);
}

static int mask_one(const struct rootfs_ctx *ctx, const char *path, int *dev_null, v12n_error *err)
{
    auto_close int fd = rootfs_open_in_root(ctx->root_fd, path, O_PATH, 0);
    struct stat st;
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (fd < 0 || fstat(fd, &st) < 0)
        return v12n_fail_errno(err, "resolve %s inside rootfs", path);
    struct target_path tp, np;
    const char *target = rootfs_target(ctx, fd, path, &tp);
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0)
            return v12n_fail_errno(err, "mount tmpfs on %s", path);
        return 0;
    }
    if (*dev_null < 0 && (*dev_null = open_dev_null(ctx, err)) < 0)
        return -1;
    if (mount(rootfs_target(ctx, *dev_null, "/dev/null", &np), target, NULL, MS_BIND, NULL) < 0)
        return v12n_fail_errno(err, "mount /dev/null on %s", path);
    return 0;
}

int rootfs_mask_paths(struct rootfs_ctx *ctx, char *const *paths, v12n_error *err)
{
    auto_close int dev_null = -1;
    for (char *const *p = paths; p != NULL && *p != NULL; p++) {
        char path[PATH_MAX];
        if (rootfs_clean_path(*p, path, sizeof path) < 0)
            return v12n_fail_errno(err, "maskedPaths %s", *p);
        if (mask_one(ctx, path, &dev_null, err) < 0)
            return v12n_error_wrap(err, "maskedPaths");
    }
    return 0;
}

static int readonly_one(const struct rootfs_ctx *ctx, const char *path, v12n_error *err)
{
    auto_close int fd = rootfs_open_in_root(ctx->root_fd, path, O_PATH, 0);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (fd < 0)
        return v12n_fail_errno(err, "resolve %s inside rootfs", path);
    struct target_path tp;
    const char *target = rootfs_target(ctx, fd, path, &tp);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return v12n_fail_errno(err, "bind %s onto itself", path);
    struct mount_req m = {.name = path, .dest = path};
    auto_close int top = reopen_top(ctx, &m, err);
    if (top < 0)
        return -1;
    /* Adding flags is allowed even in a user namespace; atime is kept. */
    if (mount(NULL, rootfs_target(ctx, top, path, &tp), NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return v12n_fail_errno(err, "remount %s read-only", path);
    return 0;
}

int rootfs_readonly_paths(struct rootfs_ctx *ctx, char *const *paths, v12n_error *err)
{
    for (char *const *p = paths; p != NULL && *p != NULL; p++) {
        char path[PATH_MAX];
        if (rootfs_clean_path(*p, path, sizeof path) < 0)
            return v12n_fail_errno(err, "readonlyPaths %s", *p);
        if (readonly_one(ctx, path, err) < 0)
            return v12n_error_wrap(err, "readonlyPaths");
    }
    return 0;
}
