/* The tar half of the unpack pipeline: libarchive parses the (already
 * decompressed) stream, and each entry is written below the layer's
 * directory fd by the code here.  See unpack.h for the threat model. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "shim/shim.h"
#include "util/cleanup.h"

/* Entry paths in messages: bounded and made printable, they come from
 * the layer and end up on a terminal. */
#define ENTRY_FMT "layer entry %.256s"
#define SHOWN_MAX 260

struct dir_time {
    char *path; /* relative to the layer's root, "" for the root */
    struct timespec ts[2];
};

struct writer {
    int rootfd;
    bool as_root;
    uint64_t max_bytes, max_entries;
    uint64_t entries, file_bytes;
    bool archive_failed; /* the error came from libarchive reading the stream */
    struct unpack_stream *stream;
    uint64_t tar_seen; /* bytes handed to the tar reader */
    const char *rel;   /* the current entry's cleaned path */

    /* The parent of the previous entry: tar streams list a directory's
     * files together, so most entries reuse it. */
    char parent_path[PATH_MAX];
    int parent_fd;

    struct dir_time *dirs;
    size_t ndirs, dircap;
};

/* ---- paths --------------------------------------------------------------- */

/* C0 and C1 control characters (ESC, CSI...) become '?'. */
static const char *shown_name(const char *raw, char out[SHOWN_MAX])
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)raw; *p != '\0' && o < SHOWN_MAX - 1;
         p++) {
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            out[o++] = '?';
            p++;
        } else {
            out[o++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
        }
    }
    out[o] = '\0';
    return out;
}

/* What a directory on an entry's way is called. */
enum dir_names {
    DIRS_ORDINARY,
    DIRS_AUFS_META, /* below .wh..wh.plnk/ and the like: aufs bookkeeping */
    DIRS_WHITEOUT,  /* below a .wh.NAME: nonsense */
};

/* "./a//b/" -> "a/b"; "" is the layer's root.  Refuses what could point
 * outside (absolute paths, `..`). */
static int clean_path(const char *entry, const char *what, const char *path, char *out,
                      size_t outlen, enum dir_names *dirs, v12n_error *err)
{
    *dirs = DIRS_ORDINARY;
    if (path[0] == '/')
        return v12n_fail(err, EPERM, ENTRY_FMT ": %s is an absolute path", entry, what);
    size_t o = 0;
    const char *p = path;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0 || (len == 1 && start[0] == '.'))
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.')
            return v12n_fail(err, EPERM, ENTRY_FMT ": %s has a '..' component", entry, what);
        if (len > NAME_MAX || o + len + 2 > outlen)
            return v12n_fail(err, ENAMETOOLONG, ENTRY_FMT ": %s is too long", entry, what);
        if (o > 0) {
            /* the previous component turned out to be a directory */
            const char *prev = strrchr(out, '/');
            enum whiteout_kind kind = whiteout_classify(prev != NULL ? prev + 1 : out);
            if (kind == WHITEOUT_META && *dirs == DIRS_ORDINARY)
                *dirs = DIRS_AUFS_META;
            else if (kind != WHITEOUT_NONE && kind != WHITEOUT_META)
                *dirs = DIRS_WHITEOUT;
            out[o++] = '/';
        }
        memcpy(out + o, start, len);
        o += len;
        out[o] = '\0';
    }
    out[o] = '\0';
    return 0;
}

/* Split "a/b/c" in place into parent "a/b" and base "c" (parent "" for "c"). */
static const char *split_path(char *path, const char **parent)
{
    char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *parent = "";
        return path;
    }
    *slash = '\0';
    *parent = path;
    return slash + 1;
}

static bool openat2_missing;

void unpack_test_force_walk(bool force)
{
    __atomic_store_n(&openat2_missing, force, __ATOMIC_RELAXED);
}

/* Open a directory below rootfd, refusing symlinks anywhere on the way
 * (the kernel checks: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). */
