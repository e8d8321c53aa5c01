/* File and path helpers shared by every module. */
#ifndef V12N_UTIL_FS_H
#define V12N_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Read a whole file (NUL-terminated); *len gets its size when not NULL. */
char *v12n_read_file(const char *path, size_t *len, v12n_error *err);
char *v12n_read_fd(int fd, size_t *len, v12n_error *err);

/* Write data to path, truncating (no rename: for /proc and cgroup files). */
int v12n_write_file(const char *path, const char *data, size_t len, v12n_error *err);

/* Write through a temporary file and rename, so readers never see half. */
int v12n_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode,
                           v12n_error *err);
/* The same through an exchange (renameat2 RENAME_EXCHANGE) and the removal
 * of the old content: readers never see half either, but ext4 does not
 * force the new data out at the rename (its auto_da_alloc heuristic for
 * power losses, ~0.15 ms each on this host).  For files that do not outlive
 * a boot: the run directory's. */
int v12n_write_file_swap(const char *path, const char *data, size_t len, mode_t mode,
                         v12n_error *err);

/* mkdir -p; existing directories are fine. */
int v12n_mkdir_p(const char *path, mode_t mode, v12n_error *err);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int v12n_write_all(int fd, const void *buf, size_t len);

/* Read exactly len bytes (0 on success, -1 with errno, EPIPE-like ENODATA on EOF). */
int v12n_read_all(int fd, void *buf, size_t len);

bool v12n_path_exists(const char *path);

/* Remove a directory tree (does not cross mount points). */
int v12n_rm_rf(const char *path, v12n_error *err);

#endif
