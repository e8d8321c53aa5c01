#include "image/registry_xfer.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/json.h"

#define TOKEN_BODY_MAX (1u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define PROGRESS_STEP  (256u << 10)
#define BACKOFF_MAX_MS 30000u
#define POLL_MAX_MS    1000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- errors --------------------------------------------------------------- */

static void xfer_fail(struct xfer *x, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The transfer is over: err = "<what>: <cause>". */
static void xfer_fail(struct xfer *x, int errnum, const char *fmt, ...)
{
    char cause[V12N_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    if (x->what[0] != '\0')
        v12n_fail(&x->err, errnum, "%s: %s", x->what, cause);
    else
        v12n_fail(&x->err, errnum, "%s", cause);
    x->state = XFER_FAILED;
}

/* Fail from inside a curl callback: the attempt is aborted, and retried
 * only when the cause may go away. */
static void xfer_abort(struct xfer *x, bool retry, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void xfer_abort(struct xfer *x, bool retry, int errnum, const char *fmt, ...)
{
    /* the bare cause: finish_attempt adds the prefix (and "after N tries") */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err.msg, sizeof x->err.msg, fmt, ap);
    va_end(ap);
    x->err.errnum = errnum;
    x->aborted = true;
    x->abort_retries = retry;
}

/* ---- small buffers ---------------------------------------------------------- */

static int buf_append(struct xfer_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- hosts, credentials, tokens -------------------------------------------- */

static struct registry_host *host_get(struct registry_client *c, const char *name)
{
    for (struct registry_host *h = c->hosts; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    struct registry_host *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    snprintf(h->name, sizeof h->name, "%s", name);
    h->next = c->hosts;
    c->hosts = h;
    return h;
}

/* Credentials are filed under the reference's domain (docker.io), not the
 * API host (registry-1.docker.io). */
static int host_credentials(struct xfer *x, const char **user, const char **password)
{
    struct registry_host *h = x->host;
    if (!h->creds_loaded) {
        v12n_error e = {0};
        if (image_auth_get(x->c->o.credentials, x->ref->domain, &h->user, &h->password, &e) < 0) {
            xfer_fail(x, e.errnum, "%s", e.msg);
            return -1;
        }
        h->creds_loaded = true;
    }
    *user = h->user;
    *password = h->password;
    return 0;
}

static struct registry_token *token_find(struct registry_client *c, const struct xfer *x)
{
    for (struct registry_token *t = c->tokens; t; t = t->next)
        if (strcmp(t->host, x->host->name) == 0 && strcmp(t->path, x->ref->path) == 0)
            return t;
    return NULL;
}

static int token_store(struct registry_client *c, const struct xfer *x, const char *value)
{
    struct registry_token *t = token_find(c, x);
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t == NULL)
            return -1;
        snprintf(t->host, sizeof t->host, "%s", x->host->name);
        snprintf(t->path, sizeof t->path, "%s", x->ref->path);
        t->next = c->tokens;
        c->tokens = t;
    }
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    if (t->value != NULL) {
        explicit_bzero(t->value, strlen(t->value));
        free(t->value);
    }
    t->value = copy;
    t->gen = ++c->token_gen;
    return 0;
}

/* ---- HTTP(S) or HTTP for --insecure registries ------------------------------ */

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* An insecure registry: HTTPS (unverified) if it speaks TLS, else HTTP.
 * Asked once per host with GET /v2/, as Docker does. */
static void decide_scheme(struct registry_client *c, struct registry_host *h)
{
    if (h->scheme_known)
        return;
    h->scheme_known = true;
    h->plain_http = false;
    if (!c->o.insecure)
        return;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return;
    char url[IMAGE_REF_NAME_MAX + 32];
    snprintf(url, sizeof url, "https://%s/v2/", h->name);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->o.connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)(c->o.connect_timeout_s + c->o.stall_timeout_s));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    /* unreachable: keep HTTPS, the real request reports the failure */
    h->plain_http = !(rc == CURLE_OK || rc == CURLE_COULDNT_CONNECT ||
                      rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT);
}

/* ---- curl callbacks ------------------------------------------------------------ */

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return true;
}