static int open_beneath(int rootfd, const char *path)
{
    if (__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
        errno = ENOSYS;
        return -1;
    }
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    for (int attempt = 0; attempt < 16; attempt++) {
        long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno == ENOSYS)
            __atomic_store_n(&openat2_missing, true, __ATOMIC_RELAXED);
        if (errno != EAGAIN)
            break;
    }
    return -1;
}

static int parent_error(const char *entry, const char *raw_parent, int errnum, v12n_error *err)
{
    char shown[SHOWN_MAX];
    const char *parent = shown_name(raw_parent, shown);
    switch (errnum) {
    case ELOOP:
        return v12n_fail(err, ELOOP, ENTRY_FMT ": refusing to write through a symlink in %.256s",
                         entry, parent);
    case ENOTDIR:
        return v12n_fail(err, ENOTDIR, ENTRY_FMT ": %.256s is not a directory", entry, parent);
    case EXDEV: /* RESOLVE_BENEATH / RESOLVE_NO_XDEV */
        return v12n_fail(err, EXDEV, ENTRY_FMT ": %.256s leads out of the layer", entry, parent);
    default:
        return v12n_fail(err, errnum, ENTRY_FMT ": open %.256s", entry, parent);
    }
}

/* One component at a time with O_NOFOLLOW: the fallback without openat2,
 * and the way missing parents get created (0755, root-owned, as other
 * runtimes do for tars that omit directory entries). */
static int walk_beneath(int rootfd, const char *path, bool create, const char *entry,
                        v12n_error *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int cur = rootfd;
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
                next = -1;
            else
                next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        struct stat st;
        /* O_NOFOLLOW | O_DIRECTORY says ENOTDIR for a symlink: say which. */
        if (next < 0 && saved == ENOTDIR && fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            saved = ELOOP;
        if (cur != rootfd)
            close(cur);
        if (next < 0)
            return parent_error(entry, path, saved, err);
        cur = next;
    }
    return cur == rootfd ? fcntl(rootfd, F_DUPFD_CLOEXEC, 0) : cur;
}

static int open_dir(int rootfd, const char *path, bool create, const char *entry, v12n_error *err)
{
    int fd = open_beneath(rootfd, path);
    if (fd >= 0)
        return fd;
    if (errno == ENOSYS || (errno == ENOENT && create))
        return walk_beneath(rootfd, path, create, entry, err);
    return parent_error(entry, path, errno, err);
}

/* The entry's parent directory, created if missing; not to be closed. */
static int parent_fd(struct writer *w, const char *parent, const char *entry, v12n_error *err)
{
    if (parent[0] == '\0')
        return w->rootfd;
    if (w->parent_fd >= 0 && strcmp(parent, w->parent_path) == 0)
        return w->parent_fd;
    int fd = open_dir(w->rootfd, parent, true, entry, err);
    if (fd < 0)
        return -1;
    if (w->parent_fd >= 0)
        close(w->parent_fd);
    w->parent_fd = fd;
    snprintf(w->parent_path, sizeof w->parent_path, "%s", parent);
    return fd;
}

/* The cached parent is the removed directory or below it: forget it (it
 * is never the current entry's parent, which is above). */
static void forget_removed_parent(struct writer *w)
{
    size_t n = strlen(w->rel);
    if (w->parent_fd >= 0 && strncmp(w->parent_path, w->rel, n) == 0 &&
        (w->parent_path[n] == '\0' || w->parent_path[n] == '/')) {
        close(w->parent_fd);
        w->parent_fd = -1;
    }
}

/* Make room for the current entry: an existing non-directory goes, an
 * existing directory goes unless keep_dir.  1 when a directory was kept. */
static int clear_name(struct writer *w, int parentfd, const char *entry, const char *base,
                      bool keep_dir, v12n_error *err)
{
    struct stat st;
    if (fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return v12n_fail_errno(err, ENTRY_FMT ": stat the existing file", entry);
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir)
            return 1;
        forget_removed_parent(w);
        if (unpack_remove_tree(parentfd, base, err) < 0)
            return v12n_error_wrap(err, ENTRY_FMT ": replace a directory", entry);
        return 0;
    }
    if (unlinkat(parentfd, base, 0) < 0 && errno != ENOENT)
        return v12n_fail_errno(err, ENTRY_FMT ": replace the existing file", entry);
    return 0;
}

