/* Internals of the image store and the layer unpacker (store.c, unpack.c,
 * unpack_stream.c, whiteout.c); nothing outside src/lib/image includes this. */
#ifndef V12N_IMAGE_UNPACK_INTERNAL_H
#define V12N_IMAGE_UNPACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/digest.h"
#include "image/unpack.h"
#include "util/error.h"

/* The decompressing half of the pipeline (unpack_stream.c). */
struct unpack_stream;

int unpack_stream_start(const struct unpack_source *src, uint64_t max_bytes,
                        struct unpack_stream **out, v12n_error *err);
/* Next chunk of the uncompressed stream for the tar reader: its length, 0 at
 * the end, -1 when the producer failed.  The previous chunk is released. */
ssize_t unpack_stream_next(struct unpack_stream *s, const void **buf);
/* Stop the producer early (the tar side failed). */
void unpack_stream_cancel(struct unpack_stream *s);
/* Unless cancelled, read the rest of the stream (so the hashes cover all of
 * it) and fill the sizes and digests of res.  Joins the helper thread; -1
 * with the producer's error if it failed for a reason of its own (a bad
 * gzip, the cap, the source), which the tar side should report in
 * preference to its own "read error".  Frees s. */
int unpack_stream_finish(struct unpack_stream *s, struct unpack_result *res, v12n_error *err);

/* Tests: take the O_NOFOLLOW walk that kernels without openat2 (< 5.6, or
 * a seccomp filter that refuses it) get. */
void unpack_test_force_walk(bool force);

/* Whiteouts (whiteout.c). */
enum whiteout_kind {
    WHITEOUT_NONE,   /* an ordinary name */
    WHITEOUT_FILE,   /* .wh.NAME: NAME is deleted */
    WHITEOUT_OPAQUE, /* .wh..wh..opq: the directory hides the lower ones */
    WHITEOUT_META,   /* other .wh..wh.* (aufs bookkeeping): ignored */
};

#define WHITEOUT_PREFIX      ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
enum whiteout_kind whiteout_classify(const char *base);
/* Apply a whiteout entry found at <entry> (for messages), whose parent
 * directory is parentfd and whose last component is base. */
int whiteout_apply(int parentfd, const char *entry, const char *base, enum whiteout_kind kind,
                   v12n_error *err);

#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

#endif
