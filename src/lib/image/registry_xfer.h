/* Internal to the registry client (registry.c): HTTP transfers over
 * libcurl with retries, authentication and verification.  Not for other
 * modules: use registry.h. */
#ifndef V12N_IMAGE_REGISTRY_XFER_H
#define V12N_IMAGE_REGISTRY_XFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/registry.h"

/* What the client knows about one registry host. */
struct registry_host {
    struct registry_host *next;
    char name[IMAGE_REF_NAME_MAX + 1];
    bool scheme_known;
    bool plain_http;
    bool basic;        /* the registry asked for Basic auth: send it up front */
    bool creds_loaded; /* user/password looked up (they may still be NULL) */
    char *user;
    char *password;
};

/* A Bearer token for one repository of one host. */
struct registry_token {
    struct registry_token *next;
    char host[IMAGE_REF_NAME_MAX + 1];
    char path[IMAGE_REF_NAME_MAX + 1];
    char *value;
    unsigned gen;
};

struct registry_client {
    struct registry_opts o; /* with defaults filled in */
    char *user_agent;
    char *ca_data; /* the system bundle + tls_ca_file, when a file was given */
    size_t ca_len;
    struct registry_host *hosts;
    struct registry_token *tokens;
    unsigned token_gen;
    CURLM *multi;    /* its connections outlive one call */
    bool multi_busy; /* a nested run (a token) needs a multi of its own */
    CURLSH *share;   /* DNS and TLS sessions, for every handle */
};

struct xfer_buf {
    char *data;
    size_t len;
    size_t cap;
};

enum xfer_kind {
    XFER_MANIFEST,
    XFER_BLOB,
    XFER_TOKEN,
};

enum xfer_state {
    XFER_WAITING,
    XFER_ACTIVE,
    XFER_DONE,
    XFER_FAILED,
};

struct xfer {
    struct registry_client *c;
    enum xfer_kind kind;
    enum xfer_state state;
    const struct image_ref *ref; /* NULL for tokens */
    struct registry_host *host;  /* NULL for tokens */
    char *url;                   /* tokens: the full URL; else built at the first attempt */
    char path_tail[160];         /* "manifests/<ref>" or "blobs/<digest>" */
    char what[96];               /* prefix of this transfer's errors: "blob sha256:..", or "" */
    char expect_digest[IMAGE_DIGEST_SIZE]; /* manifests fetched by digest; blobs */
    size_t body_max;                       /* manifests and tokens */

    /* results: manifests and tokens */
    struct xfer_buf body;
    char content_type[IMAGE_MEDIA_TYPE_MAX + 1];
    char digest[IMAGE_DIGEST_SIZE];

    /* blobs */
    struct registry_blob *blob;
    off_t fd_start; /* -1: the fd cannot be rewound */
    struct image_sha256 *hash;
    uint64_t received;
    uint64_t progress_at;
    registry_progress_fn progress;
    void *progress_arg;
    bool no_range; /* the server mishandled Range: always start over */

    /* the current attempt */
    CURL *easy;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    bool started_body;
    bool to_sink;
    bool error_body;
    bool aborted;       /* a callback failed; err says why */
    bool abort_retries; /* ... and a retry may fix it */
    char www_auth[2048];
    char content_range[128];
    long retry_after_s; /* -1: none */
    unsigned token_gen_used;

    /* retries and auth */
    unsigned tries;
    bool fetched_token;
    uint64_t not_before_ms;

    v12n_error err;
};

/* Set x up for a transfer of kind; what names it in errors. */
int xfer_init(struct xfer *x, struct registry_client *c, enum xfer_kind kind,
              const struct image_ref *ref, v12n_error *err);
void xfer_release(struct xfer *x);

/* Run the transfers to completion, opts.parallel at a time; each ends
 * XFER_DONE or XFER_FAILED (with x->err). */
int xfer_run(struct registry_client *c, struct xfer **xs, size_t n, v12n_error *err);

#endif