/* ---- metadata ------------------------------------------------------------ */

static int entry_owner(struct archive_entry *e, const char *entry, uid_t *uid, gid_t *gid,
                       v12n_error *err)
{
    la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
    /* (uid_t)-1 would mean "leave unchanged" to chown. */
    if (u < 0 || u >= (la_int64_t)UINT32_MAX || g < 0 || g >= (la_int64_t)UINT32_MAX)
        return v12n_fail(err, EINVAL, ENTRY_FMT ": invalid owner %lld:%lld", entry, (long long)u,
                         (long long)g);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* Overlayfs reads its own xattrs from the layers: a layer must not forge
 * them (redirects, metacopy...).  Other namespaces (security.selinux,
 * system.*) belong to the host. */
static bool xattr_allowed(const char *name)
{
    if (strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0)
        return false;
    return strncmp(name, "user.", 5) == 0 || strncmp(name, "trusted.", 8) == 0 ||
           strcmp(name, "security.capability") == 0;
}

/* Through fd when we have one, else by name under the parent (symlinks and
 * device nodes, which cannot be opened safely), via /proc/self/fd. */
static int set_xattrs(struct archive_entry *e, const char *entry, int fd, int parentfd,
                      const char *base, v12n_error *err)
{
    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    char proc[PATH_MAX];
    if (fd < 0)
        snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", parentfd, base);
    const char *name;
    const void *value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        if (name == NULL || !xattr_allowed(name))
            continue;
        int r =
            fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc, name, value, size, 0);
        if (r == 0)
            continue;
        /* user.* is not allowed on symlinks, nor on some filesystems. */
        if (strncmp(name, "user.", 5) == 0 && (errno == EPERM || errno == ENOTSUP))
            continue;
        char shown[SHOWN_MAX];
        return v12n_fail_errno(err, ENTRY_FMT ": set xattr %.128s", entry, shown_name(name, shown));
    }
    return 0;
}

/* false when the entry carries no mtime (then the file keeps "now"). */
static bool entry_times(struct archive_entry *e, struct timespec ts[2])
{
    if (!archive_entry_mtime_is_set(e))
        return false;
    long mns = archive_entry_mtime_nsec(e);
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = (mns >= 0 && mns < 1000000000L) ? mns : 0;
    ts[0] = ts[1];
    if (archive_entry_atime_is_set(e)) {
        long ans = archive_entry_atime_nsec(e);
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = (ans >= 0 && ans < 1000000000L) ? ans : 0;
    }
    return true;
}

/* Owner before mode (chown clears set-id bits), xattrs after both (chown
 * clears security.capability). */
static int set_fd_meta(struct writer *w, struct archive_entry *e, const char *entry, int fd,
                       v12n_error *err)
{
    uid_t uid;
    gid_t gid;
    if (entry_owner(e, entry, &uid, &gid, err) < 0)
        return -1;
    if (w->as_root && fchown(fd, uid, gid) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": chown %u:%u", entry, uid, gid);
    if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": chmod", entry);
    return set_xattrs(e, entry, fd, -1, NULL, err);
}

