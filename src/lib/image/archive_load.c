/* image_load(): docker-archive or oci-archive into the store (see archive.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/archive.h"
#include "image/manifest.h"
#include "image/platform.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "shim/shim.h"

#define READ_BLOCK  (256u << 10)
#define MEMBERS_MAX 100000
#define JSON_MAX    IMAGE_MANIFEST_MAX
#define IMAGES_MAX  1000

/* Every stored member: its path in the archive and what it became. */
struct member {
    char *path;
    char digest[IMAGE_DIGEST_SIZE];
    uint64_t size;
};

struct loader {
    struct store *s;
    struct archive *a;
    struct member *members;
    size_t n;
    char *docs[3]; /* manifest.json, index.json, oci-layout */
    size_t doc_len[3];
    image_loaded_fn loaded;
    void *arg;
};

static const char *const doc_names[] = {"manifest.json", "index.json", "oci-layout"};

static const char *clean_path(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    while (p[0] == '/')
        p++;
    return p;
}

static const struct member *find_member(const struct loader *l, const char *path)
{
    path = clean_path(path);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->members[i].path, path) == 0)
            return &l->members[i];
    }
    return NULL;
}

/* "blobs/sha256/<hex>": the digest its content must have. */
static bool expected_digest(const char *path, char out[IMAGE_DIGEST_SIZE])
{
    if (strncmp(path, "blobs/sha256/", 13) != 0)
        return false;
    snprintf(out, IMAGE_DIGEST_SIZE, "sha256:%.64s", path + 13);
    return strlen(path + 13) == IMAGE_DIGEST_HEX && image_digest_valid(out);
}

static int read_doc(struct loader *l, size_t which, const char *path, v12n_error *err)
{
    size_t cap = JSON_MAX, len = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "load: out of memory");
    for (;;) {
        la_ssize_t n = archive_read_data(l->a, buf + len, cap - len);
        if (n < 0) {
            free(buf);
            return v12n_fail(err, EINVAL, "load: %s: %s", path, archive_error_string(l->a));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            char probe;
            if (archive_read_data(l->a, &probe, 1) != 0) {
                free(buf);
                return v12n_fail(err, EFBIG, "load: %s: larger than %u bytes", path, JSON_MAX);
            }
            break;
        }
    }
    buf[len] = '\0';
    free(l->docs[which]);
    l->docs[which] = buf;
    l->doc_len[which] = len;
    return 0;
}

static int read_blob(struct loader *l, const char *path, v12n_error *err)
{
    if (l->n >= MEMBERS_MAX)
        return v12n_fail(err, E2BIG, "load: more than %d members", MEMBERS_MAX);
    char expected[IMAGE_DIGEST_SIZE];
    bool named = expected_digest(path, expected);
    struct store_blob_writer *w;
    auto_free char *buf = malloc(READ_BLOCK);
    if (buf == NULL || store_blob_begin(l->s, &w, err) < 0)
        return buf == NULL ? v12n_fail(err, ENOMEM, "load: out of memory") : -1;
    for (;;) {
        la_ssize_t n = archive_read_data(l->a, buf, READ_BLOCK);
        if (n == 0)
            break;
        if (n < 0 || store_blob_write(w, buf, (size_t)n, err) < 0) {
            if (n < 0)
                v12n_fail(err, EINVAL, "load: %s: %s", path, archive_error_string(l->a));
            store_blob_abort(w);
            return -1;
        }
    }
    struct member *m = &l->members[l->n];
    m->size = store_blob_written(w);
    if (store_blob_commit(w, named ? expected : NULL, m->digest, err) < 0)
        return v12n_error_wrap(err, "load: %s", path);
    if ((m->path = strdup(path)) == NULL)
        return v12n_fail(err, ENOMEM, "load: out of memory");
    l->n++;
    return 0;
}

