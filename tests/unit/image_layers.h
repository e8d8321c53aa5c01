/* Test helpers for the image store and the unpacker: build layer tarballs in
 * memory with libarchive's writer (which writes any path it is given, so
 * hostile layers too), compress them, and feed them back as a source. */
#ifndef V12N_TESTS_IMAGE_LAYERS_H
#define V12N_TESTS_IMAGE_LAYERS_H

#include <archive.h>
#include <dirent.h>
#include <fcntl.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.h"
#include "image/unpack.h"
#include "util/cleanup.h"

struct tarb {
    struct archive *a;
    char *buf;
    size_t len, cap;
};

/* One tar entry; zero fields take defaults (a 0644 root-owned file). */
struct tent {
    const char *path;
    unsigned type; /* AE_IFREG (default), AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK, AE_IFIFO */
    unsigned perm; /* default 0644 (0755 for directories) */
    const void *data;
    size_t len;
    const char *symlink;
    const char *hardlink;
    int64_t uid, gid;
    unsigned rmajor, rminor;
    time_t mtime;
    const char *xname[3];
    const char *xvalue[3];
    size_t xlen[3]; /* 0: strlen(xvalue) */
};

static inline la_ssize_t tarb_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
    (void)a;
    struct tarb *t = ctx;
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (cap < t->len + n)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (b == NULL)
            return -1;
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, buf, n);
    t->len += n;
    return (la_ssize_t)n;
}

static inline void tarb_begin_filtered(struct tarb *t, int format_raw, int filter)
{
    memset(t, 0, sizeof *t);
    t->a = archive_write_new();
    if (format_raw)
        archive_write_set_format_raw(t->a);
    else
        archive_write_set_format_pax_restricted(t->a);
    if (filter == ARCHIVE_FILTER_GZIP)
        archive_write_add_filter_gzip(t->a);
    else if (filter == ARCHIVE_FILTER_ZSTD)
        archive_write_add_filter_zstd(t->a);
    else
        archive_write_add_filter_none(t->a);
    archive_write_set_bytes_per_block(t->a, 10240);
    if (filter != ARCHIVE_FILTER_NONE) /* no zero padding after the compressed stream */
        archive_write_set_bytes_in_last_block(t->a, 1);
    archive_write_open(t->a, t, NULL, tarb_write_cb, NULL);
}

static inline void tarb_begin(struct tarb *t)
{
    tarb_begin_filtered(t, 0, ARCHIVE_FILTER_NONE);
}

static inline int tarb_add(struct tarb *t, const struct tent *te)
{
    struct archive_entry *e = archive_entry_new();
    unsigned type = te->type ? te->type : AE_IFREG;
    archive_entry_set_pathname(e, te->path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, te->perm ? te->perm : (type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_uid(e, te->uid);
    archive_entry_set_gid(e, te->gid);
    archive_entry_set_mtime(e, te->mtime ? te->mtime : 1700000000, 0);
    if (te->symlink != NULL)
        archive_entry_set_symlink(e, te->symlink);
    if (te->hardlink != NULL)
        archive_entry_set_hardlink(e, te->hardlink);
    if (type == AE_IFCHR || type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, te->rmajor);
        archive_entry_set_rdevminor(e, te->rminor);
    }
    for (int i = 0; i < 3 && te->xname[i] != NULL; i++)
        archive_entry_xattr_add_entry(e, te->xname[i], te->xvalue[i],
                                      te->xlen[i] ? te->xlen[i] : strlen(te->xvalue[i]));
    size_t len = (type == AE_IFREG && te->hardlink == NULL) ? te->len : 0;
    archive_entry_set_size(e, (la_int64_t)len);
    int r = archive_write_header(t->a, e);
    if (r == ARCHIVE_OK && len > 0 && archive_write_data(t->a, te->data, len) != (la_ssize_t)len)
        r = ARCHIVE_FATAL;
    archive_entry_free(e);
    return r;
}

static inline void tarb_end(struct tarb *t)
{
    archive_write_close(t->a);
    archive_write_free(t->a);
    t->a = NULL;
}

/* buf/len compressed with gzip or zstd (a new malloc'd buffer). */
static inline char *compress_buf(const void *buf, size_t len, int filter, size_t *out_len)
{
    struct tarb t;
    tarb_begin_filtered(&t, 1, filter);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_write_header(t.a, e);
    archive_write_data(t.a, buf, len);
    archive_entry_free(e);
    tarb_end(&t);
    *out_len = t.len;
    return t.buf;
}

/* A source over memory, in pieces of at most step bytes (0: any). */
struct memsrc {
    const char *buf;
    size_t len, pos, step;
};

static inline ssize_t memsrc_read(void *ctx, void *buf, size_t len, v12n_error *err)
{
    (void)err;
    struct memsrc *m = ctx;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    if (m->step && n > m->step)
        n = m->step;
    memcpy(buf, m->buf + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static inline struct unpack_source memsrc_source(struct memsrc *m)
{
    return (struct unpack_source){.read = memsrc_read, .ctx = m};
}

/* Entries in a directory, "." and ".." aside (callers include cmocka first). */
/* Removes a fixture's mkdtemp directory, "/tmp/v12n-...", with the unpacker's
 * own tree removal (which does not follow symlinks a test left inside). */
static inline void remove_tmp_dir(const char *dir)
{
    v12n_error err = {0};
    int dfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        unpack_remove_tree(dfd, dir + strlen("/tmp/"), &err);
        close(dfd);
    }
}

static inline int count_entries(const char *dir)
{
    auto_closedir DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    return n;
}

#endif