static int set_name_meta(struct writer *w, struct archive_entry *e, const char *entry, int parentfd,
                         const char *base, bool chmod_it, v12n_error *err)
{
    uid_t uid;
    gid_t gid;
    if (entry_owner(e, entry, &uid, &gid, err) < 0)
        return -1;
    if (w->as_root && fchownat(parentfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": chown %u:%u", entry, uid, gid);
    /* Only for device nodes and fifos we just created: never a symlink. */
    if (chmod_it && fchmodat(parentfd, base, archive_entry_perm(e) & 07777, 0) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": chmod", entry);
    if (set_xattrs(e, entry, -1, parentfd, base, err) < 0)
        return -1;
    struct timespec ts[2];
    if (entry_times(e, ts) && utimensat(parentfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": set times", entry);
    return 0;
}

/* A directory's mtime changes as its children are written: set it last. */
static int defer_dir_time(struct writer *w, struct archive_entry *e, const char *rel,
                          v12n_error *err)
{
    struct timespec ts[2];
    if (!entry_times(e, ts))
        return 0;
    if (w->ndirs == w->dircap) {
        size_t cap = w->dircap ? w->dircap * 2 : 256;
        struct dir_time *d = realloc(w->dirs, cap * sizeof *d);
        if (d == NULL)
            return v12n_fail(err, ENOMEM, "layer: out of memory");
        w->dirs = d;
        w->dircap = cap;
    }
    char *path = strdup(rel);
    if (path == NULL)
        return v12n_fail(err, ENOMEM, "layer: out of memory");
    w->dirs[w->ndirs].path = path;
    memcpy(w->dirs[w->ndirs].ts, ts, sizeof ts);
    w->ndirs++;
    return 0;
}

static int apply_dir_times(struct writer *w, v12n_error *err)
{
    for (size_t i = 0; i < w->ndirs; i++) {
        const struct dir_time *d = &w->dirs[i];
        char shown[SHOWN_MAX];
        const char *entry = shown_name(d->path, shown);
        int fd = w->rootfd;
        if (d->path[0] != '\0') {
            fd = open_dir(w->rootfd, d->path, false, entry, err);
            if (fd < 0) {
                /* A later entry replaced the directory: nothing to date. */
                if (err->errnum == ENOENT || err->errnum == ENOTDIR || err->errnum == ELOOP)
                    continue;
                return -1;
            }
        }
        int r = futimens(fd, d->ts);
        int saved = errno;
        if (fd != w->rootfd)
            close(fd);
        if (r < 0)
            return v12n_fail(err, saved, ENTRY_FMT ": set times", entry);
    }
    v12n_error_clear(err);
    return 0;
}

/* ---- entries ----------------------------------------------------------- */

static int tar_failure(struct writer *w, struct archive *a, const char *what, v12n_error *err)
{
    w->archive_failed = true;
    const char *msg = archive_error_string(a);
    return v12n_fail(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "layer %s: %s", what,
                     msg != NULL ? msg : "unknown libarchive error");
}

static int write_data(struct writer *w, struct archive *a, const char *entry, int fd, int64_t size,
                      v12n_error *err)
{
    int64_t end = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return tar_failure(w, a, "read", err);
        if (off < 0 || (uint64_t)off + len > (uint64_t)size)
            return v12n_fail(err, EINVAL, ENTRY_FMT ": data beyond the file's size", entry);
        const char *p = buf;
        while (len > 0) {
            ssize_t n = pwrite(fd, p, len, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return v12n_fail(err, n < 0 ? errno : EIO, ENTRY_FMT ": write", entry);
            p += n;
            len -= (size_t)n;
            off += n;
        }
        if (off > end)
            end = off;
    }
    /* A sparse file ending in a hole. */
    if (end < size && ftruncate(fd, size) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": truncate", entry);
    return 0;
}

static int write_file(struct writer *w, struct archive *a, struct archive_entry *e,
                      const char *entry, int parentfd, const char *base, v12n_error *err)
{
    int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0)
        return v12n_fail(err, EINVAL, ENTRY_FMT ": negative size", entry);
    if ((uint64_t)size > w->max_bytes - w->file_bytes)
        return v12n_fail(err, EFBIG,
                         ENTRY_FMT ": files add up to more than the limit of %llu bytes", entry,
                         (unsigned long long)w->max_bytes);
    w->file_bytes += (uint64_t)size;

    int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        fd = openat(parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            break;
        if (errno != EEXIST || attempt > 0)
            return v12n_fail_errno(err, ENTRY_FMT ": create", entry);
        if (clear_name(w, parentfd, entry, base, false, err) < 0)
            return -1;
    }
    int r = write_data(w, a, entry, fd, size, err);
    if (r == 0)
        r = set_fd_meta(w, e, entry, fd, err);
    struct timespec ts[2];
    if (r == 0 && entry_times(e, ts) && futimens(fd, ts) < 0)
        r = v12n_fail_errno(err, ENTRY_FMT ": set times", entry);
    if (close(fd) < 0 && r == 0)
        r = v12n_fail_errno(err, ENTRY_FMT ": close", entry);
    return r;
}

static int make_dir(struct writer *w, struct archive_entry *e, const char *entry, const char *rel,
                    int parentfd, const char *base, v12n_error *err)
{
    if (mkdirat(parentfd, base, 0700) < 0) {
        if (errno != EEXIST)
            return v12n_fail_errno(err, ENTRY_FMT ": mkdir", entry);
        int kept = clear_name(w, parentfd, entry, base, true, err);
        if (kept < 0)
            return -1;
        if (!kept && mkdirat(parentfd, base, 0700) < 0)
            return v12n_fail_errno(err, ENTRY_FMT ": mkdir", entry);
    }
    auto_close int fd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": open", entry);
    if (set_fd_meta(w, e, entry, fd, err) < 0)
        return -1;
    return defer_dir_time(w, e, rel, err);
}