static int read_members(struct loader *l, v12n_error *err)
{
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(l->a, &e)) == ARCHIVE_OK) {
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_pathname(e) == NULL)
            continue;
        const char *path = clean_path(archive_entry_pathname(e));
        size_t which = 0;
        while (which < 3 && strcmp(path, doc_names[which]) != 0)
            which++;
        int rr = which < 3 ? read_doc(l, which, path, err) : read_blob(l, path, err);
        if (rr < 0)
            return -1;
    }
    if (r != ARCHIVE_EOF)
        return v12n_fail(err, EINVAL, "load: %s", archive_error_string(l->a));
    return 0;
}

/* ---- images ------------------------------------------------------------------------ */

static json_t *parse_doc(const char *data, size_t len, const char *what, v12n_error *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (j == NULL)
        v12n_fail(err, EINVAL, "load: %s: %s", what, jerr.text);
    return j;
}

static int config_diff_ids(struct loader *l, const char *config, size_t n_layers, char ***out,
                           char created[40], v12n_error *err)
{
    size_t len;
    auto_free char *text = store_blob_read(l->s, config, &len, err);
    if (text == NULL)
        return -1;
    auto_json json_t *cfg = parse_doc(text, len, "config", err);
    json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    if (cfg == NULL)
        return -1;
    if (!json_is_array(ids) || json_array_size(ids) != n_layers)
        return v12n_fail(err, EINVAL, "load: config %s: rootfs.diff_ids does not match %zu layers",
                         config, n_layers);
    const char *when = json_string_value(json_object_get(cfg, "created"));
    if (when != NULL && strlen(when) < 40)
        snprintf(created, 40, "%s", when);
    if (v12n_json_string_array(ids, out, "config rootfs.diff_ids", err) < 0)
        return -1;
    for (size_t i = 0; i < n_layers; i++) {
        if (image_digest_check((*out)[i], err) < 0)
            return v12n_error_wrap(err, "load: config %s", config);
    }
    return 0;
}

/* Unpack the layers (blob digests in layers[i].digest), then list the image. */
static int add_image(struct loader *l, const char *config, const char *manifest,
                     struct store_layer *layers, size_t n, char **names, v12n_error *err)
{
    char **diff_ids = NULL;
    char created[40] = "";
    if (config_diff_ids(l, config, n, &diff_ids, created, err) < 0) {
        v12n_strv_free(diff_ids);
        return -1;
    }
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        layers[i].diff_id = diff_ids[i];
        if (layers[i].media_type == NULL && (layers[i].media_type = (char *)image_blob_layer_type(
                                                 l->s, layers[i].digest, err)) == NULL)
            r = -1;
        else if (store_layer_unpack_blob(l->s, layers[i].digest, layers[i].media_type, diff_ids[i],
                                         NULL, NULL, err) < 0)
            r = v12n_error_wrap(err, "load");
    }
    char made[IMAGE_DIGEST_SIZE];
    if (r == 0 && manifest == NULL) {
        const struct member *c = NULL;
        for (size_t i = 0; i < l->n && c == NULL; i++)
            c = strcmp(l->members[i].digest, config) == 0 ? &l->members[i] : NULL;
        r = image_put_manifest(l->s, config, c ? c->size : 0, layers, n, made, err);
        manifest = made;
    }
    struct store_image img = {.id = (char *)config,
                              .names = names,
                              .manifest = (char *)manifest,
                              .layers = layers,
                              .n_layers = n,
                              .created = created[0] ? created : NULL};
    if (r == 0)
        r = store_image_add(l->s, &img, err);
    for (size_t i = 0; r == 0 && l->loaded != NULL && (i == 0 || names[i] != NULL); i++) {
        l->loaded(l->arg, config, names[i]);
        if (names[i] == NULL)
            break;
    }
    v12n_strv_free(diff_ids);
    return r;
}

