/* The image store: content-addressed blobs, unpacked layers and the image
 * index, under one root (default /var/lib/v12n).
 *
 *   <root>/blobs/sha256/<hex>        blobs (manifests, configs, layer tarballs)
 *   <root>/layers/<hex>/diff/        a layer unpacked in overlayfs form; <hex> is
 *                                    its diff_id (the tree depends on that alone,
 *                                    so images share it whatever the layer's place)
 *   <root>/layers/<hex>/info.json    {"diff_id", "size", "entries"}
 *   <root>/images.json               the image index
 *   <root>/pins/<hex>/<owner>        an empty file per pin of image <hex>
 *   <root>/tmp/                      blobs and layers being written
 *   <root>/store.lock                flock: writers of images.json
 *   <root>/gc.lock                   flock: shared by pulls (leases), exclusive by gc
 *
 * Crash safety: a blob or a layer is written under tmp/ (same filesystem),
 * verified (digest, diff_id), synced, then renamed to its final name with
 * RENAME_NOREPLACE; images.json is replaced by rename under store.lock and
 * only lists images whose config and layers are present.  So whenever a
 * process dies, every final name holds complete, verified content and every
 * listed image is usable.  Each temporary is flock'ed by its writer for its
 * whole life; store_open() and store_gc() remove the ones nobody holds
 * (a writer killed by SIGKILL drops its lock).  Two processes writing the
 * same blob or layer both finish; the second rename fails and that copy is
 * discarded.
 *
 * Garbage collection removes blobs and layers that no image in the index
 * references.  Between writing a blob and adding the image, a pull holds a
 * lease (taken by store_blob_begin() and store_layer_unpack(), dropped by
 * store_lease_release() or store_close()); gc skips its work while any lease
 * is held rather than collect a pull's parts.  A pull that skips what the
 * store already has takes store_lease() before asking store_blob_has() /
 * store_layer_has(), so that gc cannot remove it in between; and it calls
 * store_lease_release() after store_image_add() if the process lives on.
 * Layers under a container's rootfs stay as long as their image is in the
 * index: the engine keeps the image of a container (possibly with no name)
 * until the container goes.
 *
 * One struct store may be shared by threads writing different blobs and
 * layers (its lease is taken once, under a mutex).
 */
#ifndef V12N_IMAGE_STORE_H
#define V12N_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/unpack.h"
#include "util/error.h"

#define STORE_DEFAULT_ROOT "/var/lib/v12n"

enum store_flags {
    /* Skip fsync/syncfs: for tests and benchmarks.  A process crash is
     * still safe; a power loss may leave empty files in renamed layers. */
    STORE_NO_SYNC = 1u << 0,
};

struct store;

/* Create the layout if needed and remove abandoned temporaries. */
int store_open(const char *root, unsigned flags, struct store **out, v12n_error *err);
void store_close(struct store *s);
const char *store_root(const struct store *s);

/* ---- blobs ---------------------------------------------------------------- */

struct store_blob_writer;

int store_blob_begin(struct store *s, struct store_blob_writer **out, v12n_error *err);
int store_blob_write(struct store_blob_writer *w, const void *buf, size_t len, v12n_error *err);
uint64_t store_blob_written(const struct store_blob_writer *w);
/* Verify the content against expected ("sha256:<hex>"; NULL: store under
 * whatever digest it has), sync, and move it to blobs/.  The computed
 * digest goes to digest_out when not NULL.  w is freed, success or not; on
 * a mismatch nothing is stored. */
int store_blob_commit(struct store_blob_writer *w, const char *expected,
                      char digest_out[IMAGE_DIGEST_SIZE], v12n_error *err);
void store_blob_abort(struct store_blob_writer *w);

/* Whole small blobs (manifests, configs) in one call. */
int store_blob_put(struct store *s, const void *data, size_t len, const char *expected,
                   char digest_out[IMAGE_DIGEST_SIZE], v12n_error *err);
char *store_blob_read(struct store *s, const char *digest, size_t *len, v12n_error *err);

bool store_blob_has(struct store *s, const char *digest);
/* Read-only descriptor of a stored blob. */
int store_blob_open(struct store *s, const char *digest, v12n_error *err);

/* ---- layers --------------------------------------------------------------- */

bool store_layer_has(struct store *s, const char *diff_id);
/* <root>/layers/<hex>/diff: a lowerdir for overlayfs. */
int store_layer_path(struct store *s, const char *diff_id, char *buf, size_t len, v12n_error *err);
/* Bytes in the layer's regular files (from info.json). */
int store_layer_size(struct store *s, const char *diff_id, uint64_t *size, v12n_error *err);

