#include "image/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_xfer.h"
#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/fs.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void fill_defaults(struct registry_opts *o)
{
    if (o->connect_timeout_s == 0)
        o->connect_timeout_s = 30;
    if (o->stall_timeout_s == 0)
        o->stall_timeout_s = 60;
    if (o->tries == 0)
        o->tries = 3;
    if (o->backoff_ms == 0)
        o->backoff_ms = 500;
    if (o->retry_after_max_s == 0)
        o->retry_after_max_s = 30;
    if (o->parallel == 0)
        o->parallel = 3;
}

/* The system's CA bundle, as libcurl would load it. */
static char *system_ca_bundle(size_t *len)
{
    CURL *e = curl_easy_init();
    char *path = NULL;
    if (e == NULL)
        return NULL;
    curl_easy_getinfo(e, CURLINFO_CAINFO, &path);
    char *data = NULL;
    if (path != NULL) {
        v12n_error ignored = {0};
        data = v12n_read_file(path, len, &ignored);
    }
    curl_easy_cleanup(e);
    return data;
}

/* curl takes one bundle: the system's CAs and the extra ones together. */
static int load_ca(struct registry_client *c, const char *file, v12n_error *err)
{
    size_t extra_len = 0, sys_len = 0;
    auto_free char *extra = v12n_read_file(file, &extra_len, err);
    if (extra == NULL)
        return v12n_error_wrap(err, "--tls-ca %s", file);
    if (strstr(extra, "-----BEGIN CERTIFICATE-----") == NULL)
        return v12n_fail(err, 0, "--tls-ca %s: no PEM certificate in it", file);
    auto_free char *sys = system_ca_bundle(&sys_len);
    c->ca_data = malloc(sys_len + extra_len + 2);
    if (c->ca_data == NULL)
        return v12n_fail(err, 0, "--tls-ca %s", file);
    if (sys != NULL)
        memcpy(c->ca_data, sys, sys_len);
    c->ca_data[sys_len] = '\n';
    memcpy(c->ca_data + sys_len + 1, extra, extra_len);
    c->ca_len = sys_len + 1 + extra_len;
    c->ca_data[c->ca_len] = '\0';
    return 0;
}

