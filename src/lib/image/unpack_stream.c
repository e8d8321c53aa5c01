/* The decompressing half of the unpack pipeline: a helper thread reads the
 * source, decompresses it with libarchive (the "raw" format: no archive
 * parsing, just the gzip/zstd/none filter) and hands the plain tar stream to
 * the tar reader through a ring of chunks.  It hashes both streams on the
 * way (digest over the source bytes, diff_id over the tar bytes) and
 * enforces the size cap on both. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/unpack_internal.h"
#include "util/cleanup.h"

#define CHUNK_SIZE   (1u << 20)
#define RING_CHUNKS  4
#define READBUF_SIZE (256u << 10)

/* ---- the ring and the producer thread ---------------------------------- */

struct chunk {
    char *data;
    size_t len;
};

struct unpack_stream {
    const struct unpack_source *src;
    uint64_t max_bytes;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct chunk ring[RING_CHUNKS];
    unsigned head;  /* oldest filled chunk */
    unsigned count; /* filled chunks, the consumer's held one included */
    bool held;      /* the consumer is reading ring[head] */
    bool done;      /* the producer has finished, well or not */
    bool failed;    /* ... for a reason of its own, not because it was cancelled */
    bool cancelled; /* atomic: the consumer gave up */
    bool stopped;   /* producer-only: it saw the cancellation */

    /* Owned by the producer until it is joined. */
    v12n_error err;
    bool source_failed; /* err holds the source's or the cap's error */
    struct image_sha256 *digest, *diff_id;
    uint64_t compressed_bytes, tar_bytes;
    char *readbuf;
};

static const char *const unsupported_magic[][2] = {
    {"BZh", "bzip2"},
    {"\xfd"
     "7zXZ",
     "xz"},
    {"\x04\x22\x4d\x18", "lz4"},
    {"\x1f\x9d", "compress"},
    {"LZIP", "lzip"},
    {"7z\xbc\xaf\x27\x1c", "7z"},
    {"\x89LZO", "lzop"},
    {"PK\x03\x04", "zip"},
};

/* The source's bytes, hashed and counted on their way into libarchive. */
static la_ssize_t source_read(struct archive *a, void *ctx, const void **buf)
{
    struct unpack_stream *s = ctx;
    if (__atomic_load_n(&s->cancelled, __ATOMIC_RELAXED)) {
        s->stopped = true;
        archive_set_error(a, ECANCELED, "cancelled");
        return -1;
    }
    ssize_t n = s->src->read(s->src->ctx, s->readbuf, READBUF_SIZE, &s->err);
    if (n < 0) {
        s->source_failed = true;
        archive_set_error(a, s->err.errnum ? s->err.errnum : EIO, "%s", s->err.msg);
        return -1;
    }
    s->compressed_bytes += (uint64_t)n;
    if (s->compressed_bytes > s->max_bytes) {
        s->source_failed = true;
        v12n_fail(&s->err, EFBIG, "layer is larger than the limit of %llu bytes",
                  (unsigned long long)s->max_bytes);
        archive_set_error(a, EFBIG, "%s", s->err.msg);
        return -1;
    }
    image_sha256_update(s->digest, s->readbuf, (size_t)n);
    *buf = s->readbuf;
    return n;
}

/* The filters may stop before the source's end (bytes after the last gzip
 * member); the blob's digest covers them all. */
static int drain_source(struct unpack_stream *s)
{
    for (;;) {
        ssize_t n = s->src->read(s->src->ctx, s->readbuf, READBUF_SIZE, &s->err);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        s->compressed_bytes += (uint64_t)n;
        if (s->compressed_bytes > s->max_bytes)
            return v12n_fail(&s->err, EFBIG, "layer is larger than the limit of %llu bytes",
                             (unsigned long long)s->max_bytes);
        image_sha256_update(s->digest, s->readbuf, (size_t)n);
    }
}

static int archive_failure(struct unpack_stream *s, struct archive *a, const char *what)
{
    if (s->source_failed)
        return -1; /* s->err already says why */
    const char *msg = archive_error_string(a);
    return v12n_fail(&s->err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "layer %s: %s", what,
                     msg != NULL ? msg : "unknown libarchive error");
}

static int check_compression(struct unpack_stream *s, const char *first, size_t len)
{
    for (size_t i = 0; i < sizeof unsupported_magic / sizeof unsupported_magic[0]; i++) {
        const char *magic = unsupported_magic[i][0];
        size_t mlen = strlen(magic);
        if (len >= mlen && memcmp(first, magic, mlen) == 0)
            return v12n_fail(&s->err, ENOTSUP,
                             "layer: unsupported compression %s (gzip, zstd or none)",
                             unsupported_magic[i][1]);
    }
    return 0;
}

/* Wait for a free chunk; NULL when the consumer cancelled. */
static struct chunk *free_chunk(struct unpack_stream *s)
{
    pthread_mutex_lock(&s->lock);
    bool cancelled;
    while (!(cancelled = __atomic_load_n(&s->cancelled, __ATOMIC_RELAXED)) &&
           s->count == RING_CHUNKS)
        pthread_cond_wait(&s->cond, &s->lock);
    struct chunk *c = cancelled ? NULL : &s->ring[(s->head + s->count) % RING_CHUNKS];
    pthread_mutex_unlock(&s->lock);
    if (c == NULL)
        s->stopped = true;
    return c;
}