static void copy_header(char *dst, size_t size, const char *v, size_t vlen)
{
    if (vlen >= size)
        vlen = size - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static long parse_retry_after(const char *v, size_t vlen)
{
    char s[64];
    copy_header(s, sizeof s, v, vlen);
    char *end;
    errno = 0;
    long secs = strtol(s, &end, 10);
    if (end != s && *end == '\0' && errno == 0)
        return secs < 0 ? 0 : secs;
    time_t when = curl_getdate(s, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    const char *v;
    size_t vlen;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or a 100): forget the last one */
        x->www_auth[0] = x->content_type[0] = x->content_range[0] = '\0';
        x->retry_after_s = -1;
    } else if (header_is(line, len, "www-authenticate", &v, &vlen)) {
        if (x->www_auth[0] == '\0')
            copy_header(x->www_auth, sizeof x->www_auth, v, vlen);
    } else if (header_is(line, len, "content-type", &v, &vlen)) {
        copy_header(x->content_type, sizeof x->content_type, v, vlen);
    } else if (header_is(line, len, "content-range", &v, &vlen)) {
        copy_header(x->content_range, sizeof x->content_range, v, vlen);
    } else if (header_is(line, len, "retry-after", &v, &vlen)) {
        x->retry_after_s = parse_retry_after(v, vlen);
    }
    return len;
}

static void report_progress(struct xfer *x, bool force)
{
    if (x->progress == NULL)
        return;
    if (!force && x->received - x->progress_at < PROGRESS_STEP && x->received != x->blob->size)
        return;
    x->progress_at = x->received;
    x->progress(x->progress_arg, x->blob->digest, x->received, x->blob->size);
}

static int sink_rewind(struct xfer *x, v12n_error *e)
{
    struct registry_blob *b = x->blob;
    if (b->write != NULL) {
        if (b->rewind == NULL)
            return v12n_fail(e, 0, "cannot restart the download (no rewind)");
        return b->rewind(b->arg, e);
    }
    if (x->fd_start < 0)
        return v12n_fail(e, 0, "cannot restart the download (the fd does not seek)");
    if (ftruncate(b->fd, x->fd_start) < 0 || lseek(b->fd, x->fd_start, SEEK_SET) < 0)
        return v12n_fail_errno(e, "rewind the output");
    return 0;
}

static int sink_write(struct xfer *x, const void *data, size_t len, v12n_error *e)
{
    struct registry_blob *b = x->blob;
    if (b->write != NULL)
        return b->write(b->arg, data, len, e);
    if (v12n_write_all(b->fd, data, len) < 0)
        return v12n_fail_errno(e, "write");
    return 0;
}

/* "bytes START-END/TOTAL" starts where we stopped? */
static bool range_resumes_at(const char *content_range, uint64_t at)
{
    uint64_t start;
    return sscanf(content_range, "bytes %" SCNu64 "-", &start) == 1 && start == at;
}

/* A 2xx blob body begins: resumed (206) or from the start (200). */
static int begin_blob_body(struct xfer *x, long status, curl_off_t content_length)
{
    if (status == 206 && !range_resumes_at(x->content_range, x->received)) {
        x->no_range = true;
        xfer_abort(x, true, 0, "bad Content-Range \"%s\"", x->content_range);
        return -1;
    }
    if (status == 200 && x->received > 0) {
        v12n_error e = {0};
        if (sink_rewind(x, &e) < 0) {
            xfer_abort(x, false, e.errnum, "%s", e.msg);
            return -1;
        }
        image_sha256_reset(x->hash);
        x->received = 0;
        report_progress(x, true);
    }
    if (content_length >= 0 && x->received + (uint64_t)content_length > x->blob->size) {
        xfer_abort(x, false, 0,
                   "the server sends %" PRIu64 " bytes, more than the %" PRIu64 " declared",
                   x->received + (uint64_t)content_length, x->blob->size);
        return -1;
    }
    return 0;
}

static int begin_body(struct xfer *x)
{
    long status = 0;
    curl_off_t cl = -1;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    x->started_body = true;
    bool ok = status >= 200 && status < 300;
    x->to_sink = x->kind == XFER_BLOB && (status == 200 || status == 206);
    x->error_body = !ok;
    x->body.len = 0;
    if (x->to_sink)
        return begin_blob_body(x, status, cl);
    if (ok && x->kind == XFER_BLOB) {
        xfer_abort(x, false, 0, "unexpected HTTP status %ld", status);
        return -1;
    }
    if (ok && cl >= 0 && (uint64_t)cl > x->body_max) {
        xfer_abort(x, false, 0, "%s larger than %zu %s",
                   x->kind == XFER_TOKEN ? "token response" : "manifest",
                   x->body_max >= (1u << 20) ? x->body_max >> 20 : x->body_max,
                   x->body_max >= (1u << 20) ? "MiB" : "bytes");
        return -1;
    }
    return 0;
}