static int make_symlink(struct writer *w, struct archive_entry *e, const char *entry, int parentfd,
                        const char *base, v12n_error *err)
{
    const char *target = archive_entry_symlink(e);
    if (target == NULL || target[0] == '\0')
        return v12n_fail(err, EINVAL, ENTRY_FMT ": symlink without a target", entry);
    for (int attempt = 0; symlinkat(target, parentfd, base) < 0; attempt++) {
        if (errno != EEXIST || attempt > 0)
            return v12n_fail_errno(err, ENTRY_FMT ": symlink", entry);
        if (clear_name(w, parentfd, entry, base, false, err) < 0)
            return -1;
    }
    return set_name_meta(w, e, entry, parentfd, base, false, err);
}

static int make_node(struct writer *w, struct archive_entry *e, const char *entry, int parentfd,
                     const char *base, mode_t type, v12n_error *err)
{
    dev_t dev =
        type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    for (int attempt = 0; mknodat(parentfd, base, type | 0600, dev) < 0; attempt++) {
        if (errno != EEXIST || attempt > 0)
            return v12n_fail_errno(err, ENTRY_FMT ": mknod", entry);
        if (clear_name(w, parentfd, entry, base, false, err) < 0)
            return -1;
    }
    return set_name_meta(w, e, entry, parentfd, base, true, err);
}

/* A hard link to an entry written earlier in this layer; the kernel resolves
 * the target's parent beneath the root without symlinks, like any entry. */
static int make_hardlink(struct writer *w, const char *entry, const char *target_raw, int parentfd,
                         const char *base, v12n_error *err)
{
    char target[PATH_MAX];
    enum dir_names dirs;
    if (clean_path(entry, "hardlink target", target_raw, target, sizeof target, &dirs, err) < 0)
        return -1;
    if (target[0] == '\0')
        return v12n_fail(err, EPERM, ENTRY_FMT ": hardlink to the layer's root", entry);
    const char *tparent;
    const char *tbase = split_path(target, &tparent);
    if (dirs != DIRS_ORDINARY || whiteout_classify(tbase) != WHITEOUT_NONE)
        return v12n_fail(err, EPERM, ENTRY_FMT ": hardlink to a whiteout", entry);

    auto_close int owned = -1;
    int tfd = w->rootfd;
    if (tparent[0] != '\0') {
        owned = open_dir(w->rootfd, tparent, false, entry, err);
        if (owned < 0)
            return v12n_error_wrap(err, "hardlink target");
        tfd = owned;
    }
    struct stat tst;
    char shown[SHOWN_MAX];
    if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0)
        return v12n_fail_errno(err, ENTRY_FMT ": hardlink target %.256s", entry,
                               shown_name(target_raw, shown));
    if (S_ISDIR(tst.st_mode))
        return v12n_fail(err, EPERM, ENTRY_FMT ": hardlink to a directory", entry);

    for (int attempt = 0; linkat(tfd, tbase, parentfd, base, 0) < 0; attempt++) {
        struct stat st;
        if (errno == EEXIST && fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
            return 0; /* already that file */
        if (errno != EEXIST || attempt > 0)
            return v12n_fail_errno(err, ENTRY_FMT ": link to %.256s", entry,
                                   shown_name(target_raw, shown));
        if (clear_name(w, parentfd, entry, base, false, err) < 0)
            return -1;
    }
    return 0;
}

