#include "image/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

/* Copy a media type without its parameters ("; charset=utf-8") or spaces. */
static void media_type_base(const char *in, char *out, size_t size)
{
    size_t n = strcspn(in, "; \t");
    if (n >= size)
        n = size - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

enum image_manifest_kind image_media_type_kind(const char *media_type)
{
    char mt[IMAGE_MEDIA_TYPE_MAX + 1];
    if (media_type == NULL)
        return IMAGE_KIND_UNKNOWN;
    media_type_base(media_type, mt, sizeof mt);
    if (strcmp(mt, IMAGE_MT_OCI_INDEX) == 0 || strcmp(mt, IMAGE_MT_DOCKER_LIST) == 0)
        return IMAGE_KIND_INDEX;
    if (strcmp(mt, IMAGE_MT_OCI_MANIFEST) == 0 || strcmp(mt, IMAGE_MT_DOCKER_V2) == 0)
        return IMAGE_KIND_MANIFEST;
    return IMAGE_KIND_UNKNOWN;
}

static bool is_schema1(const char *mt)
{
    return strcmp(mt, IMAGE_MT_DOCKER_V1) == 0 || strcmp(mt, IMAGE_MT_DOCKER_V1_JWS) == 0;
}

/* A platform string from the index, or false when absent/unusable: such an
 * entry then never matches a platform by name. */
static bool copy_platform_field(json_t *platform, const char *key, char *out, bool required)
{
    json_t *v = json_object_get(platform, key);
    if (v == NULL || json_is_null(v))
        return !required;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) > IMAGE_PLATFORM_FIELD_MAX || (required && *s == '\0'))
        return false;
    strcpy(out, s);
    return true;
}

static int parse_platform(json_t *obj, struct image_descriptor *d, const char *where,
                          v12n_error *err)
{
    json_t *platform = NULL;
    if (v12n_json_get_object(obj, "platform", &platform, where, err) < 0)
        return -1;
    if (platform == NULL)
        return 0;
    /* an unusable platform stays empty: it matches nothing, and the entry
     * is not taken for one that names no platform either */
    d->has_platform = true;
    struct image_platform p = {0};
    if (copy_platform_field(platform, "os", p.os, true) &&
        copy_platform_field(platform, "architecture", p.arch, true) &&
        copy_platform_field(platform, "variant", p.variant, false)) {
        image_platform_normalize(&p);
        d->platform = p;
    }
    return 0;
}

static int parse_descriptor(json_t *obj, struct image_descriptor *d, bool with_platform,
                            const char *where, v12n_error *err)
{
    if (!json_is_object(obj))
        return v12n_fail(err, 0, "%s: expected an object", where);
    const char *mt = NULL, *digest = NULL;
    json_t *size = json_object_get(obj, "size");
    if (v12n_json_get_string(obj, "mediaType", &mt, where, err) < 0 ||
        v12n_json_get_string(obj, "digest", &digest, where, err) < 0)
        return -1;
    if (mt != NULL) {
        if (strlen(mt) > IMAGE_MEDIA_TYPE_MAX)
            return v12n_fail(err, 0, "%s.mediaType: longer than %d characters", where,
                             IMAGE_MEDIA_TYPE_MAX);
        strcpy(d->media_type, mt);
    }
    if (digest == NULL)
        return v12n_fail(err, 0, "%s.digest: missing", where);
    v12n_error derr = {0};
    if (image_digest_check(digest, &derr) < 0)
        return v12n_fail(err, 0, "%s.digest: %s", where, derr.msg);
    memcpy(d->digest, digest, IMAGE_DIGEST_SIZE);
    if (size == NULL)
        return v12n_fail(err, 0, "%s.size: missing", where);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return v12n_fail(err, 0, "%s.size: expected a non-negative integer", where);
    d->size = (uint64_t)json_integer_value(size);
    return with_platform ? parse_platform(obj, d, where, err) : 0;
}

