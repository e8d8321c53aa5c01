/* image_pull() and image_ensure(): see pull.h. */
#include "image/pull.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/builtin.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/json.h"

/* A pull's state, shared by its steps. */
struct pull {
    struct store *s;
    struct registry_client *c;
    struct image_ref ref;
    char name[IMAGE_REF_STRING_MAX];
    struct registry_image img;
    const struct image_manifest *m;
    char **diff_ids; /* from the config, one per layer */
    char *created;
    image_pull_progress_fn progress;
    void *arg;
};

static void emit(struct pull *p, enum image_pull_event_kind kind, size_t i, uint64_t done)
{
    if (p->progress == NULL)
        return;
    const struct image_descriptor *d = kind == IMAGE_PULL_RESOLVED ? NULL : &p->m->layers[i];
    struct image_pull_event ev = {
        .kind = kind,
        .ref = p->name,
        .digest = d != NULL ? d->digest : p->img.manifest.digest,
        .index = i,
        .n_layers = p->m->n_layers,
        .done = done,
        .total = d != NULL ? d->size : 0,
    };
    p->progress(p->arg, &ev);
}

/* ---- the config ------------------------------------------------------------- */

static int parse_config(struct pull *p, const char *data, size_t len, v12n_error *err)
{
    json_error_t jerr;
    auto_json json_t *cfg = json_loadb(data, len, 0, &jerr);
    if (!json_is_object(cfg))
        return v12n_fail(err, EINVAL, "config %s: not a JSON object (%s)", p->m->config.digest,
                         cfg == NULL ? jerr.text : "wrong type");
    json_t *rootfs = NULL, *ids = NULL;
    const char *created = NULL;
    if (v12n_json_get_object(cfg, "rootfs", &rootfs, "config", err) < 0 ||
        (rootfs != NULL &&
         v12n_json_get_array(rootfs, "diff_ids", &ids, "config.rootfs", err) < 0) ||
        v12n_json_get_string(cfg, "created", &created, "config", err) < 0)
        return -1;
    if (ids == NULL)
        return v12n_fail(err, EINVAL, "config %s: no rootfs.diff_ids", p->m->config.digest);
    if (json_array_size(ids) != p->m->n_layers)
        return v12n_fail(err, EINVAL, "config %s: %zu diff_ids for %zu layers", p->m->config.digest,
                         json_array_size(ids), p->m->n_layers);
    if (v12n_json_string_array(ids, &p->diff_ids, "config.rootfs.diff_ids", err) < 0)
        return -1;
    for (size_t i = 0; p->diff_ids[i] != NULL; i++) {
        if (image_digest_check(p->diff_ids[i], err) < 0)
            return v12n_error_wrap(err, "config rootfs.diff_ids[%zu]", i);
    }
    if (created != NULL && strlen(created) < 64 && (p->created = strdup(created)) == NULL)
        return v12n_fail(err, ENOMEM, "config: out of memory");
    return 0;
}

/* ---- blobs into the store ---------------------------------------------------- */

/* The registry writes a blob through this; a retry that restarts the blob
 * starts a new temporary. */
struct blob_sink {
    struct store *s;
    struct store_blob_writer *w;
};

static int sink_write(void *arg, const void *buf, size_t len, v12n_error *err)
{
    struct blob_sink *k = arg;
    return store_blob_write(k->w, buf, len, err);
}

static int sink_rewind(void *arg, v12n_error *err)
{
    struct blob_sink *k = arg;
    store_blob_abort(k->w);
    k->w = NULL;
    return store_blob_begin(k->s, &k->w, err);
}

static int sink_open(struct store *s, const struct image_descriptor *d, struct blob_sink *k,
                     struct registry_blob *b, v12n_error *err)
{
    k->s = s;
    if (store_blob_begin(s, &k->w, err) < 0)
        return -1;
    memset(b, 0, sizeof *b);
    memcpy(b->digest, d->digest, sizeof b->digest);
    b->size = d->size;
    b->fd = -1;
    b->write = sink_write;
    b->rewind = sink_rewind;
    b->arg = k;
    return 0;
}