static int write_root(struct writer *w, struct archive_entry *e, const char *entry, v12n_error *err)
{
    if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e) != NULL)
        return v12n_fail(err, EPERM, ENTRY_FMT ": the layer's root must be a directory", entry);
    if (set_fd_meta(w, e, entry, w->rootfd, err) < 0)
        return -1;
    return defer_dir_time(w, e, "", err);
}

static int write_entry(struct writer *w, struct archive *a, struct archive_entry *e,
                       v12n_error *err)
{
    const char *raw = archive_entry_pathname(e);
    w->rel = "";
    if (raw == NULL)
        return v12n_fail(err, EINVAL, "layer entry #%llu: no path", (unsigned long long)w->entries);
    if (++w->entries > w->max_entries)
        return v12n_fail(err, EFBIG, "layer has more than the limit of %llu entries",
                         (unsigned long long)w->max_entries);

    /* From here on, entry is the name for messages only. */
    char shown[SHOWN_MAX];
    const char *entry = shown_name(raw, shown);
    char rel[PATH_MAX];
    enum dir_names dirs;
    if (clean_path(entry, "path", raw, rel, sizeof rel, &dirs, err) < 0)
        return -1;
    if (dirs == DIRS_AUFS_META)
        return 0;
    if (dirs == DIRS_WHITEOUT)
        return v12n_fail(err, EPERM, ENTRY_FMT ": a whiteout used as a directory", entry);
    if (rel[0] == '\0')
        return write_root(w, e, entry, err);
    w->rel = rel;
    char split[PATH_MAX];
    memcpy(split, rel, strlen(rel) + 1);
    const char *parent;
    const char *base = split_path(split, &parent);
    int pfd = parent_fd(w, parent, entry, err);
    if (pfd < 0)
        return -1;

    enum whiteout_kind wh = whiteout_classify(base);
    if (wh != WHITEOUT_NONE)
        return whiteout_apply(pfd, entry, base, wh, err);

    const char *hardlink = archive_entry_hardlink(e);
    if (hardlink != NULL)
        return make_hardlink(w, entry, hardlink, pfd, base, err);

    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return write_file(w, a, e, entry, pfd, base, err);
    case AE_IFDIR:
        return make_dir(w, e, entry, rel, pfd, base, err);
    case AE_IFLNK:
        return make_symlink(w, e, entry, pfd, base, err);
    case AE_IFCHR:
        return make_node(w, e, entry, pfd, base, S_IFCHR, err);
    case AE_IFBLK:
        return make_node(w, e, entry, pfd, base, S_IFBLK, err);
    case AE_IFIFO:
        return make_node(w, e, entry, pfd, base, S_IFIFO, err);
    default:
        return v12n_fail(err, EINVAL, ENTRY_FMT ": unsupported file type 0%o", entry,
                         (unsigned)archive_entry_filetype(e));
    }
}

static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
    struct writer *w = ctx;
    ssize_t n = unpack_stream_next(w->stream, buf);
    if (n < 0) {
        archive_set_error(a, EIO, "the layer stream failed");
        return -1;
    }
    w->tar_seen += (uint64_t)n;
    return n;
}

/* Names are taken as the raw bytes of the archive: libarchive keeps them
 * so (with a warning) when they do not convert to the C locale's charset. */