static void publish_chunk(struct unpack_stream *s, struct chunk *c, size_t len)
{
    pthread_mutex_lock(&s->lock);
    c->len = len;
    s->count++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static int produce(struct unpack_stream *s, struct archive *a)
{
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    /* An empty source has no format at all: the tar side sees no bytes and
     * decides. */
    if (archive_read_open(a, s, NULL, source_read, NULL) != ARCHIVE_OK)
        return s->compressed_bytes == 0 && !s->source_failed ? 0 : archive_failure(s, a, "open");
    struct archive_entry *entry;
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF || (r < ARCHIVE_WARN && s->compressed_bytes == 0 && !s->source_failed))
        return 0;
    if (r < ARCHIVE_WARN)
        return archive_failure(s, a, "decompress");
    bool plain = archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;

    for (bool first = true;; first = false) {
        struct chunk *c = free_chunk(s);
        if (c == NULL)
            return v12n_fail(&s->err, ECANCELED, "layer: cancelled");
        la_ssize_t n = archive_read_data(a, c->data, CHUNK_SIZE);
        if (n < 0)
            return archive_failure(s, a, "decompress");
        if (n == 0)
            break;
        if (first && plain && check_compression(s, c->data, (size_t)n) < 0)
            return -1;
        s->tar_bytes += (uint64_t)n;
        if (s->tar_bytes > s->max_bytes)
            return v12n_fail(&s->err, EFBIG, "layer unpacks to more than the limit of %llu bytes",
                             (unsigned long long)s->max_bytes);
        image_sha256_update(s->diff_id, c->data, (size_t)n);
        publish_chunk(s, c, (size_t)n);
    }
    return drain_source(s);
}

static void *producer_main(void *arg)
{
    struct unpack_stream *s = arg;
    struct archive *a = archive_read_new();
    int r = a == NULL ? v12n_fail(&s->err, ENOMEM, "layer: out of memory") : produce(s, a);
    if (a != NULL)
        archive_read_free(a);
    pthread_mutex_lock(&s->lock);
    s->done = true;
    s->failed = r < 0 && !s->stopped;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the consumer's side ------------------------------------------------ */

static void stream_free(struct unpack_stream *s)
{
    for (unsigned i = 0; i < RING_CHUNKS; i++)
        free(s->ring[i].data);
    free(s->readbuf);
    image_sha256_free(s->digest);
    image_sha256_free(s->diff_id);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int unpack_stream_start(const struct unpack_source *src, uint64_t max_bytes,
                        struct unpack_stream **out, v12n_error *err)
{
    struct unpack_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return v12n_fail(err, ENOMEM, "layer: out of memory");
    s->src = src;
    s->max_bytes = max_bytes;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    bool ok = (s->readbuf = malloc(READBUF_SIZE)) != NULL;
    for (unsigned i = 0; ok && i < RING_CHUNKS; i++)
        ok = (s->ring[i].data = malloc(CHUNK_SIZE)) != NULL;
    if (!ok) {
        stream_free(s);
        return v12n_fail(err, ENOMEM, "layer: out of memory");
    }
    if ((s->digest = image_sha256_new()) == NULL || (s->diff_id = image_sha256_new()) == NULL) {
        stream_free(s);
        return v12n_fail(err, ENOMEM, "layer: sha256: out of memory");
    }
    int r = pthread_create(&s->thread, NULL, producer_main, s);
    if (r != 0) {
        stream_free(s);
        return v12n_fail(err, r, "layer: start the decompression thread");
    }
    *out = s;
    return 0;
}

ssize_t unpack_stream_next(struct unpack_stream *s, const void **buf)
{
    pthread_mutex_lock(&s->lock);
    if (s->held) {
        s->held = false;
        s->head = (s->head + 1) % RING_CHUNKS;
        s->count--;
        pthread_cond_broadcast(&s->cond);
    }
    while (s->count == 0 && !s->done)
        pthread_cond_wait(&s->cond, &s->lock);
    ssize_t n;
    if (s->count > 0) {
        s->held = true;
        *buf = s->ring[s->head].data;
        n = (ssize_t)s->ring[s->head].len;
    } else {
        n = s->failed ? -1 : 0;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

void unpack_stream_cancel(struct unpack_stream *s)
{
    pthread_mutex_lock(&s->lock);
    __atomic_store_n(&s->cancelled, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

int unpack_stream_finish(struct unpack_stream *s, struct unpack_result *res, v12n_error *err)
{
    bool cancelled = __atomic_load_n(&s->cancelled, __ATOMIC_RELAXED);
    if (!cancelled) {
        const void *buf;
        while (unpack_stream_next(s, &buf) > 0)
            ;
    }
    pthread_join(s->thread, NULL);
    int r = 0;
    if (s->failed) {
        *err = s->err;
        r = -1;
    } else if (res != NULL && !cancelled) {
        image_sha256_final(s->digest, res->digest);
        image_sha256_final(s->diff_id, res->diff_id);
        res->compressed_bytes = s->compressed_bytes;
        res->tar_bytes = s->tar_bytes;
    }
    stream_free(s);
    return r;
}