int registry_client_new(const struct registry_opts *o, struct registry_client **out,
                        v12n_error *err)
{
    *out = NULL;
    /* Loaded here, not at the runtime's start (util/dlib.h). */
    if (v12n_curl_load(err) < 0)
        return -1;
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return v12n_fail(err, 0, "libcurl: %s", curl_easy_strerror(curl_init_result));
    struct registry_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return v12n_fail(err, 0, "registry client");
    c->o = *o;
    fill_defaults(&c->o);
    c->user_agent = strdup(o->user_agent ? o->user_agent : "v12n");
    if (c->user_agent == NULL) {
        registry_client_free(c);
        return v12n_fail(err, 0, "registry client");
    }
    c->o.user_agent = c->user_agent;
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (c->multi == NULL || c->share == NULL) {
        registry_client_free(c);
        return v12n_fail(err, 0, "registry client: libcurl initialisation failed");
    }
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    c->o.tls_ca_file = NULL; /* the data is loaded; the caller's string may go */
    if (o->tls_ca_file != NULL && load_ca(c, o->tls_ca_file, err) < 0) {
        registry_client_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static void free_secret(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
    free(s);
}

void registry_client_free(struct registry_client *c)
{
    if (c == NULL)
        return;
    for (struct registry_host *h = c->hosts, *next; h; h = next) {
        next = h->next;
        free_secret(h->user);
        free_secret(h->password);
        free(h);
    }
    for (struct registry_token *t = c->tokens, *next; t; t = next) {
        next = t->next;
        free_secret(t->value);
        free(t);
    }
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    free(c->ca_data);
    free(c->user_agent);
    free(c);
}

/* ---- manifests ------------------------------------------------------------------- */

void registry_manifest_clear(struct registry_manifest *m)
{
    free(m->data);
    image_manifest_free(m->parsed);
    memset(m, 0, sizeof *m);
}

void registry_image_clear(struct registry_image *img)
{
    registry_manifest_clear(&img->index);
    registry_manifest_clear(&img->manifest);
}

static int fail_pull(const struct image_ref *ref, v12n_error *err)
{
    char name[IMAGE_REF_STRING_MAX];
    return v12n_error_wrap(err, "pull %s", image_ref_string(ref, name, sizeof name));
}

/* A tag goes into a URL: hold it to the tag grammar. */
static bool safe_tag(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= IMAGE_REF_TAG_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") == n;
}

static int setup_manifest_xfer(struct xfer *x, const struct image_ref *ref, const char *which,
                               v12n_error *err)
{
    bool by_digest = image_digest_valid(which);
    if (!by_digest && !safe_tag(which))
        return v12n_fail(err, 0, "invalid tag or digest \"%.100s\"", which);
    snprintf(x->path_tail, sizeof x->path_tail, "manifests/%s", which);
    if (by_digest)
        memcpy(x->expect_digest, which, IMAGE_DIGEST_SIZE);
    /* the reference's own manifest needs no name; a child does */
    if (strcmp(which, image_ref_manifest_ref(ref)) != 0)
        snprintf(x->what, sizeof x->what, "manifest %s", which);
    return 0;
}

static int parse_fetched(struct xfer *x, struct registry_manifest *out, v12n_error *err)
{
    out->data = v12n_take_ptr(&x->body.data);
    out->len = x->body.len;
    memcpy(out->digest, x->digest, IMAGE_DIGEST_SIZE);
    if (image_manifest_parse(out->data, out->len, x->content_type, &out->parsed, err) < 0) {
        registry_manifest_clear(out);
        if (x->what[0] != '\0')
            v12n_error_wrap(err, "%s", x->what);
        return -1;
    }
    return 0;
}

int registry_get_manifest(struct registry_client *c, const struct image_ref *ref,
                          const char *tag_or_digest, struct registry_manifest *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    const char *which = tag_or_digest ? tag_or_digest : image_ref_manifest_ref(ref);
    struct xfer x;
    if (xfer_init(&x, c, XFER_MANIFEST, ref, err) < 0 ||
        setup_manifest_xfer(&x, ref, which, err) < 0) {
        xfer_release(&x);
        return fail_pull(ref, err);
    }
    struct xfer *one = &x;
    int r = xfer_run(c, &one, 1, err);
    if (r == 0 && x.state != XFER_DONE) {
        *err = x.err;
        r = -1;
    }
    if (r == 0)
        r = parse_fetched(&x, out, err);
    xfer_release(&x);
    return r < 0 ? fail_pull(ref, err) : 0;
}

/* Indexes may point at indexes; two levels is more than anyone uses. */
#define INDEX_DEPTH_MAX 2

int registry_resolve(struct registry_client *c, const struct image_ref *ref,
                     const struct image_platform *platform, struct registry_image *out,
                     v12n_error *err)
{
    memset(out, 0, sizeof *out);
    struct image_platform want;
    if (platform != NULL)
        want = *platform;
    else
        image_platform_default(&want);
    struct registry_manifest cur;
    if (registry_get_manifest(c, ref, NULL, &cur, err) < 0)
        return -1;
    for (int depth = 0; cur.parsed->kind == IMAGE_KIND_INDEX; depth++) {
        const struct image_descriptor *d = NULL;
        if (depth == INDEX_DEPTH_MAX) {
            v12n_fail(err, 0, "indexes nested deeper than %d", INDEX_DEPTH_MAX);
        } else if (image_index_select(cur.parsed, &want, &d, err) == 0) {
            char digest[IMAGE_DIGEST_SIZE];
            memcpy(digest, d->digest, sizeof digest);
            if (out->index.data == NULL)
                out->index = cur; /* the top index is the one to keep */
            else
                registry_manifest_clear(&cur);
            if (registry_get_manifest(c, ref, digest, &cur, err) == 0)
                continue;
            registry_image_clear(out);
            return -1;
        }
        registry_manifest_clear(&cur);
        registry_image_clear(out);
        return fail_pull(ref, err);
    }
    out->manifest = cur;
    return 0;
}

/* ---- blobs ----------------------------------------------------------------------- */

static int setup_blob_xfer(struct xfer *x, struct registry_blob *b, registry_progress_fn progress,
                           void *arg, v12n_error *err)
{
    b->status = -1;
    v12n_error_clear(&b->err);
    v12n_error derr = {0};
    if (image_digest_check(b->digest, &derr) < 0)
        return v12n_fail(err, 0, "blob: %s", derr.msg);
    if (b->write == NULL && b->fd < 0)
        return v12n_fail(err, 0, "blob %s: no fd and no write callback", b->digest);
    x->blob = b;
    x->progress = progress;
    x->progress_arg = arg;
    memcpy(x->expect_digest, b->digest, IMAGE_DIGEST_SIZE);
    snprintf(x->path_tail, sizeof x->path_tail, "blobs/%s", b->digest);
    snprintf(x->what, sizeof x->what, "blob %s", b->digest);
    return 0;
}

static void release_all(struct xfer *xs, struct xfer **ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfer_release(&xs[i]);
    free(xs);
    free(ptrs);
}

/* Each blob's outcome into its own status and err; the first failure into err. */
static int report_blobs(const struct image_ref *ref, struct xfer *xs, struct registry_blob *blobs,
                        size_t n, v12n_error *err)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        blobs[i].status = xs[i].state == XFER_DONE ? 0 : -1;
        if (blobs[i].status == 0)
            continue;
        blobs[i].err = xs[i].err;
        fail_pull(ref, &blobs[i].err);
        if (r == 0)
            *err = blobs[i].err;
        r = -1;
    }
    return r;
}

int registry_fetch_blobs(struct registry_client *c, const struct image_ref *ref,
                         struct registry_blob *blobs, size_t n, registry_progress_fn progress,
                         void *arg, v12n_error *err)
{
    if (n == 0)
        return 0;
    struct xfer *xs = calloc(n, sizeof *xs);
    struct xfer **ptrs = calloc(n, sizeof *ptrs);
    if (xs == NULL || ptrs == NULL) {
        free(xs);
        free(ptrs);
        v12n_fail(err, 0, "out of memory");
        return fail_pull(ref, err);
    }
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = &xs[i];
        if (xfer_init(&xs[i], c, XFER_BLOB, ref, err) < 0 ||
            setup_blob_xfer(&xs[i], &blobs[i], progress, arg, err) < 0) {
            release_all(xs, ptrs, i + 1);
            return fail_pull(ref, err);
        }
    }
    int r = xfer_run(c, ptrs, n, err);
    if (r < 0)
        fail_pull(ref, err);
    else
        r = report_blobs(ref, xs, blobs, n, err);
    release_all(xs, ptrs, n);
    return r;
}

int registry_fetch_blob(struct registry_client *c, const struct image_ref *ref,
                        struct registry_blob *b, registry_progress_fn progress, void *arg,
                        v12n_error *err)
{
    return registry_fetch_blobs(c, ref, b, 1, progress, arg, err);
}
