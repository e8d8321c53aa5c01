/* libarchive, loaded on first use (see util/dlib.h).  A new libarchive
 * function in the image code needs its line in ARCHIVE_FUNCTIONS. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "shim/shim.h"
#include "shim/wrap.h"

/* The soname below is libarchive 3's. */
#if ARCHIVE_VERSION_NUMBER < 3000000 || ARCHIVE_VERSION_NUMBER >= 4000000
#error "check libarchive's soname"
#endif

#define A  struct archive *a
#define E  struct archive_entry *e
#define NL "libarchive not loaded"

#define ARCHIVE_FUNCTIONS(F, V, H)                                                                 \
    F(struct archive *, archive_read_new, (void), (), NULL)                                        \
    F(int, archive_read_free, (A), (a), ARCHIVE_FATAL)                                             \
    F(int, archive_read_support_filter_gzip, (A), (a), ARCHIVE_FATAL)                              \
    F(int, archive_read_support_filter_zstd, (A), (a), ARCHIVE_FATAL)                              \
    F(int, archive_read_support_format_raw, (A), (a), ARCHIVE_FATAL)                               \
    F(int, archive_read_support_format_tar, (A), (a), ARCHIVE_FATAL)                               \
    F(int, archive_read_open,                                                                      \
      (A, void *data, archive_open_callback *o, archive_read_callback *r,                          \
       archive_close_callback *c),                                                                 \
      (a, data, o, r, c), ARCHIVE_FATAL)                                                           \
    F(int, archive_read_next_header, (A, struct archive_entry * *e), (a, e), ARCHIVE_FATAL)        \
    F(la_ssize_t, archive_read_data, (A, void *buf, size_t n), (a, buf, n), ARCHIVE_FATAL)         \
    F(int, archive_read_data_block, (A, const void **buf, size_t *n, la_int64_t *offset),          \
      (a, buf, n, offset), ARCHIVE_FATAL)                                                          \
    F(int, archive_errno, (A), (a), ELIBACC)                                                       \
    F(const char *, archive_error_string, (A), (a), NL)                                            \
    F(int, archive_filter_code, (A, int n), (a, n), ARCHIVE_FATAL)                                 \
    H(archive_set_error)                                                                           \
    F(time_t, archive_entry_atime, (E), (e), 0)                                                    \
    F(int, archive_entry_atime_is_set, (E), (e), 0)                                                \
    F(long, archive_entry_atime_nsec, (E), (e), 0)                                                 \
    F(time_t, archive_entry_mtime, (E), (e), 0)                                                    \
    F(int, archive_entry_mtime_is_set, (E), (e), 0)                                                \
    F(long, archive_entry_mtime_nsec, (E), (e), 0)                                                 \
    F(__LA_MODE_T, archive_entry_filetype, (E), (e), 0)                                            \
    F(__LA_MODE_T, archive_entry_perm, (E), (e), 0)                                                \
    F(la_int64_t, archive_entry_uid, (E), (e), -1)                                                 \
    F(la_int64_t, archive_entry_gid, (E), (e), -1)                                                 \
    F(const char *, archive_entry_pathname, (E), (e), NULL)                                        \
    F(const char *, archive_entry_hardlink, (E), (e), NULL)                                        \
    F(const char *, archive_entry_symlink, (E), (e), NULL)                                         \
    F(dev_t, archive_entry_rdevmajor, (E), (e), 0)                                                 \
    F(dev_t, archive_entry_rdevminor, (E), (e), 0)                                                 \
    F(la_int64_t, archive_entry_size, (E), (e), 0)                                                 \
    F(int, archive_entry_size_is_set, (E), (e), 0)                                                 \
    F(int, archive_entry_xattr_reset, (E), (e), 0)                                                 \
    F(int, archive_entry_xattr_next, (E, const char **name, const void **value, size_t *n),        \
      (e, name, value, n), ARCHIVE_WARN)                                                           \
    F(int, archive_read_support_filter_all, (A), (a), ARCHIVE_FATAL)                               \
    F(int, archive_read_support_format_empty, (A), (a), ARCHIVE_FATAL)                             \
    F(int, archive_read_open_fd, (A, int fd, size_t block_size), (a, fd, block_size),              \
      ARCHIVE_FATAL)                                                                               \
    F(struct archive *, archive_write_new, (void), (), NULL)                                       \
    F(int, archive_write_free, (A), (a), ARCHIVE_FATAL)                                            \
    F(int, archive_write_close, (A), (a), ARCHIVE_FATAL)                                           \
    F(int, archive_write_set_format_pax_restricted, (A), (a), ARCHIVE_FATAL)                       \
    F(int, archive_write_set_bytes_in_last_block, (A, int n), (a, n), ARCHIVE_FATAL)               \
    F(int, archive_write_open_fd, (A, int fd), (a, fd), ARCHIVE_FATAL)                             \
    F(int, archive_write_open,                                                                     \
      (A, void *data, archive_open_callback *o, archive_write_callback *w,                         \
       archive_close_callback *c),                                                                 \
      (a, data, o, w, c), ARCHIVE_FATAL)                                                           \
    F(int, archive_write_header, (A, E), (a, e), ARCHIVE_FATAL)                                    \
    F(la_ssize_t, archive_write_data, (A, const void *buf, size_t n), (a, buf, n), ARCHIVE_FATAL)  \
    F(struct archive_entry *, archive_entry_new, (void), (), NULL)                                 \
    V(archive_entry_free, (E), (e))                                                                \
    V(archive_entry_set_pathname, (E, const char *p), (e, p))                                      \
    V(archive_entry_set_hardlink, (E, const char *p), (e, p))                                      \
    V(archive_entry_set_filetype, (E, unsigned int t), (e, t))                                     \
    V(archive_entry_set_perm, (E, __LA_MODE_T m), (e, m))                                          \
    V(archive_entry_set_size, (E, la_int64_t n), (e, n))                                           \
    V(archive_entry_set_uid, (E, la_int64_t id), (e, id))                                          \
    V(archive_entry_set_gid, (E, la_int64_t id), (e, id))                                          \
    V(archive_entry_set_mtime, (E, time_t t, long ns), (e, t, ns))

#define SHIM_LIB archive_lib
SHIM_DEFINE(archive_lib, ARCHIVE_FUNCTIONS, "libarchive.so.13", "libarchive13")

int v12n_archive_load(v12n_error *err)
{
    return v12n_dlib_load(&archive_lib, err);
}

/* Formatted here: a va_list cannot be passed on to a variadic function. */
void archive_set_error(struct archive *a, int errnum, const char *fmt, ...)
{
    if (!v12n_dlib_ready(&archive_lib))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SHIM_FN(archive_set_error)(a, errnum, "%s", msg);
}
