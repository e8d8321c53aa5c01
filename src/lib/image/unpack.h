/* Layer unpacking: a layer tarball from any registry (hostile input) into a
 * directory, in overlayfs form.
 *
 * The stream runs through two threads so that decompression overlaps with
 * the writes (as `tar -xzf` overlaps with its gzip child):
 *
 *   source ──► [helper thread] libarchive "raw" reader, gzip/zstd/none filter
 *              hashes what it reads (digest) and what it decompresses (diff_id)
 *              └─► bounded ring of 1 MiB chunks
 *                    └─► [caller's thread] libarchive tar reader over the ring
 *                          └─► entries written below the directory fd
 *
 * diff_id is therefore the sha256 of exactly the bytes the tar parser saw,
 * including any padding after the end-of-archive blocks (the ring is drained
 * to the end of the stream).  It is the integrity check that matters:
 * libarchive 3.6 refuses a truncated or malformed gzip/zstd stream but does
 * not verify gzip's CRC.  Compression is detected from the stream; bzip2, xz,
 * lz4 and friends are refused by name ("unsupported compression xz").  An
 * empty stream is an empty layer.
 *
 * Entries are written with our own fd-based writer, not archive_write_disk:
 * that writer resolves paths from the process's working directory (a chdir in
 * a library that pulls layers in parallel threads is not an option) and its
 * checks are lexical.  Here every path is first checked lexically (no `..`, not
 * absolute, no `.wh.` parent), then its parent is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV) from the layer's directory fd, and the last component is
 * created with O_EXCL / O_NOFOLLOW / *at() calls relative to that parent: the
 * kernel refuses any walk that would leave the layer or pass through a
 * symlink, so no entry can write outside the directory whatever the order of
 * entries.  (Without openat2 -- kernels before 5.6 -- the parent is walked
 * one component at a time with O_NOFOLLOW.)  Hard links are resolved the
 * same way on both sides.  An existing name is replaced (a directory only by
 * a non-directory); directory mtimes are set last.
 *
 * Conversions to overlayfs form:
 *   DIR/.wh.NAME       -> DIR/NAME as a 0:0 character device (no regular file
 *                         named .wh.* is ever created); skipped when NAME was
 *                         already written by this layer (a whiteout only hides
 *                         lower layers)
 *   DIR/.wh..wh..opq   -> xattr trusted.overlay.opaque=y on DIR
 *   other .wh..wh.*    -> ignored, with anything below it (aufs bookkeeping)
 *   a/.wh.x/b          -> refused
 * xattrs kept: user.*, trusted.* and security.capability, except the
 * overlay's own (trusted.overlay.*, user.overlay.*), which a layer must not
 * forge.  Ownership (numeric ids) and device nodes need root.
 */
#ifndef V12N_IMAGE_UNPACK_H
#define V12N_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/digest.h"
#include "util/error.h"

#define UNPACK_DEFAULT_MAX_BYTES   (16ULL << 30) /* per layer, uncompressed */
#define UNPACK_DEFAULT_MAX_ENTRIES 4000000ULL

/* Where the layer's bytes come from.  read() fills buf with up to len bytes
 * and returns how many, 0 at the end, -1 with err set.  It is called from the
 * helper thread, never concurrently with itself. */
struct unpack_source {
    ssize_t (*read)(void *ctx, void *buf, size_t len, v12n_error *err);
    void *ctx;
};

struct unpack_opts {
    uint64_t max_bytes;   /* cap on the uncompressed stream and on file sizes; 0: default */
    uint64_t max_entries; /* cap on tar entries; 0: default */
    const char *diff_id;  /* expected sha256 of the uncompressed tar; NULL: not checked */
    const char *digest;   /* expected sha256 of the bytes read (the blob); NULL: not checked */
};

struct unpack_result {
    char diff_id[IMAGE_DIGEST_SIZE]; /* computed */
    char digest[IMAGE_DIGEST_SIZE];  /* computed over the source bytes */
    uint64_t compressed_bytes;       /* bytes read from the source */
    uint64_t tar_bytes;              /* uncompressed stream length */
    uint64_t file_bytes;             /* sum of regular files' sizes */
    uint64_t entries;
};

/* Unpack the stream into the (empty) directory dirfd.  On failure the
 * directory holds a partial tree: the caller unpacks into a temporary
 * directory and discards it (the store does).  A digest or diff_id mismatch
 * is reported after the whole stream was read and written. */
int unpack_layer(int dirfd, const struct unpack_source *src, const struct unpack_opts *opts,
                 struct unpack_result *res, v12n_error *err);

/* A source that reads *fd to its end (fd must outlive the source). */
void unpack_source_fd(struct unpack_source *src, int *fd);

/* unpack_layer() from a file descriptor. */
int unpack_layer_fd(int dirfd, int fd, const struct unpack_opts *opts, struct unpack_result *res,
                    v12n_error *err);

/* Is this a layer media type we can unpack (OCI/Docker tar, tar+gzip,
 * tar+zstd)?  The stream's compression is detected from its magic bytes
 * anyway; this refuses the media types we know nothing about. */
int unpack_media_type_check(const char *media_type, v12n_error *err);

/* Remove dirfd/name and everything below it, never following symlinks and
 * holding at most two descriptors, so trees deeper than PATH_MAX (a
 * malicious layer's) go as well.  A missing name is not an error. */
int unpack_remove_tree(int dirfd, const char *name, v12n_error *err);

#endif