static int take_blob_bytes(struct xfer *x, const char *data, size_t len)
{
    if (x->received + len > x->blob->size) {
        xfer_abort(x, false, 0, "the server sends more than the %" PRIu64 " bytes declared",
                   x->blob->size);
        return -1;
    }
    v12n_error e = {0};
    if (sink_write(x, data, len, &e) < 0) {
        xfer_abort(x, false, e.errnum, "%s", e.msg);
        return -1;
    }
    image_sha256_update(x->hash, data, len);
    x->received += len;
    report_progress(x, false);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (!x->started_body && begin_body(x) < 0)
        return CURL_WRITEFUNC_ERROR;
    if (x->to_sink)
        return take_blob_bytes(x, data, len) < 0 ? CURL_WRITEFUNC_ERROR : len;
    size_t max = x->error_body ? ERROR_BODY_MAX : x->body_max;
    if (x->body.len + len > max) {
        if (x->error_body)
            return len; /* enough of an error page */
        xfer_abort(x, false, 0, "%s larger than %zu %s",
                   x->kind == XFER_TOKEN ? "token response" : "manifest",
                   max >= (1u << 20) ? max >> 20 : max, max >= (1u << 20) ? "MiB" : "bytes");
        return CURL_WRITEFUNC_ERROR;
    }
    if (buf_append(&x->body, data, len) < 0) {
        xfer_abort(x, false, 0, "out of memory");
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

/* ---- starting an attempt ---------------------------------------------------- */

static int build_url(struct xfer *x)
{
    if (x->url != NULL)
        return 0;
    decide_scheme(x->c, x->host);
    if (asprintf(&x->url, "%s://%s/v2/%s/%s", x->host->plain_http ? "http" : "https", x->host->name,
                 x->ref->path, x->path_tail) < 0) {
        x->url = NULL;
        xfer_fail(x, 0, "out of memory");
        return -1;
    }
    return 0;
}

static void set_transport(struct xfer *x, CURL *e)
{
    struct registry_client *c = x->c;
    const char *protocols = c->o.insecure ? "http,https" : "https";
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->o.connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->o.stall_timeout_s);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->curl_err);
    if (c->share != NULL)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    if (c->ca_data != NULL) {
        struct curl_blob blob = {.data = c->ca_data, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->o.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* Authorization for this attempt: the repository's token, or Basic once
 * the registry asked for it.  curl keeps either from following a redirect
 * to another host. */
static int set_auth(struct xfer *x, CURL *e)
{
    const char *user = NULL, *password = NULL;
    x->token_gen_used = 0;
    if (x->kind == XFER_TOKEN) {
        user = x->host ? x->host->user : NULL;
        password = x->host ? x->host->password : NULL;
    } else {
        struct registry_token *t = token_find(x->c, x);
        if (t != NULL) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
            curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, t->value);
            x->token_gen_used = t->gen;
            return 0;
        }
        if (x->host->basic && host_credentials(x, &user, &password) < 0)
            return -1;
    }
    if (user != NULL && password != NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, password);
    }
    return 0;
}

static void reset_attempt(struct xfer *x)
{
    x->curl_err[0] = '\0';
    x->started_body = x->to_sink = x->error_body = false;
    x->aborted = x->abort_retries = false;
    x->www_auth[0] = x->content_type[0] = x->content_range[0] = '\0';
    x->retry_after_s = -1;
    x->body.len = 0;
}

static int prepare_blob(struct xfer *x, CURL *e)
{
    if (x->hash == NULL) {
        x->hash = image_sha256_new();
        if (x->hash == NULL) {
            xfer_fail(x, 0, "out of memory");
            return -1;
        }
        x->fd_start = x->blob->write ? -1 : lseek(x->blob->fd, 0, SEEK_CUR);
        report_progress(x, true);
    }
    if (x->received >= x->blob->size || x->no_range) {
        if (x->received > 0) {
            v12n_error er = {0};
            if (sink_rewind(x, &er) < 0) {
                xfer_fail(x, er.errnum, "%s", er.msg);
                return -1;
            }
            image_sha256_reset(x->hash);
            x->received = 0;
            report_progress(x, true);
        }
    } else if (x->received > 0) {
        char range[48];
        snprintf(range, sizeof range, "%" PRIu64 "-", x->received);
        curl_easy_setopt(e, CURLOPT_RANGE, range);
    }
    return 0;
}

