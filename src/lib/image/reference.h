/* Image references as Docker writes them, normalised the way Docker does:
 *
 *   alpine                          docker.io/library/alpine:latest
 *   user/app                        docker.io/user/app:latest
 *   localhost:5000/x                localhost:5000/x:latest
 *   127.0.0.1:5000/x:tag            127.0.0.1:5000/x:tag
 *   reg.example/ns/x@sha256:<hex>   reg.example/ns/x@sha256:<hex>   (no tag added)
 *
 * The first path component names a registry when it holds a '.' or a ':',
 * is "localhost", or has an upper-case letter; otherwise the image lives on
 * Docker Hub.  Repository paths are lower case ([a-z0-9] runs joined by '.',
 * '_', '__' or '-'s), a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, a digest
 * is sha256:<64 lowercase hex>, and domain + '/' + path is at most 255
 * characters. */
#ifndef V12N_IMAGE_REFERENCE_H
#define V12N_IMAGE_REFERENCE_H

#include <stddef.h>

#include "image/digest.h"
#include "util/error.h"

#define IMAGE_REF_NAME_MAX 255
#define IMAGE_REF_TAG_MAX  128
#define IMAGE_DOCKER_HUB   "docker.io"

struct image_ref {
    char domain[IMAGE_REF_NAME_MAX + 1]; /* "docker.io", "localhost:5000", "[::1]:5000" */
    char path[IMAGE_REF_NAME_MAX + 1];   /* "library/alpine" */
    char tag[IMAGE_REF_TAG_MAX + 1];     /* "latest"; "" when only a digest was given */
    char digest[IMAGE_DIGEST_SIZE];      /* "sha256:<hex>" or "" */
};

/* Parse and normalise s.  A malformed reference fails with one error that
 * names it and what is wrong: `invalid reference "Alpine": repository name
 * must be lowercase`. */
int image_ref_parse(const char *s, struct image_ref *out, v12n_error *err);

/* The canonical form, "domain/path[:tag][@digest]", into buf (truncated to
 * len; a buffer of IMAGE_REF_STRING_MAX never truncates). */
#define IMAGE_REF_STRING_MAX (IMAGE_REF_NAME_MAX + 1 + IMAGE_REF_TAG_MAX + 1 + IMAGE_DIGEST_SIZE)
const char *image_ref_string(const struct image_ref *r, char *buf, size_t len);

/* The short form Docker prints: "alpine:latest", "user/app:1",
 * "localhost:5000/x:latest" (docker.io and library/ dropped). */
const char *image_ref_familiar(const struct image_ref *r, char *buf, size_t len);

/* "domain/path", the repository without tag or digest. */
const char *image_ref_repository(const struct image_ref *r, char *buf, size_t len);

/* The host:port the registry API is reached at: registry-1.docker.io for
 * docker.io, the domain itself otherwise. */
const char *image_ref_api_host(const struct image_ref *r);

/* What goes into /v2/<path>/manifests/<ref>: the digest when there is one
 * (a pinned pull), else the tag. */
const char *image_ref_manifest_ref(const struct image_ref *r);

#endif