/* Keep a verified download (the store checks the digest again), or drop it. */
static int sink_close(struct blob_sink *k, const struct registry_blob *b, v12n_error *err)
{
    struct store_blob_writer *w = k->w;
    k->w = NULL;
    if (w == NULL)
        return 0;
    if (b->status != 0) {
        store_blob_abort(w);
        return 0;
    }
    return store_blob_commit(w, b->digest, NULL, err);
}

/* ---- the config ----------------------------------------------------------- */

/* The config is small: fetched whole (unless stored), kept, and parsed. */
static int fetch_config(struct pull *p, v12n_error *err)
{
    const struct image_descriptor *d = &p->m->config;
    if (d->size > IMAGE_MANIFEST_MAX)
        return v12n_fail(err, EFBIG, "config %s: %" PRIu64 " bytes is too large", d->digest,
                         d->size);
    if (!store_blob_has(p->s, d->digest)) {
        struct blob_sink k = {0};
        struct registry_blob b;
        if (sink_open(p->s, d, &k, &b, err) < 0)
            return -1;
        int r = registry_fetch_blob(p->c, &p->ref, &b, NULL, NULL, err);
        if (r < 0)
            b.status = -1;
        if (sink_close(&k, &b, r < 0 ? &(v12n_error){0} : err) < 0 || r < 0)
            return -1;
    }
    size_t len;
    auto_free char *data = store_blob_read(p->s, d->digest, &len, err);
    if (data == NULL)
        return -1;
    return parse_config(p, data, len, err);
}

/* ---- layers --------------------------------------------------------------- */

static int check_layer_types(struct pull *p, v12n_error *err)
{
    for (size_t i = 0; i < p->m->n_layers; i++) {
        const char *mt = p->m->layers[i].media_type;
        if (mt[0] != '\0' && unpack_media_type_check(mt, err) < 0)
            return v12n_error_wrap(err, "layer %s", p->m->layers[i].digest);
    }
    return 0;
}

static void on_blob_progress(void *arg, const char *digest, uint64_t done, uint64_t total)
{
    (void)total;
    struct pull *p = arg;
    for (size_t i = 0; i < p->m->n_layers; i++) {
        if (strcmp(p->m->layers[i].digest, digest) == 0) {
            emit(p, IMAGE_PULL_LAYER_DOWNLOAD, i, done);
            return;
        }
    }
}

/* Which layers need their blob fetched: not unpacked, blob not stored. */
static size_t layers_to_fetch(struct pull *p, bool *need)
{
    size_t n = 0;
    for (size_t i = 0; i < p->m->n_layers; i++) {
        bool unpacked = store_layer_has(p->s, p->diff_ids[i]);
        need[i] = !unpacked && !store_blob_has(p->s, p->m->layers[i].digest);
        /* the same blob twice in one image is fetched once */
        for (size_t j = 0; need[i] && j < i; j++)
            need[i] = !(need[j] && strcmp(p->m->layers[j].digest, p->m->layers[i].digest) == 0);
        emit(p, unpacked ? IMAGE_PULL_LAYER_EXISTS : IMAGE_PULL_LAYER_WAITING, i, 0);
        n += need[i];
    }
    return n;
}

static int fetch_layers(struct pull *p, v12n_error *err)
{
    size_t n = p->m->n_layers;
    if (n == 0)
        return 0;
    auto_free bool *need = calloc(n, sizeof *need);
    auto_free struct registry_blob *blobs = calloc(n, sizeof *blobs);
    auto_free struct blob_sink *sinks = calloc(n, sizeof *sinks);
    auto_free size_t *which = calloc(n, sizeof *which);
    if (need == NULL || blobs == NULL || sinks == NULL || which == NULL)
        return v12n_fail(err, ENOMEM, "pull %s: out of memory", p->name);
    size_t k = 0;
    int r = 0;
    if (layers_to_fetch(p, need) == 0)
        return 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!need[i])
            continue;
        r = sink_open(p->s, &p->m->layers[i], &sinks[k], &blobs[k], err);
        which[k] = i;
        k += r == 0;
    }
    if (r == 0)
        r = registry_fetch_blobs(p->c, &p->ref, blobs, k, on_blob_progress, p, err);
    for (size_t j = 0; j < k; j++) {
        /* a blob that completed is kept even when another failed: the
         * next pull does not fetch it again (gc collects it otherwise) */
        v12n_error e = {0};
        if (sink_close(&sinks[j], &blobs[j], &e) < 0 && r == 0) {
            *err = e;
            r = -1;
        }
        if (blobs[j].status == 0 && r == 0)
            emit(p, IMAGE_PULL_LAYER_FETCHED, which[j], 0);
    }
    return r;
}