static int start_attempt(struct xfer *x)
{
    reset_attempt(x);
    if (x->kind != XFER_TOKEN && build_url(x) < 0)
        return -1;
    CURL *e = curl_easy_init();
    if (e == NULL) {
        xfer_fail(x, 0, "curl_easy_init failed");
        return -1;
    }
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    set_transport(x, e);
    if (set_auth(x, e) < 0)
        return -1;
    if (x->kind == XFER_MANIFEST) {
        curl_slist_free_all(x->headers);
        x->headers = curl_slist_append(NULL, "Accept: " IMAGE_MANIFEST_ACCEPT);
        if (x->headers == NULL) {
            xfer_fail(x, 0, "out of memory");
            return -1;
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    }
    if (x->kind == XFER_BLOB && prepare_blob(x, e) < 0)
        return -1;
    return 0;
}

/* ---- finishing an attempt ------------------------------------------------------ */

static bool transient_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static unsigned backoff_ms(const struct xfer *x)
{
    uint64_t d = x->c->o.backoff_ms;
    for (unsigned i = 0; i < x->tries && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_MS)
        d = BACKOFF_MAX_MS;
    /* a little jitter so that parallel transfers do not retry in step */
    d += (now_ms() ^ (uintptr_t)x) % (d / 4 + 1);
    return (unsigned)d;
}

static void retry_or_fail(struct xfer *x, unsigned delay_ms, const char *cause)
{
    x->tries++;
    if (x->tries >= x->c->o.tries) {
        xfer_fail(x, 0, "%s after %u tries", cause, x->tries);
        return;
    }
    x->not_before_ms = now_ms() + delay_ms;
    x->state = XFER_WAITING;
}

static void retry_now(struct xfer *x)
{
    x->not_before_ms = 0;
    x->state = XFER_WAITING;
}

static const char *curl_hint(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
        return " (a plain-HTTP registry? use --insecure)";
    case CURLE_PEER_FAILED_VERIFICATION:
        return " (a private CA? use --tls-ca FILE)";
    case CURLE_UNSUPPORTED_PROTOCOL:
        return " (plain HTTP needs --insecure)";
    default:
        return "";
    }
}

/* The registry was not reached at all (rather than answering badly): the
 * errno lets a caller tell an offline machine from a refusal (a pull of
 * busybox falls back to the built-in image only then). */
static int unreachable_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return EHOSTUNREACH;
    case CURLE_COULDNT_CONNECT:
        return ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return ETIMEDOUT;
    default:
        return 0;
    }
}

static void finish_curl_error(struct xfer *x, CURLcode rc)
{
    char cause[CURL_ERROR_SIZE + 300];
    const char *url = x->url;
    const char *detail = x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc);
    snprintf(cause, sizeof cause, "GET %.200s: %s", url, detail);
    if (transient_curl_error(rc)) {
        retry_or_fail(x, backoff_ms(x), cause);
        if (x->state == XFER_FAILED)
            x->err.errnum = unreachable_errno(rc);
    } else {
        xfer_fail(x, unreachable_errno(rc), "%s%s", cause, curl_hint(rc));
    }
}

/* The registry's error code ("NAME_UNKNOWN") from an error body. */
static const char *error_code(const struct xfer *x, char *buf, size_t size)
{
    buf[0] = '\0';
    if (x->body.data == NULL)
        return buf;
    json_t *j = json_loadb(x->body.data, x->body.len, 0, NULL);
    const char *code =
        json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "code"));
    if (code != NULL)
        snprintf(buf, size, "%s", code);
    json_decref(j);
    return buf;
}

static void fail_not_found(struct xfer *x)
{
    char code[64];
    if (x->kind == XFER_BLOB)
        xfer_fail(x, 0, "blob unknown (404)");
    else if (x->kind == XFER_TOKEN)
        xfer_fail(x, 0, "not found (404)");
    else if (strcmp(error_code(x, code, sizeof code), "NAME_UNKNOWN") == 0)
        xfer_fail(x, 0, "repository unknown (404)");
    else
        xfer_fail(x, 0, "manifest unknown (404)");
}