/* A name as the archive gives it, normalised; NULL when unusable. */
static char *normal_name(const char *s)
{
    struct image_ref r;
    v12n_error e = {0};
    char buf[IMAGE_REF_STRING_MAX];
    if (s == NULL || image_ref_parse(s, &r, &e) < 0)
        return NULL;
    return strdup(image_ref_string(&r, buf, sizeof buf));
}

static int docker_entry(struct loader *l, json_t *entry, v12n_error *err)
{
    const char *config_path = json_string_value(json_object_get(entry, "Config"));
    json_t *paths = json_object_get(entry, "Layers"), *tags = json_object_get(entry, "RepoTags");
    const struct member *config = config_path ? find_member(l, config_path) : NULL;
    if (config == NULL || !json_is_array(paths))
        return v12n_fail(err, EINVAL, "load: manifest.json: an entry without its config or layers");
    size_t n = json_array_size(paths);
    auto_free struct store_layer *layers = calloc(n + 1, sizeof *layers);
    char **names = calloc(json_array_size(tags) + 1, sizeof *names);
    if (layers == NULL || names == NULL) {
        free(names);
        return v12n_fail(err, ENOMEM, "load: out of memory");
    }
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *p = json_string_value(json_array_get(paths, i));
        const struct member *m = p ? find_member(l, p) : NULL;
        if (m == NULL)
            r = v12n_fail(err, EINVAL, "load: layer %s is not in the archive", p ? p : "?");
        else
            layers[i] = (struct store_layer){.digest = (char *)m->digest, .size = m->size};
    }
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(tags); i++) {
        char *nm = normal_name(json_string_value(json_array_get(tags, i)));
        if (nm != NULL)
            names[k++] = nm;
    }
    if (r == 0)
        r = add_image(l, config->digest, NULL, layers, n, names, err);
    v12n_strv_free(names);
    return r;
}

static int load_docker(struct loader *l, v12n_error *err)
{
    auto_json json_t *m = parse_doc(l->docs[0], l->doc_len[0], "manifest.json", err);
    if (m == NULL)
        return -1;
    if (!json_is_array(m) || json_array_size(m) > IMAGES_MAX)
        return v12n_fail(err, EINVAL, "load: manifest.json: not a list of images");
    size_t i;
    json_t *entry;
    json_array_foreach(m, i, entry)
    {
        if (docker_entry(l, entry, err) < 0)
            return -1;
    }
    return 0;
}

/* The image manifest a descriptor leads to (an index: the host's platform). */
static int oci_manifest(struct loader *l, const char *digest, struct image_manifest **out,
                        char chosen[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    snprintf(chosen, IMAGE_DIGEST_SIZE, "%s", digest);
    for (int depth = 0; depth < 2; depth++) {
        size_t len;
        auto_free char *text = store_blob_read(l->s, chosen, &len, err);
        if (text == NULL || image_manifest_parse(text, len, NULL, out, err) < 0)
            return v12n_error_wrap(err, "load: manifest %s", chosen);
        if ((*out)->kind == IMAGE_KIND_MANIFEST)
            return 0;
        struct image_platform host;
        const struct image_descriptor *d;
        image_platform_host(&host);
        int r = image_index_select(*out, &host, &d, err);
        if (r == 0)
            snprintf(chosen, IMAGE_DIGEST_SIZE, "%s", d->digest);
        image_manifest_free(*out);
        *out = NULL;
        if (r < 0)
            return v12n_error_wrap(err, "load");
    }
    return v12n_fail(err, EINVAL, "load: indexes nested too deep");
}

static char *oci_name(json_t *desc)
{
    json_t *ann = json_object_get(desc, "annotations");
    const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
    const char *ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    if (full != NULL)
        return normal_name(full);
    /* a bare tag ("v1") names no repository */
    if (ref != NULL && (strchr(ref, '/') != NULL || strchr(ref, ':') != NULL))
        return normal_name(ref);
    return NULL;
}

static int oci_entry(struct loader *l, json_t *desc, v12n_error *err)
{
    const char *digest = json_string_value(json_object_get(desc, "digest"));
    if (digest == NULL || !image_digest_valid(digest) || !store_blob_has(l->s, digest))
        return v12n_fail(err, EINVAL, "load: index.json: a manifest not in the archive");
    struct image_manifest *m = NULL;
    char chosen[IMAGE_DIGEST_SIZE];
    if (oci_manifest(l, digest, &m, chosen, err) < 0)
        return -1;
    auto_free struct store_layer *layers = calloc(m->n_layers + 1, sizeof *layers);
    int r = layers == NULL ? v12n_fail(err, ENOMEM, "load: out of memory") : 0;
    for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
        const struct image_descriptor *d = &m->layers[i];
        if (!store_blob_has(l->s, d->digest))
            r = v12n_fail(err, EINVAL, "load: layer %s is not in the archive", d->digest);
        layers[i] =
            (struct store_layer){.digest = (char *)d->digest,
                                 .media_type = d->media_type[0] ? (char *)d->media_type : NULL,
                                 .size = d->size};
    }
    char *names[2] = {oci_name(desc), NULL};
    if (r == 0 && !store_blob_has(l->s, m->config.digest))
        r = v12n_fail(err, EINVAL, "load: config %s is not in the archive", m->config.digest);
    if (r == 0)
        r = add_image(l, m->config.digest, chosen, layers, m->n_layers, names, err);
    free(names[0]);
    image_manifest_free(m);
    return r;
}

