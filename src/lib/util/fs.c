#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ftw.h>

#include "util/cleanup.h"

char *v12n_read_fd(int fd, size_t *len, v12n_error *err)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        v12n_fail(err, ENOMEM, "read: out of memory");
        return NULL;
    }
    for (;;) {
        if (used + 1 >= cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                v12n_fail(err, ENOMEM, "read: out of memory");
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            v12n_fail_errno(err, "read");
            return NULL;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (len != NULL)
        *len = used;
    return buf;
}

char *v12n_read_file(const char *path, size_t *len, v12n_error *err)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        v12n_fail_errno(err, "open %s", path);
        return NULL;
    }
    char *data = v12n_read_fd(fd, len, err);
    if (data == NULL)
        v12n_error_wrap(err, "%s", path);
    return data;
}

int v12n_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int v12n_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = ENODATA;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int v12n_write_file(const char *path, const char *data, size_t len, v12n_error *err)
{
    auto_close int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return v12n_fail_errno(err, "open %s", path);
    if (v12n_write_all(fd, data, len) < 0)
        return v12n_fail_errno(err, "write %s", path);
    return 0;
}

/* Write data to a new temporary beside path; its name goes to tmp. */
static int write_temp(const char *path, const char *data, size_t len, mode_t mode, char *tmp,
                      size_t tmp_len, v12n_error *err)
{
    if (snprintf(tmp, tmp_len, "%s.tmp.%d", path, (int)getpid()) >= (int)tmp_len)
        return v12n_fail(err, ENAMETOOLONG, "write %s", path);
    int fd = open(tmp, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0)
        return v12n_fail_errno(err, "open %s", tmp);
    if (v12n_write_all(fd, data, len) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return v12n_fail(err, saved, "write %s", tmp);
    }
    if (close(fd) < 0) {
        int saved = errno;
        unlink(tmp);
        return v12n_fail(err, saved, "close %s", tmp);
    }
    return 0;
}

int v12n_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                           v12n_error *err)
{
    char tmp[PATH_MAX];
    if (write_temp(path, data, len, mode, tmp, sizeof tmp, err) < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return v12n_fail(err, saved, "rename %s", path);
    }
    return 0;
}

int v12n_write_file_swap(const char *path, const char *data, size_t len, mode_t mode,
                         v12n_error *err)
{
    char tmp[PATH_MAX];
    if (write_temp(path, data, len, mode, tmp, sizeof tmp, err) < 0)
        return -1;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        unlink(tmp); /* the old content */
        return 0;
    }
    /* No file to exchange with yet, or a filesystem without exchange. */
    if ((errno == ENOENT || errno == EINVAL || errno == ENOSYS) && rename(tmp, path) == 0)
        return 0;
    int saved = errno;
    unlink(tmp);
    return v12n_fail(err, saved, "rename %s", path);
}

int v12n_mkdir_p(const char *path, mode_t mode, v12n_error *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return v12n_fail(err, ENAMETOOLONG, "mkdir %s", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return v12n_fail_errno(err, "mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return v12n_fail_errno(err, "mkdir %s", buf);
    return 0;
}

bool v12n_path_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (r < 0 && errno != ENOENT)
        return -1;
    return 0;
}

int v12n_rm_rf(const char *path, v12n_error *err)
{
    if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
        return v12n_fail_errno(err, "remove %s", path);
    return 0;
}
