/* Platforms (os/arch[/variant]) and choosing one image out of an index or a
 * Docker manifest list.  Names are normalised as containerd does, so that
 * "linux/aarch64", "linux/arm64" and "linux/arm64/v8" are the same
 * platform: x86_64 -> amd64, aarch64 -> arm64 (variant v8 is arm64's
 * default and dropped), armhf -> arm/v7, armel -> arm/v6, arm alone ->
 * arm/v7, i386/i686 -> 386, amd64/v1 -> amd64. */
#ifndef V12N_IMAGE_PLATFORM_H
#define V12N_IMAGE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define IMAGE_PLATFORM_FIELD_MAX 63

struct image_platform {
    char os[IMAGE_PLATFORM_FIELD_MAX + 1];      /* "linux" */
    char arch[IMAGE_PLATFORM_FIELD_MAX + 1];    /* "amd64" */
    char variant[IMAGE_PLATFORM_FIELD_MAX + 1]; /* "v7", or "" */
};

struct image_manifest;
struct image_descriptor;

/* linux/amd64: what v12n pulls unless told otherwise. */
void image_platform_default(struct image_platform *p);

/* The machine this runs on (uname), normalised: what local images claim. */
void image_platform_host(struct image_platform *p);

/* "os/arch[/variant]" as given to --platform: lower-case letters, digits,
 * '_', '.', '-'; normalised. */
int image_platform_parse(const char *s, struct image_platform *out, v12n_error *err);

/* Normalise in place (aliases above). */
void image_platform_normalize(struct image_platform *p);

/* "linux/arm/v7" */
const char *image_platform_string(const struct image_platform *p, char *buf, size_t len);

/* Choose the image for want from an index: an entry for exactly that
 * platform first; then, when want names no variant, any variant of its
 * os/arch; for arm, an older variant it can run (v7 runs v6 and v5); and
 * last an entry that states no platform at all.  Entries that are not
 * images or indexes (attestations, artifacts) are never chosen.  No match
 * is an error that lists what the index offers:
 * `no image for linux/s390x (the index has linux/amd64, linux/arm64)`. */
int image_index_select(const struct image_manifest *index, const struct image_platform *want,
                       const struct image_descriptor **out, v12n_error *err);

#endif