static int fetch_token(struct xfer *x, const struct image_auth_challenge *ch);

static void fail_unauthorized(struct xfer *x)
{
    xfer_fail(x, 0, "unauthorized (401): check v12n login");
}

/* A 401: get what the challenge asks for and go again, once. */
static void finish_unauthorized(struct xfer *x)
{
    struct image_auth_challenge ch;
    v12n_error e = {0};
    if (x->kind == XFER_TOKEN || image_auth_parse_challenge(x->www_auth, &ch, &e) < 0) {
        fail_unauthorized(x);
        return;
    }
    if (ch.scheme == IMAGE_AUTH_BASIC) {
        const char *user = NULL, *password = NULL;
        if (host_credentials(x, &user, &password) < 0)
            return;
        if (user == NULL || x->host->basic) {
            fail_unauthorized(x);
            return;
        }
        x->host->basic = true;
        retry_now(x);
        return;
    }
    struct registry_token *t = token_find(x->c, x);
    if (t != NULL && t->gen != x->token_gen_used) {
        retry_now(x); /* another transfer renewed it meanwhile */
        return;
    }
    if (x->fetched_token) {
        fail_unauthorized(x);
        return;
    }
    x->fetched_token = true;
    if (fetch_token(x, &ch) == 0)
        retry_now(x);
}

static void finish_blob(struct xfer *x)
{
    struct registry_blob *b = x->blob;
    if (x->received != b->size) {
        xfer_fail(x, 0, "%" PRIu64 " bytes, %" PRIu64 " declared", x->received, b->size);
        return;
    }
    char got[IMAGE_DIGEST_SIZE];
    image_sha256_final(x->hash, got);
    if (strcmp(got, b->digest) != 0) {
        xfer_fail(x, 0, "digest mismatch (got %s)", got);
        return;
    }
    if (x->progress_at != x->received)
        report_progress(x, true);
    x->state = XFER_DONE;
}

static void finish_body(struct xfer *x)
{
    if (x->body.data == NULL && buf_append(&x->body, "", 0) < 0) {
        xfer_fail(x, 0, "out of memory");
        return;
    }
    if (x->kind == XFER_MANIFEST) {
        v12n_error e = {0};
        if (image_digest_of(x->body.data, x->body.len, x->digest, &e) < 0) {
            xfer_fail(x, e.errnum, "%s", e.msg);
            return;
        }
        if (x->expect_digest[0] != '\0' && strcmp(x->digest, x->expect_digest) != 0) {
            xfer_fail(x, 0, "digest mismatch (got %s)", x->digest);
            return;
        }
    }
    x->state = XFER_DONE;
}

static void finish_success(struct xfer *x, long status)
{
    if (x->kind == XFER_BLOB) {
        if (!x->started_body && x->blob->size > 0 && status != 200 && status != 206) {
            xfer_fail(x, 0, "unexpected HTTP status %ld", status);
            return;
        }
        if (!x->started_body && x->received > 0 && status == 200) {
            /* an empty 200 after a partial attempt: start over */
            x->no_range = true;
            retry_or_fail(x, 0, "empty response to a resumed download");
            return;
        }
        finish_blob(x);
        return;
    }
    finish_body(x);
}

static void finish_status(struct xfer *x, long status)
{
    char cause[64];
    if (status >= 200 && status < 300) {
        finish_success(x, status);
    } else if (status == 401) {
        finish_unauthorized(x);
    } else if (status == 403) {
        xfer_fail(x, 0, "denied (403): check v12n login");
    } else if (status == 404) {
        fail_not_found(x);
    } else if (status == 416 && x->kind == XFER_BLOB) {
        x->no_range = true;
        retry_or_fail(x, 0, "range not satisfiable (416)");
    } else if (status == 429) {
        long wait = x->retry_after_s;
        unsigned delay = wait < 0 ? backoff_ms(x)
                                  : (unsigned)((wait > (long)x->c->o.retry_after_max_s
                                                    ? (long)x->c->o.retry_after_max_s
                                                    : wait) *
                                               1000);
        retry_or_fail(x, delay, "too many requests (429)");
    } else if (status == 408 ||
               (status >= 500 && status <= 599 && status != 501 && status != 505)) {
        snprintf(cause, sizeof cause, "%s (%ld)",
                 status == 408 ? "request timeout" : "server error", status);
        retry_or_fail(x, backoff_ms(x), cause);
    } else {
        xfer_fail(x, 0, "unexpected HTTP status %ld", status);
    }
}

