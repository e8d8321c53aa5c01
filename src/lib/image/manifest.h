/* Image manifests and indexes as a registry serves them: OCI image index,
 * OCI image manifest, Docker manifest list, Docker image manifest (schema
 * 2).  Docker schema 1 is refused.  The parser checks the structure and
 * every digest; what the layers contain is the store's business. */
#ifndef V12N_IMAGE_MANIFEST_H
#define V12N_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/platform.h"
#include "util/error.h"

#define IMAGE_MT_OCI_INDEX      "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_OCI_MANIFEST   "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_DOCKER_LIST    "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGE_MT_DOCKER_V2      "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MT_DOCKER_V1      "application/vnd.docker.distribution.manifest.v1+json"
#define IMAGE_MT_DOCKER_V1_JWS  "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define IMAGE_MT_OCI_CONFIG     "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_DOCKER_CONFIG  "application/vnd.docker.container.image.v1+json"
#define IMAGE_MT_OCI_LAYER      "application/vnd.oci.image.layer.v1.tar"
#define IMAGE_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMAGE_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMAGE_MT_DOCKER_LAYER   "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The Accept header a client sends for a manifest. */
#define IMAGE_ACCEPT_OCI      IMAGE_MT_OCI_INDEX ", " IMAGE_MT_OCI_MANIFEST
#define IMAGE_ACCEPT_DOCKER   IMAGE_MT_DOCKER_LIST ", " IMAGE_MT_DOCKER_V2
#define IMAGE_MANIFEST_ACCEPT IMAGE_ACCEPT_OCI ", " IMAGE_ACCEPT_DOCKER

/* Manifests larger than this are refused (the limit Docker's registry and
 * containerd apply). */
#define IMAGE_MANIFEST_MAX   (4u << 20)
#define IMAGE_MEDIA_TYPE_MAX 255

enum image_manifest_kind {
    IMAGE_KIND_UNKNOWN = 0,
    IMAGE_KIND_INDEX,    /* OCI index or Docker manifest list */
    IMAGE_KIND_MANIFEST, /* OCI manifest or Docker schema 2 */
};

struct image_descriptor {
    char media_type[IMAGE_MEDIA_TYPE_MAX + 1]; /* "" when the document omits it */
    char digest[IMAGE_DIGEST_SIZE];
    uint64_t size;
    /* index entries: the platform, normalised; has_platform false when the
     * entry names none; all fields "" when it names an unusable one */
    bool has_platform;
    struct image_platform platform;
};

struct image_manifest {
    enum image_manifest_kind kind;
    char media_type[IMAGE_MEDIA_TYPE_MAX + 1]; /* the document's, or the HTTP Content-Type's */
    /* kind == IMAGE_KIND_MANIFEST */
    struct image_descriptor config;
    struct image_descriptor *layers;
    size_t n_layers;
    /* kind == IMAGE_KIND_INDEX */
    struct image_descriptor *manifests;
    size_t n_manifests;
};

/* What kind of document a media type names (parameters after ';' ignored). */
enum image_manifest_kind image_media_type_kind(const char *media_type);

/* Parse a manifest or index.  content_type is the HTTP Content-Type (may be
 * NULL): it decides the kind only when the document has no mediaType; with
 * neither, the shape does ("manifests" vs "config"/"layers").  Errors say
 * what is wrong: `manifest: layers[2].digest: ...`. */
int image_manifest_parse(const void *data, size_t len, const char *content_type,
                         struct image_manifest **out, v12n_error *err);
void image_manifest_free(struct image_manifest *m);

#endif