static int unpack_layers(struct pull *p, v12n_error *err)
{
    for (size_t i = 0; i < p->m->n_layers; i++) {
        const struct image_descriptor *d = &p->m->layers[i];
        if (store_layer_has(p->s, p->diff_ids[i]))
            continue;
        emit(p, IMAGE_PULL_LAYER_EXTRACT, i, 0);
        struct unpack_result res;
        if (store_layer_unpack_blob(p->s, d->digest, d->media_type[0] ? d->media_type : NULL,
                                    p->diff_ids[i], NULL, &res, err) < 0)
            return v12n_error_wrap(err, "pull %s: layer %s", p->name, d->digest);
        emit(p, IMAGE_PULL_LAYER_DONE, i, 0);
    }
    return 0;
}

/* ---- the image -------------------------------------------------------------- */

static int add_image(struct pull *p, struct image_pull_result *out, v12n_error *err)
{
    size_t n = p->m->n_layers;
    auto_free struct store_layer *layers = calloc(n + 1, sizeof *layers);
    if (layers == NULL)
        return v12n_fail(err, ENOMEM, "pull %s: out of memory", p->name);
    for (size_t i = 0; i < n; i++) {
        const struct image_descriptor *d = &p->m->layers[i];
        layers[i] = (struct store_layer){
            .digest = (char *)d->digest,
            .diff_id = p->diff_ids[i],
            .media_type = d->media_type[0] ? (char *)d->media_type : NULL,
            .size = d->size,
        };
    }
    char *names[] = {p->name, NULL};
    struct store_image img = {
        .id = (char *)p->m->config.digest,
        .names = names,
        .manifest = p->img.manifest.digest,
        .index = p->img.index.data != NULL ? p->img.index.digest : NULL,
        .layers = layers,
        .n_layers = n,
        .created = p->created,
    };
    struct store_image old = {0};
    v12n_error ignored = {0};
    if (store_image_resolve(p->s, p->name, &old, &ignored) == 0) {
        out->up_to_date = strcmp(old.id, img.id) == 0;
        store_image_clear(&old);
    }
    if (store_image_add(p->s, &img, err) < 0)
        return v12n_error_wrap(err, "pull %s", p->name);
    memcpy(out->id, img.id, IMAGE_DIGEST_SIZE);
    memcpy(out->manifest, p->img.manifest.digest, IMAGE_DIGEST_SIZE);
    return 0;
}

static int store_documents(struct pull *p, v12n_error *err)
{
    const struct registry_manifest *docs[] = {&p->img.index, &p->img.manifest};
    for (size_t i = 0; i < 2; i++) {
        if (docs[i]->data != NULL &&
            store_blob_put(p->s, docs[i]->data, docs[i]->len, docs[i]->digest, NULL, err) < 0)
            return v12n_error_wrap(err, "pull %s", p->name);
    }
    return 0;
}

static int run_pull(struct pull *p, const struct image_pull_opts *o, struct image_pull_result *out,
                    v12n_error *err)
{
    if (registry_client_new(&o->registry, &p->c, err) < 0 ||
        registry_resolve(p->c, &p->ref, o->platform, &p->img, err) < 0)
        return -1;
    p->m = p->img.manifest.parsed;
    if (p->m->kind != IMAGE_KIND_MANIFEST)
        return v12n_fail(err, EINVAL, "pull %s: not an image manifest", p->name);
    emit(p, IMAGE_PULL_RESOLVED, 0, 0);
    /* from here until the image is listed, gc leaves our parts alone */
    if (store_lease(p->s, err) < 0 || check_layer_types(p, err) < 0 || store_documents(p, err) < 0)
        return -1;
    if (fetch_config(p, err) < 0)
        return v12n_error_wrap(err, "pull %s", p->name);
    if (fetch_layers(p, err) < 0 || unpack_layers(p, err) < 0 || add_image(p, out, err) < 0)
        return -1;
    out->pulled = true;
    return 0;
}