static void finish_attempt(struct xfer *x, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    if (x->aborted) {
        char cause[V12N_ERROR_MSG_MAX];
        snprintf(cause, sizeof cause, "%s", x->err.msg);
        if (x->abort_retries)
            retry_or_fail(x, backoff_ms(x), cause);
        else
            xfer_fail(x, x->err.errnum, "%s", cause);
        return;
    }
    if (rc != CURLE_OK)
        finish_curl_error(x, rc);
    else
        finish_status(x, status);
}

/* ---- Bearer tokens -------------------------------------------------------------- */

static int token_url(struct xfer *x, const struct image_auth_challenge *ch, char **url)
{
    bool https = strncasecmp(ch->realm, "https://", 8) == 0;
    bool http = strncasecmp(ch->realm, "http://", 7) == 0;
    if (!https && !(http && x->c->o.insecure)) {
        xfer_fail(x, 0, "token realm \"%.200s\" is not an https:// URL%s", ch->realm,
                  http ? " (plain HTTP needs --insecure)" : "");
        return -1;
    }
    char scope[IMAGE_REF_NAME_MAX + 32];
    snprintf(scope, sizeof scope, "repository:%s:pull", x->ref->path);
    char *svc = curl_easy_escape(NULL, ch->service, 0);
    char *scp = curl_easy_escape(NULL, scope, 0);
    int r = -1;
    if (svc != NULL && scp != NULL) {
        const char *sep = strchr(ch->realm, '?') ? "&" : "?";
        if (ch->service[0] != '\0')
            r = asprintf(url, "%s%sservice=%s&scope=%s", ch->realm, sep, svc, scp);
        else
            r = asprintf(url, "%s%sscope=%s", ch->realm, sep, scp);
    }
    curl_free(svc);
    curl_free(scp);
    if (r < 0) {
        *url = NULL;
        xfer_fail(x, 0, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_token(struct xfer *x, const struct xfer *tx)
{
    json_t *j = json_loadb(tx->body.data, tx->body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (tok == NULL || *tok == '\0')
        tok = json_string_value(json_object_get(j, "access_token"));
    int r = 0;
    if (tok == NULL || *tok == '\0' || strpbrk(tok, "\r\n") != NULL) {
        xfer_fail(x, 0, "token server %.200s: no token in its answer", tx->url);
        r = -1;
    } else if (token_store(x->c, x, tok) < 0) {
        xfer_fail(x, 0, "out of memory");
        r = -1;
    }
    json_decref(j);
    return r;
}

/* GET realm?service=..&scope=repository:<path>:pull, with the registry's
 * credentials when there are some, and keep the token for the repository. */
static int fetch_token(struct xfer *x, const struct image_auth_challenge *ch)
{
    const char *user, *password;
    if (host_credentials(x, &user, &password) < 0)
        return -1;
    struct xfer tx;
    v12n_error e = {0};
    if (xfer_init(&tx, x->c, XFER_TOKEN, x->ref, &e) < 0) {
        xfer_fail(x, e.errnum, "%s", e.msg);
        return -1;
    }
    tx.host = x->host; /* for its credentials */
    if (token_url(x, ch, &tx.url) < 0) {
        xfer_release(&tx);
        return -1;
    }
    snprintf(tx.what, sizeof tx.what, "token server %.80s", ch->realm);
    struct xfer *one = &tx;
    int r = xfer_run(x->c, &one, 1, &e);
    if (r < 0 || tx.state != XFER_DONE)
        xfer_fail(x, tx.err.errnum, "%s", r < 0 ? e.msg : tx.err.msg);
    else
        r = parse_token(x, &tx);
    xfer_release(&tx);
    return r < 0 || x->state == XFER_FAILED ? -1 : 0;
}

/* ---- the loop ------------------------------------------------------------------- */

int xfer_init(struct xfer *x, struct registry_client *c, enum xfer_kind kind,
              const struct image_ref *ref, v12n_error *err)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->kind = kind;
    x->ref = ref;
    x->fd_start = -1;
    x->retry_after_s = -1;
    x->body_max = kind == XFER_TOKEN ? TOKEN_BODY_MAX : IMAGE_MANIFEST_MAX;
    if (kind != XFER_TOKEN) {
        x->host = host_get(c, image_ref_api_host(ref));
        if (x->host == NULL)
            return v12n_fail(err, 0, "out of memory");
    }
    return 0;
}

void xfer_release(struct xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    image_sha256_free(x->hash);
    if (x->kind == XFER_TOKEN && x->body.data != NULL)
        explicit_bzero(x->body.data, x->body.len);
    free(x->body.data);
    free(x->url);
    memset(x, 0, sizeof *x);
}

static int start_ready(CURLM *multi, struct xfer **xs, size_t n, size_t *active, size_t *remaining,
                       unsigned parallel)
{
    uint64_t now = now_ms();
    for (size_t i = 0; i < n && *active < parallel; i++) {
        struct xfer *x = xs[i];
        if (x->state != XFER_WAITING || x->not_before_ms > now)
            continue;
        if (start_attempt(x) < 0) {
            x->state = XFER_FAILED;
            (*remaining)--;
            continue;
        }
        if (curl_multi_add_handle(multi, x->easy) != CURLM_OK) {
            xfer_fail(x, 0, "curl_multi_add_handle failed");
            (*remaining)--;
            continue;
        }
        x->state = XFER_ACTIVE;
        (*active)++;
    }
    return 0;
}

static void collect_done(CURLM *multi, size_t *active, size_t *remaining)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        struct xfer *x = (struct xfer *)priv;
        curl_multi_remove_handle(multi, e);
        (*active)--;
        finish_attempt(x, rc);
        if (x->state == XFER_DONE || x->state == XFER_FAILED)
            (*remaining)--;
    }
}

/* How long the loop may sleep: until the next retry is due, at most
 * POLL_MAX_MS; not at all when a waiting transfer can start now. */
static int poll_timeout(struct xfer **xs, size_t n, size_t active, unsigned parallel)
{
    if (active >= parallel)
        return POLL_MAX_MS;
    uint64_t now = now_ms();
    uint64_t wait = POLL_MAX_MS;
    for (size_t i = 0; i < n; i++) {
        if (xs[i]->state != XFER_WAITING)
            continue;
        uint64_t due = xs[i]->not_before_ms > now ? xs[i]->not_before_ms - now : 0;
        if (due < wait)
            wait = due;
    }
    return (int)wait;
}

/* The client's multi handle keeps its connections between calls (a pull
 * reuses one connection for manifests and blobs); a token fetched while it
 * is busy runs on a multi of its own. */
static CURLM *take_multi(struct registry_client *c, bool *own)
{
    *own = c->multi == NULL || c->multi_busy;
    if (*own)
        return curl_multi_init();
    c->multi_busy = true;
    return c->multi;
}

static void give_back_multi(struct registry_client *c, CURLM *multi, bool own)
{
    if (own)
        curl_multi_cleanup(multi);
    else
        c->multi_busy = false;
}

int xfer_run(struct registry_client *c, struct xfer **xs, size_t n, v12n_error *err)
{
    bool own;
    CURLM *multi = take_multi(c, &own);
    if (multi == NULL)
        return v12n_fail(err, 0, "curl_multi_init failed");
    for (size_t i = 0; i < n; i++)
        xs[i]->state = XFER_WAITING;
    size_t active = 0, remaining = n;
    unsigned parallel = c->o.parallel;
    while (remaining > 0) {
        start_ready(multi, xs, n, &active, &remaining, parallel);
        if (remaining == 0)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc == CURLM_OK)
            collect_done(multi, &active, &remaining);
        if (remaining == 0)
            break;
        if (mc == CURLM_OK)
            mc = curl_multi_poll(multi, NULL, 0, poll_timeout(xs, n, active, parallel), NULL);
        if (mc != CURLM_OK) {
            v12n_fail(err, 0, "curl: %s", curl_multi_strerror(mc));
            for (size_t i = 0; i < n; i++)
                if (xs[i]->easy != NULL)
                    curl_multi_remove_handle(multi, xs[i]->easy);
            give_back_multi(c, multi, own);
            return -1;
        }
    }
    give_back_multi(c, multi, own);
    return 0;
}
