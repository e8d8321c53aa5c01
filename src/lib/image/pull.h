/* Pulling an image into the store, and the engine's one call to get an
 * image: image_ensure() (the local image when the store has it, else a pull).
 *
 *   resolve ref (index -> the platform's manifest)
 *   -> store the index and manifest blobs, fetch and store the config
 *   -> layers already unpacked in the store are skipped; the others are
 *      downloaded into the store's blobs in parallel (a blob the store has is
 *      not fetched again), then unpacked one by one, diff_id verified
 *   -> store_image_add() under the reference's canonical name
 *
 * A store lease is held from before the first "does the store have it?" to
 * after the image is listed, so a concurrent gc cannot take a part away; a
 * pull killed at any point leaves complete blobs and layers that the next pull
 * reuses (and gc collects), never a listed half image.
 *
 * The built-in busybox (see builtin.h): when opts->builtin_fallback is set
 * and a pull of docker.io/library/busybox (tag latest) fails because the
 * registry cannot be reached (name resolution, connection refused, timeout:
 * never for a 401, 403 or 404), the image is built locally from the host's
 * busybox-static instead, and result->builtin says so. */
#ifndef V12N_IMAGE_PULL_H
#define V12N_IMAGE_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/platform.h"
#include "image/reference.h"
#include "image/registry.h"
#include "image/store.h"
#include "util/error.h"

struct image_pull_opts {
    /* Transport and credentials (credentials may be NULL: anonymous). */
    struct registry_opts registry;
    /* NULL: linux/amd64. */
    const struct image_platform *platform;
    /* See above: busybox falls back to the built-in image when offline. */
    bool builtin_fallback;
};

/* What a pull reports, in order, per layer (id: the blob digest). */
enum image_pull_event_kind {
    IMAGE_PULL_RESOLVED,       /* manifest known: ref, manifest digest, n_layers */
    IMAGE_PULL_LAYER_WAITING,  /* the layer must be fetched */
    IMAGE_PULL_LAYER_EXISTS,   /* already unpacked in the store: nothing to do */
    IMAGE_PULL_LAYER_DOWNLOAD, /* bytes arriving: done / total */
    IMAGE_PULL_LAYER_FETCHED,  /* the blob is complete and verified */
    IMAGE_PULL_LAYER_EXTRACT,  /* unpacking starts */
    IMAGE_PULL_LAYER_DONE,     /* unpacked and verified */
};

struct image_pull_event {
    enum image_pull_event_kind kind;
    const char *ref;      /* canonical reference being pulled */
    const char *digest;   /* the layer's blob digest (the manifest's for RESOLVED) */
    size_t index;         /* the layer's position in the manifest */
    size_t n_layers;      /* layers in the image */
    uint64_t done, total; /* bytes (DOWNLOAD), total also on the other layer events */
};

/* Called from the calling thread only. */
typedef void (*image_pull_progress_fn)(void *arg, const struct image_pull_event *ev);

struct image_pull_result {
    char id[IMAGE_DIGEST_SIZE];       /* image id (config digest) */
    char manifest[IMAGE_DIGEST_SIZE]; /* manifest digest ("" for a built-in image) */
    char name[IMAGE_REF_STRING_MAX];  /* the canonical name it is listed under */
    bool pulled;                      /* false: image_ensure() found it in the store */
    bool up_to_date;                  /* the store already had this image under this name */
    bool builtin;                     /* built locally instead of pulled (offline busybox) */
    v12n_error fallback_reason;       /* why the pull failed, when builtin */
};

/* Pull ref ("alpine", "127.0.0.1:5000/x:1", "x@sha256:..") into the store. */
int image_pull(struct store *s, const char *ref, const struct image_pull_opts *opts,
               image_pull_progress_fn progress, void *arg, struct image_pull_result *out,
               v12n_error *err);

/* The image ref names in the store (by name as normalised, id or id prefix):
 * 0 and *out, or -1 with errnum ENOENT when the store has no such image (or
 * another error: a bad ref, the store).  Needs neither libcurl nor libarchive. */
int image_find_local(struct store *s, const char *ref, struct image_pull_result *out,
                     v12n_error *err);

/* The image ref names in the store (image_find_local); pulled when absent.  This is what `run`
 * calls. */
int image_ensure(struct store *s, const char *ref, const struct image_pull_opts *opts,
                 image_pull_progress_fn progress, void *arg, struct image_pull_result *out,
                 v12n_error *err);

/* Is this a failure to reach a registry at all (rather than its answer)? */
bool image_pull_error_is_network(const v12n_error *err);

#endif