/* Unpack a layer stream into layers/<diff_id hex>, verifying diff_id (and
 * the blob digest when opts->digest is set).  media_type may be NULL
 * (detected from the stream); opts gives the caps (NULL: defaults; its
 * diff_id is ignored).  Returns 1 when the layer was already in the store
 * (nothing read), 0 when unpacked, -1 on error with nothing left behind. */
int store_layer_unpack(struct store *s, const struct unpack_source *src, const char *media_type,
                       const char *diff_id, const struct unpack_opts *opts,
                       struct unpack_result *res, v12n_error *err);
/* Same, from a blob in the store. */
int store_layer_unpack_blob(struct store *s, const char *blob_digest, const char *media_type,
                            const char *diff_id, const struct unpack_opts *opts,
                            struct unpack_result *res, v12n_error *err);

/* ---- leases --------------------------------------------------------------- */

/* Keep gc away from unreferenced blobs and layers until released; waits for a
 * running gc.  Idempotent. */
int store_lease(struct store *s, v12n_error *err);
void store_lease_release(struct store *s);

/* ---- images ---------------------------------------------------------------- */

struct store_layer {
    char *digest;     /* blob digest (compressed), may be NULL */
    char *diff_id;    /* required */
    char *media_type; /* may be NULL */
    uint64_t size;    /* blob size */
};

struct store_image {
    char *id;       /* the config's digest: the image ID */
    char **names;   /* NULL-terminated, possibly empty (a dangling image) */
    char *manifest; /* digest of the manifest, may be NULL */
    char *index;    /* digest of the image index it was chosen from, may be NULL */
    struct store_layer *layers;
    size_t n_layers;
    char *created; /* from the config, RFC 3339, may be NULL */
    uint64_t size; /* unpacked bytes of all layers (computed on add) */
    char **pins;   /* owners keeping it (store_image_pin), NULL-terminated; read only */
};

void store_image_clear(struct store_image *img);
void store_images_free(struct store_image *imgs, size_t n);

/* Add an image, or update the one with the same id (names are merged).
 * Its config blob, manifest blob (if any) and every layer must be in the
 * store.  A name moves from any other image to this one. */
int store_image_add(struct store *s, const struct store_image *img, v12n_error *err);
/* Give the image that ref resolves to one more name. */
int store_image_tag(struct store *s, const char *ref, const char *name, v12n_error *err);
/* Remove a name; the image stays (dangling if that was its last name). */
int store_image_untag(struct store *s, const char *name, v12n_error *err);
/* Remove the image ref resolves to, all its names with it.  The blobs and
 * layers stay until store_gc(). */
int store_image_delete(struct store *s, const char *ref, v12n_error *err);

/* Pins: an owner (conventionally "container <id>") keeps an image while it
 * uses it.  A pinned image is never deleted: store_image_delete() fails with
 * EBUSY naming the owner (`image alpine: in use by container web`), names can
 * still be removed (it then stays, dangling, until the last unpin), and gc
 * keeps it as it keeps every listed image.  store_image_add() keeps the pins
 * of an image it updates.  Pinning twice is once; unpinning an owner that
 * holds no pin is not an error. */
int store_image_pin(struct store *s, const char *ref, const char *owner, v12n_error *err);
int store_image_unpin(struct store *s, const char *ref, const char *owner, v12n_error *err);
/* store_image_unpin by image id ("sha256:<hex>") without opening the store,
 * and without syncing (a pin a power loss brings back is stale: see
 * engine_pin_stale): one unlink for a pin file. */
int store_image_unpin_id(const char *root, const char *id, const char *owner, v12n_error *err);

int store_image_list(struct store *s, struct store_image **out, size_t *n, v12n_error *err);
/* ref: a name exactly as stored ("docker.io/library/alpine:latest"), an
 * image id or manifest digest ("sha256:<hex>"), or a unique prefix of the
 * id, with or without "sha256:".  Fails with ENOENT when nothing matches,
 * EINVAL when a prefix is ambiguous. */
int store_image_resolve(struct store *s, const char *ref, struct store_image *out, v12n_error *err);

struct store_gc_result {
    bool skipped; /* a lease was held: nothing collected */
    unsigned blobs, layers, temps;
    uint64_t bytes; /* blob bytes freed (layers are not measured) */
};

/* Remove blobs and layers no image references, and abandoned temporaries.
 * Skipped (not an error) while a lease is held, this handle's included. */
int store_gc(struct store *s, struct store_gc_result *res, v12n_error *err);

#endif