static int write_entries(struct writer *w, struct archive *a, v12n_error *err)
{
    archive_read_support_format_tar(a);
    if (archive_read_open(a, w, NULL, tar_read, NULL) != ARCHIVE_OK)
        return w->tar_seen == 0 ? 0 : tar_failure(w, a, "open", err);
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        /* An empty stream is an empty layer (as Go's archive/tar sees it). */
        if (r < ARCHIVE_WARN && w->entries == 0 && w->tar_seen == 0)
            return 0;
        if (r < ARCHIVE_WARN)
            return tar_failure(w, a, "tar", err);
        if (write_entry(w, a, e, err) < 0)
            return -1;
    }
}

static void writer_free(struct writer *w)
{
    if (w->parent_fd >= 0)
        close(w->parent_fd);
    for (size_t i = 0; i < w->ndirs; i++)
        free(w->dirs[i].path);
    free(w->dirs);
}

static int check_digest(const char *what, const char *expected, const char *got, v12n_error *err)
{
    if (expected == NULL || strcmp(expected, got) == 0)
        return 0;
    return v12n_fail(err, EILSEQ, "layer %s mismatch: expected %s, got %s", what, expected, got);
}

int unpack_layer(int dirfd, const struct unpack_source *src, const struct unpack_opts *opts,
                 struct unpack_result *res, v12n_error *err)
{
    struct unpack_opts o = opts != NULL ? *opts : (struct unpack_opts){0};
    /* Loaded here, not at the runtime's start (util/dlib.h). */
    if (v12n_archive_load(err) < 0)
        return -1;
    if (o.diff_id != NULL && image_digest_check(o.diff_id, err) < 0)
        return v12n_error_wrap(err, "layer diff_id");
    if (o.digest != NULL && image_digest_check(o.digest, err) < 0)
        return v12n_error_wrap(err, "layer");
    struct writer w = {
        .rootfd = dirfd,
        .as_root = geteuid() == 0,
        .max_bytes = o.max_bytes ? o.max_bytes : UNPACK_DEFAULT_MAX_BYTES,
        .max_entries = o.max_entries ? o.max_entries : UNPACK_DEFAULT_MAX_ENTRIES,
        .parent_fd = -1,
    };
    struct archive *a = archive_read_new();
    if (a == NULL)
        return v12n_fail(err, ENOMEM, "layer: out of memory");
    struct unpack_stream *s;
    if (unpack_stream_start(src, w.max_bytes, &s, err) < 0) {
        archive_read_free(a);
        return -1;
    }

    w.stream = s;
    struct unpack_result r = {0};
    int rc = write_entries(&w, a, err);
    archive_read_free(a);
    if (rc < 0) {
        unpack_stream_cancel(s);
        v12n_error perr = {0};
        /* "read error" from the tar side: the producer knows the cause. */
        if (unpack_stream_finish(s, NULL, &perr) < 0 && w.archive_failed)
            *err = perr;
    } else {
        rc = unpack_stream_finish(s, &r, err);
    }
    if (rc == 0)
        rc = apply_dir_times(&w, err);
    r.entries = w.entries;
    r.file_bytes = w.file_bytes;
    writer_free(&w);
    if (rc < 0)
        return -1;
    if (check_digest("digest", o.digest, r.digest, err) < 0 ||
        check_digest("diff_id", o.diff_id, r.diff_id, err) < 0)
        return -1;
    if (res != NULL)
        *res = r;
    return 0;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, v12n_error *err)
{
    int fd = *(int *)ctx;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return v12n_fail_errno(err, "layer: read");
    }
}

void unpack_source_fd(struct unpack_source *src, int *fd)
{
    src->read = fd_read;
    src->ctx = fd;
}

int unpack_layer_fd(int dirfd, int fd, const struct unpack_opts *opts, struct unpack_result *res,
                    v12n_error *err)
{
    struct unpack_source src;
    unpack_source_fd(&src, &fd);
    return unpack_layer(dirfd, &src, opts, res, err);
}

int unpack_media_type_check(const char *media_type, v12n_error *err)
{
    static const char *const known[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    if (media_type == NULL)
        return v12n_fail(err, EINVAL, "layer: no media type");
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(media_type, known[i]) == 0)
            return 0;
    }
    char shown[SHOWN_MAX];
    return v12n_fail(err, ENOTSUP, "layer: unsupported media type %.200s",
                     shown_name(media_type, shown));
}