static int load_oci(struct loader *l, v12n_error *err)
{
    auto_json json_t *idx = parse_doc(l->docs[1], l->doc_len[1], "index.json", err);
    if (idx == NULL)
        return -1;
    json_t *ms = json_object_get(idx, "manifests");
    if (!json_is_array(ms) || json_array_size(ms) > IMAGES_MAX)
        return v12n_fail(err, EINVAL, "load: index.json: no manifests list");
    size_t i;
    json_t *d;
    json_array_foreach(ms, i, d)
    {
        if (oci_entry(l, d, err) < 0)
            return -1;
    }
    return 0;
}

static int load(struct loader *l, int fd, v12n_error *err)
{
    if (l->a == NULL)
        return v12n_fail(err, ENOMEM, "load: out of memory");
    if (archive_read_support_filter_all(l->a) != ARCHIVE_OK ||
        archive_read_support_format_tar(l->a) != ARCHIVE_OK ||
        archive_read_open_fd(l->a, fd, READ_BLOCK) != ARCHIVE_OK)
        return v12n_fail(err, EINVAL, "load: %s", archive_error_string(l->a));
    if (read_members(l, err) < 0)
        return -1;
    if (l->docs[0] != NULL)
        return load_docker(l, err);
    if (l->docs[1] != NULL && l->docs[2] != NULL)
        return load_oci(l, err);
    return v12n_fail(err, EINVAL,
                     "load: neither a docker-archive (manifest.json) nor an oci-archive "
                     "(oci-layout, index.json)");
}

int image_load(struct store *s, int fd, image_loaded_fn loaded, void *arg, v12n_error *err)
{
    /* libarchive is loaded on first use (src/lib/shim). */
    if (v12n_archive_load(err) < 0)
        return -1;
    struct loader l = {.s = s, .a = archive_read_new(), .loaded = loaded, .arg = arg};
    l.members = calloc(MEMBERS_MAX, sizeof *l.members);
    int r = l.members == NULL ? v12n_fail(err, ENOMEM, "load: out of memory") : 0;
    if (r == 0 && store_lease(s, err) < 0)
        r = -1;
    if (r == 0)
        r = load(&l, fd, err);
    store_lease_release(s);
    if (l.a != NULL)
        archive_read_free(l.a);
    for (size_t i = 0; i < l.n; i++)
        free(l.members[i].path);
    free(l.members);
    for (size_t i = 0; i < 3; i++)
        free(l.docs[i]);
    return r;
}