static int parse_descriptor_array(json_t *root, const char *key, bool with_platform,
                                  struct image_descriptor **out, size_t *n, const char *doc,
                                  v12n_error *err)
{
    json_t *arr = NULL;
    if (v12n_json_get_array(root, key, &arr, doc, err) < 0)
        return -1;
    if (arr == NULL)
        return v12n_fail(err, 0, "%s.%s: missing", doc, key);
    size_t count = json_array_size(arr);
    *out = calloc(count ? count : 1, sizeof **out);
    if (*out == NULL)
        return v12n_fail(err, 0, "%s.%s", doc, key);
    *n = count;
    for (size_t i = 0; i < count; i++) {
        char where[64];
        snprintf(where, sizeof where, "%s.%s[%zu]", doc, key, i);
        if (parse_descriptor(json_array_get(arr, i), &(*out)[i], with_platform, where, err) < 0)
            return -1;
    }
    return 0;
}

/* The kind from the document's mediaType, the Content-Type, or the shape. */
static int decide_kind(json_t *root, const char *content_type, struct image_manifest *m,
                       v12n_error *err)
{
    const char *mt = NULL;
    if (v12n_json_get_string(root, "mediaType", &mt, "manifest", err) < 0)
        return -1;
    if (mt == NULL && content_type != NULL && image_media_type_kind(content_type) != 0)
        mt = content_type;
    if (mt != NULL) {
        media_type_base(mt, m->media_type, sizeof m->media_type);
        if (is_schema1(m->media_type))
            return v12n_fail(err, 0, "manifest: Docker schema 1 is not supported");
        m->kind = image_media_type_kind(m->media_type);
        if (m->kind == IMAGE_KIND_UNKNOWN)
            return v12n_fail(err, 0, "manifest: unsupported media type \"%.*s\"", 128,
                             m->media_type);
        return 0;
    }
    bool has_manifests = json_object_get(root, "manifests") != NULL;
    bool has_image = json_object_get(root, "config") || json_object_get(root, "layers");
    if (has_manifests == has_image)
        return v12n_fail(err, 0, "manifest: neither an image manifest nor an index");
    m->kind = has_manifests ? IMAGE_KIND_INDEX : IMAGE_KIND_MANIFEST;
    strcpy(m->media_type, has_manifests ? IMAGE_MT_OCI_INDEX : IMAGE_MT_OCI_MANIFEST);
    return 0;
}

static int check_schema_version(json_t *root, v12n_error *err)
{
    json_t *v = json_object_get(root, "schemaVersion");
    if (json_is_integer(v) && json_integer_value(v) == 1)
        return v12n_fail(err, 0, "manifest: Docker schema 1 is not supported");
    if (!json_is_integer(v) || json_integer_value(v) != 2)
        return v12n_fail(err, 0, "manifest: schemaVersion: expected 2");
    return 0;
}

static int parse_root(json_t *root, const char *content_type, struct image_manifest *m,
                      v12n_error *err)
{
    if (!json_is_object(root))
        return v12n_fail(err, 0, "manifest: expected a JSON object");
    if (check_schema_version(root, err) < 0 || decide_kind(root, content_type, m, err) < 0)
        return -1;
    if (m->kind == IMAGE_KIND_INDEX)
        return parse_descriptor_array(root, "manifests", true, &m->manifests, &m->n_manifests,
                                      "index", err);
    json_t *config = json_object_get(root, "config");
    if (config == NULL)
        return v12n_fail(err, 0, "manifest.config: missing");
    if (parse_descriptor(config, &m->config, false, "manifest.config", err) < 0)
        return -1;
    return parse_descriptor_array(root, "layers", false, &m->layers, &m->n_layers, "manifest", err);
}

int image_manifest_parse(const void *data, size_t len, const char *content_type,
                         struct image_manifest **out, v12n_error *err)
{
    *out = NULL;
    if (len > IMAGE_MANIFEST_MAX)
        return v12n_fail(err, 0, "manifest: larger than %u MiB", IMAGE_MANIFEST_MAX >> 20);
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return v12n_fail(err, 0, "manifest: invalid JSON at line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
    struct image_manifest *m = calloc(1, sizeof *m);
    if (m == NULL) {
        json_decref(root);
        return v12n_fail(err, 0, "manifest");
    }
    int r = parse_root(root, content_type, m, err);
    json_decref(root);
    if (r < 0) {
        image_manifest_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void image_manifest_free(struct image_manifest *m)
{
    if (m == NULL)
        return;
    free(m->layers);
    free(m->manifests);
    free(m);
}