/* ---- removal --------------------------------------------------------------- */

/* Subdirectories still to remove in one directory of the walk. */
struct rm_level {
    char **subdirs;
    size_t n, cap;
    char *current; /* the one being removed below */
};

static void rm_level_free(struct rm_level *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->subdirs[i]);
    free(l->subdirs);
    free(l->current);
    memset(l, 0, sizeof *l);
}

/* Unlink the non-directories of fd, list its subdirectories into l. */
static int rm_scan(int fd, struct rm_level *l, v12n_error *err)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return v12n_fail_errno(err, "remove: open");
    auto_closedir DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return v12n_fail_errno(err, "remove: opendir");
    }
    struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
            if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
                return v12n_fail_errno(err, "remove %.256s", de->d_name);
            continue;
        }
        if (unlinkat(fd, de->d_name, 0) == 0)
            continue; /* DT_UNKNOWN that was a file */
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            char **v = realloc(l->subdirs, cap * sizeof *v);
            if (v == NULL)
                return v12n_fail(err, ENOMEM, "remove: out of memory");
            l->subdirs = v;
            l->cap = cap;
        }
        if ((l->subdirs[l->n] = strdup(de->d_name)) == NULL)
            return v12n_fail(err, ENOMEM, "remove: out of memory");
        l->n++;
    }
    if (errno != 0)
        return v12n_fail_errno(err, "remove: readdir");
    return 0;
}

int unpack_remove_tree(int dirfd, const char *name, v12n_error *err)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return v12n_fail_errno(err, "remove %.256s", name);

    int cur = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cur < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "remove %.256s: open", name);
    struct stat root;
    if (fstat(cur, &root) < 0) {
        close(cur);
        return v12n_fail_errno(err, "remove %.256s: stat", name);
    }

    /* Depth-first with a stack of pending names, "..'" to climb back: two
     * descriptors at most, whatever the depth. */
    struct rm_level *stack = NULL;
    size_t depth = 0, cap = 0;
    int rc = 0;
    for (bool descend = true;;) {
        if (descend) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct rm_level *s = realloc(stack, ncap * sizeof *s);
                if (s == NULL) {
                    rc = v12n_fail(err, ENOMEM, "remove: out of memory");
                    break;
                }
                stack = s;
                cap = ncap;
            }
            memset(&stack[depth], 0, sizeof stack[depth]);
            depth++;
            if ((rc = rm_scan(cur, &stack[depth - 1], err)) < 0)
                break;
        }
        struct rm_level *l = &stack[depth - 1];
        if (l->n > 0) {
            free(l->current);
            l->current = l->subdirs[--l->n];
            int next = openat(cur, l->current, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            struct stat st;
            if (next < 0 || fstat(next, &st) < 0) {
                rc = v12n_fail_errno(err, "remove %.256s: open %.256s", name, l->current);
                if (next >= 0)
                    close(next);
                break;
            }
            if (st.st_dev != root.st_dev) {
                close(next);
                rc = v12n_fail(err, EBUSY, "remove %.256s: %.256s is a mount point", name,
                               l->current);
                break;
            }
            close(cur);
            cur = next;
            descend = true;
            continue;
        }
        rm_level_free(l);
        depth--;
        if (depth == 0)
            break;
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (up < 0) {
            rc = v12n_fail_errno(err, "remove %.256s: open ..", name);
            break;
        }
        close(cur);
        cur = up;
        struct rm_level *parent = &stack[depth - 1];
        if (unlinkat(cur, parent->current, AT_REMOVEDIR) < 0 && errno != ENOENT) {
            rc = v12n_fail_errno(err, "remove %.256s: rmdir %.256s", name, parent->current);
            break;
        }
        descend = false;
    }
    for (size_t i = 0; i < depth; i++)
        rm_level_free(&stack[i]);
    free(stack);
    close(cur);
    if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = v12n_fail_errno(err, "remove %.256s", name);
    return rc;
}
