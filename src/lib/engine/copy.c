/* Copies between the host and a rootfs (copy.h).  Below the resolved
 * starting point every step is an openat with O_NOFOLLOW relative to a
 * directory descriptor, so nothing is resolved twice. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/copy.h"
#include "util/cleanup.h"

static int open_in_root(int root, const char *path, int flags, v12n_error *err)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    if (fd < 0)
        return v12n_fail_errno(err, "open %s in the container", path);
    return fd;
}

static int copy_fd(int src, int dst, const char *what, v12n_error *err)
{
    for (;;) {
        ssize_t n = sendfile(dst, src, NULL, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return v12n_fail_errno(err, "copy %s", what);
        if (n == 0)
            return 0;
    }
}

/* Copy the object open as src (a regular file or directory) to name in dir. */
static int copy_tree(int src, int dstdir, const char *name, int depth, v12n_error *err)
{
    struct stat st;
    if (fstat(src, &st) < 0)
        return v12n_fail_errno(err, "stat %s", name);
    if (depth > 64)
        return v12n_fail(err, ELOOP, "copy %s: too deep", name);
    if (S_ISREG(st.st_mode)) {
        auto_close int dst =
            openat(dstdir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                   st.st_mode & 07777);
        if (dst < 0)
            return v12n_fail_errno(err, "create %s", name);
        return copy_fd(src, dst, name, err);
    }
    if (!S_ISDIR(st.st_mode))
        return 0; /* devices, sockets, links: skipped */
    if (mkdirat(dstdir, name, st.st_mode & 07777) < 0 && errno != EEXIST)
        return v12n_fail_errno(err, "mkdir %s", name);
    auto_close int sub = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return v12n_fail_errno(err, "open %s", name);
    int dup_src = dup(src);
    if (dup_src < 0)
        return v12n_fail_errno(err, "dup");
    auto_closedir DIR *d = fdopendir(dup_src);
    if (d == NULL) {
        close(dup_src);
        return v12n_fail_errno(err, "read %s", name);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        auto_close int child =
            openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (child < 0) {
            if (errno == ELOOP)
                continue; /* a symlink */
            return v12n_fail_errno(err, "open %s/%s", name, de->d_name);
        }
        if (copy_tree(child, sub, de->d_name, depth + 1, err) < 0)
            return -1;
    }
    return 0;
}

/* The destination directory and leaf name: into dir when it is one. */
static int host_dest(const char *host, const char *src_name, int *dirfd_out, char *leaf, size_t len,
                     v12n_error *err)
{
    struct stat st;
    if (stat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
        *dirfd_out = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(leaf, len, "%s", src_name);
    } else {
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof a, "%s", host);
        snprintf(b, sizeof b, "%s", host);
        *dirfd_out = open(dirname(a), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        snprintf(leaf, len, "%s", basename(b));
    }
    if (*dirfd_out < 0)
        return v12n_fail_errno(err, "open %s", host);
    return 0;
}

int engine_copy_out(const char *rootfs, const char *cpath, const char *host, v12n_error *err)
{
    auto_close int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return v12n_fail_errno(err, "open %s", rootfs);
    auto_close int src = open_in_root(root, cpath, O_RDONLY | O_NONBLOCK, err);
    if (src < 0)
        return -1;
    char tmp[PATH_MAX], leaf[NAME_MAX + 1];
    snprintf(tmp, sizeof tmp, "%s", cpath);
    auto_close int dir = -1;
    if (host_dest(host, basename(tmp), &dir, leaf, sizeof leaf, err) < 0)
        return -1;
    return copy_tree(src, dir, leaf, 0, err);
}

int engine_copy_in(const char *host, const char *rootfs, const char *cpath, v12n_error *err)
{
    auto_close int src = open(host, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (src < 0)
        return v12n_fail_errno(err, "open %s", host);
    auto_close int root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return v12n_fail_errno(err, "open %s", rootfs);
    char hcopy[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    snprintf(hcopy, sizeof hcopy, "%s", host);
    const char *src_name = basename(hcopy);
    /* An existing directory receives the source under its own name. */
    v12n_error probe = {0};
    auto_close int dir = open_in_root(root, cpath, O_RDONLY | O_DIRECTORY, &probe);
    const char *leaf = src_name;
    if (dir < 0) {
        snprintf(a, sizeof a, "%s", cpath);
        snprintf(b, sizeof b, "%s", cpath);
        dir = open_in_root(root, dirname(a), O_RDONLY | O_DIRECTORY, err);
        if (dir < 0)
            return -1;
        leaf = basename(b);
    }
    if (strcmp(leaf, "/") == 0 || strcmp(leaf, "..") == 0 || strcmp(leaf, ".") == 0)
        return v12n_fail(err, EINVAL, "cp: bad destination %s", cpath);
    return copy_tree(src, dir, leaf, 0, err);
}