static bool is_builtin_name(const struct image_ref *r)
{
    return strcmp(r->domain, IMAGE_DOCKER_HUB) == 0 && strcmp(r->path, "library/busybox") == 0 &&
           strcmp(r->tag, "latest") == 0 && r->digest[0] == '\0';
}

bool image_pull_error_is_network(const v12n_error *err)
{
    return err->errnum == EHOSTUNREACH || err->errnum == ECONNREFUSED || err->errnum == ETIMEDOUT ||
           err->errnum == ENETUNREACH;
}

int image_pull(struct store *s, const char *ref, const struct image_pull_opts *opts,
               image_pull_progress_fn progress, void *arg, struct image_pull_result *out,
               v12n_error *err)
{
    static const struct image_pull_opts defaults = {0};
    const struct image_pull_opts *o = opts != NULL ? opts : &defaults;
    struct pull p = {.s = s, .progress = progress, .arg = arg};
    memset(out, 0, sizeof *out);
    if (image_ref_parse(ref, &p.ref, err) < 0)
        return -1;
    image_ref_string(&p.ref, p.name, sizeof p.name);
    memcpy(out->name, p.name, sizeof out->name);
    int r = run_pull(&p, o, out, err);
    store_lease_release(s);
    registry_image_clear(&p.img);
    registry_client_free(p.c);
    v12n_strv_free(p.diff_ids);
    free(p.created);
    if (r < 0 && o->builtin_fallback && is_builtin_name(&p.ref) &&
        image_pull_error_is_network(err)) {
        out->fallback_reason = *err;
        v12n_error_clear(err);
        if (image_builtin_busybox(s, p.name, NULL, out->id, err) < 0)
            return -1;
        out->builtin = true;
        return 0;
    }
    return r;
}

/* name: the name it was found by, NULL when found by id. */
static void fill_local(const struct store_image *img, const char *name,
                       struct image_pull_result *out)
{
    if (name == NULL)
        name = img->names != NULL && img->names[0] != NULL ? img->names[0] : img->id;
    snprintf(out->id, sizeof out->id, "%s", img->id);
    snprintf(out->manifest, sizeof out->manifest, "%s", img->manifest ? img->manifest : "");
    snprintf(out->name, sizeof out->name, "%s", name);
    out->up_to_date = true;
}

int image_find_local(struct store *s, const char *ref, struct image_pull_result *out,
                     v12n_error *err)
{
    memset(out, 0, sizeof *out);
    struct image_ref r;
    char name[IMAGE_REF_STRING_MAX] = "";
    v12n_error parse_err = {0};
    bool parsed = image_ref_parse(ref, &r, &parse_err) == 0;
    if (parsed)
        image_ref_string(&r, name, sizeof name);
    struct store_image img = {0};
    v12n_error e = {0};
    /* by name first, then as an id or id prefix (as docker run does) */
    if (parsed && store_image_resolve(s, name, &img, &e) == 0) {
        fill_local(&img, name, out);
        store_image_clear(&img);
        return 0;
    }
    if ((e.errnum == 0 || e.errnum == ENOENT) && store_image_resolve(s, ref, &img, &e) == 0) {
        fill_local(&img, NULL, out);
        store_image_clear(&img);
        return 0;
    }
    if (e.errnum != ENOENT) {
        *err = e;
        return -1;
    }
    if (!parsed) {
        *err = parse_err;
        return -1;
    }
    *err = e;
    return -1;
}

int image_ensure(struct store *s, const char *ref, const struct image_pull_opts *opts,
                 image_pull_progress_fn progress, void *arg, struct image_pull_result *out,
                 v12n_error *err)
{
    int r = image_find_local(s, ref, out, err);
    if (r == 0 || err->errnum != ENOENT)
        return r;
    v12n_error_clear(err);
    return image_pull(s, ref, opts, progress, arg, out, err);
}
