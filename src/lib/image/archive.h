/* Images in and out of tarballs: `save` / `load` (docker-archive and
 * oci-archive) and `import` (a root filesystem tarball becomes an image).
 *
 * docker-archive, as Docker 25 writes it (and older loaders read):
 *   manifest.json   [{"Config": "blobs/sha256/<c>", "RepoTags": ["alpine:latest"],
 *                     "Layers": ["blobs/sha256/<diff_id hex>", ...]}]
 *   repositories    {"alpine": {"latest": "<top layer hex>"}}
 *   blobs/sha256/   the config and every layer as an uncompressed tar (so
 *                   each layer's digest is its diff_id)
 * oci-archive: an OCI image layout (oci-layout, index.json, blobs/sha256/)
 *   with the manifest, config and layer blobs exactly as stored; index.json
 *   names each image with io.containerd.image.name (the full name) and
 *   org.opencontainers.image.ref.name (its tag).
 *
 * Loading reads either (detected: manifest.json means docker-archive, else
 * oci-layout + index.json), also the older docker-archive with
 * "<id>/layer.tar" and "<id>.json" members.  The archive is hostile: every
 * member goes into the store through a blob writer (members under
 * blobs/sha256/ must hash to their name), JSON members are capped at 4 MiB,
 * layers are unpacked with the usual checks and verified against the
 * config's diff_ids, and member paths are only ever used as keys, never as
 * file names.  Images loaded from a docker-archive get an OCI manifest made
 * here. */
#ifndef V12N_IMAGE_ARCHIVE_H
#define V12N_IMAGE_ARCHIVE_H

#include <stddef.h>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

enum image_archive_format {
    IMAGE_ARCHIVE_DOCKER,
    IMAGE_ARCHIVE_OCI,
};

/* Write the images refs name (store names or ids, as store_image_resolve()
 * takes them) to fd as a tar. */
int image_save(struct store *s, char *const *refs, size_t n, enum image_archive_format format,
               int fd, v12n_error *err);

/* Called once per image loaded: its id and name (NULL when it has none). */
typedef void (*image_loaded_fn)(void *arg, const char *id, const char *name);

/* Read a docker-archive or oci-archive from fd (plain or compressed). */
int image_load(struct store *s, int fd, image_loaded_fn loaded, void *arg, v12n_error *err);

/* A root filesystem tarball (plain, gzip or zstd) from fd becomes a
 * single-layer image named name (NULL: none); its id goes to id. */
int image_import(struct store *s, int fd, const char *name, const char *comment,
                 char id[IMAGE_DIGEST_SIZE], v12n_error *err);

/* ---- shared by the three (archive_blob.c) ---- */

/* The layer media type of a stored blob, from its first bytes. */
const char *image_blob_layer_type(struct store *s, const char *digest, v12n_error *err);

/* Decompress a stored layer blob: its diff_id and uncompressed size, the
 * bytes written to out_fd when it is not -1. */
int image_blob_uncompress(struct store *s, const char *digest, int out_fd,
                          char diff_id[IMAGE_DIGEST_SIZE], uint64_t *size, v12n_error *err);

/* Store an OCI manifest for a config and its layers (blob digests, media
 * types, sizes); its digest goes to digest. */
int image_put_manifest(struct store *s, const char *config, uint64_t config_size,
                       const struct store_layer *layers, size_t n, char digest[IMAGE_DIGEST_SIZE],
                       v12n_error *err);

/* Records a one-layer image whose layer and config blobs are already in the store: writes its
 * OCI manifest and adds the image to the index under NAME. ID receives the image id (the
 * config digest). Used by `import` and the built-in busybox image. */
int image_add_one_layer(struct store *s, const char *name, const char *config, uint64_t config_size,
                        const struct store_layer *layer, const char *created,
                        char id[IMAGE_DIGEST_SIZE], v12n_error *err);

#endif
