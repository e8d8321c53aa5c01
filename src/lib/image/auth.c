#include "image/auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

/* credentials files are small; anything bigger is not one */
#define AUTH_FILE_MAX (1u << 20)

struct image_auth {
    json_t *root; /* the whole document, so unknown members survive a save */
};

struct image_auth *image_auth_new(void)
{
    struct image_auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->root = json_object();
    if (a->root == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void image_auth_free(struct image_auth *a)
{
    if (a == NULL)
        return;
    json_decref(a->root);
    free(a);
}

void image_auth_normalize_host(const char *in, char *out, size_t size)
{
    const char *p = strstr(in, "://");
    p = p ? p + 3 : in;
    size_t n = strcspn(p, "/");
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        snprintf(out, size, "docker.io");
}

static int read_private_file(const char *path, char **data, v12n_error *err)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "credentials %s: open", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return v12n_fail_errno(err, "credentials %s: stat", path);
    if (!S_ISREG(st.st_mode))
        return v12n_fail(err, 0, "credentials %s: not a regular file", path);
    if ((st.st_mode & 077) != 0)
        return v12n_fail(err, 0,
                         "credentials %s: mode %04o lets others read the passwords; "
                         "run chmod 600 %s",
                         path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_size > (off_t)AUTH_FILE_MAX)
        return v12n_fail(err, 0, "credentials %s: larger than 1 MiB", path);
    size_t len = 0;
    *data = v12n_read_fd(fd, &len, err);
    if (*data == NULL)
        return v12n_error_wrap(err, "credentials %s", path);
    return 1;
}

int image_auth_load(const char *path, struct image_auth **out, v12n_error *err)
{
    *out = NULL;
    auto_free char *data = NULL;
    int r = read_private_file(path, &data, err);
    if (r < 0)
        return -1;
    if (r == 0) {
        *out = image_auth_new();
        return *out ? 0 : v12n_fail(err, 0, "credentials %s", path);
    }
    json_error_t jerr;
    json_t *root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
    explicit_bzero(data, strlen(data));
    if (root == NULL)
        return v12n_fail(err, 0, "credentials %s: invalid JSON at line %d: %s", path, jerr.line,
                         jerr.text);
    json_t *auths = json_object_get(root, "auths");
    if (!json_is_object(root) || (auths != NULL && !json_is_object(auths))) {
        json_decref(root);
        return v12n_fail(err, 0, "credentials %s: expected {\"auths\": {...}}", path);
    }
    struct image_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        json_decref(root);
        return v12n_fail(err, 0, "credentials %s", path);
    }
    a->root = root;
    *out = a;
    return 0;
}

/* The entry whose key normalises to registry's host. */
static json_t *find_entry(json_t *auths, const char *registry, const char **key_out)
{
    char want[256], have[256];
    image_auth_normalize_host(registry, want, sizeof want);
    const char *key;
    json_t *v;
    json_object_foreach(auths, key, v)
    {
        image_auth_normalize_host(key, have, sizeof have);
        if (strcmp(have, want) == 0 && json_is_object(v)) {
            if (key_out)
                *key_out = key;
            return v;
        }
    }
    return NULL;
}

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Strict standard base64, as Docker writes it: whole quads, '=' only as the
 * final padding (nettle's decoder alone would also skip whitespace). */
static bool is_strict_base64(const char *in, size_t len)
{
    if (len % 4 != 0)
        return false;
    size_t pad = 0;
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!is_base64_char(in[i]))
            return false;
    return true;
}

static char *base64_decode(const char *in, size_t *out_len)
{
    size_t len = strlen(in);
    if (!is_strict_base64(in, len))
        return NULL;
    char *out = malloc(BASE64_DECODE_LENGTH(len) + 1);
    if (out == NULL)
        return NULL;
    struct base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    size_t n = 0;
    if (!base64_decode_update(&ctx, &n, (uint8_t *)out, len, in) || !base64_decode_final(&ctx)) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

static char *base64_encode(const char *in, size_t len)
{
    if (len > (SIZE_MAX - 8) / 4 * 3)
        return NULL;
    char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (out == NULL)
        return NULL;
    base64_encode_raw(out, len, (const uint8_t *)in); /* with the '=' padding */
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    return out;
}

static int split_user_password(const char *registry, char *plain, size_t len, char **user,
                               char **password, v12n_error *err)
{
    char *colon = memchr(plain, ':', len);
    if (colon == NULL || colon == plain || memchr(plain, '\0', len) != NULL)
        return v12n_fail(err, 0, "credentials for %s: \"auth\" is not base64(user:password)",
                         registry);
    *colon = '\0';
    *user = strdup(plain);
    *password = strdup(colon + 1);
    if (*user == NULL || *password == NULL) {
        free(*user);
        free(*password);
        return v12n_fail(err, 0, "credentials for %s", registry);
    }
    return 1;
}

int image_auth_get(const struct image_auth *a, const char *registry, char **user, char **password,
                   v12n_error *err)
{
    *user = *password = NULL;
    json_t *entry = a ? find_entry(json_object_get(a->root, "auths"), registry, NULL) : NULL;
    if (entry == NULL)
        return 0;
    const char *b64 = json_string_value(json_object_get(entry, "auth"));
    if (b64 == NULL) {
        /* some tools file the two fields apart */
        const char *u = json_string_value(json_object_get(entry, "username"));
        const char *p = json_string_value(json_object_get(entry, "password"));
        if (u == NULL || p == NULL)
            return 0;
        *user = strdup(u);
        *password = strdup(p);
        if (*user == NULL || *password == NULL) {
            free(*user);
            free(*password);
            return v12n_fail(err, 0, "credentials for %s", registry);
        }
        return 1;
    }
    size_t len = 0;
    char *plain = base64_decode(b64, &len);
    if (plain == NULL)
        return v12n_fail(err, 0, "credentials for %s: \"auth\" is not valid base64", registry);
    int r = split_user_password(registry, plain, len, user, password, err);
    explicit_bzero(plain, len);
    free(plain);
    return r;
}

bool image_auth_remove(struct image_auth *a, const char *registry)
{
    json_t *auths = json_object_get(a->root, "auths");
    bool removed = false;
    const char *key;
    while (find_entry(auths, registry, &key) != NULL) {
        json_object_del(auths, key);
        removed = true;
    }
    return removed;
}

int image_auth_set(struct image_auth *a, const char *registry, const char *user,
                   const char *password, v12n_error *err)
{
    char host[256];
    image_auth_normalize_host(registry, host, sizeof host);
    if (host[0] == '\0')
        return v12n_fail(err, 0, "credentials: empty registry name");
    if (user[0] == '\0' || strchr(user, ':') != NULL)
        return v12n_fail(err, 0,
                         "credentials for %s: the user name may not be empty or "
                         "contain ':'",
                         host);
    size_t len = strlen(user) + 1 + strlen(password);
    auto_free char *plain = malloc(len + 1);
    if (plain == NULL || len > INT_MAX / 2)
        return v12n_fail(err, 0, "credentials for %s", host);
    snprintf(plain, len + 1, "%s:%s", user, password);
    auto_free char *b64 = base64_encode(plain, len);
    explicit_bzero(plain, len);
    if (b64 == NULL)
        return v12n_fail(err, 0, "credentials for %s", host);
    json_t *auths = json_object_get(a->root, "auths");
    if (!json_is_object(auths)) {
        auths = json_object();
        if (auths == NULL || json_object_set_new(a->root, "auths", auths) < 0)
            return v12n_fail(err, 0, "credentials for %s", host);
    }
    image_auth_remove(a, host);
    json_t *entry = json_pack("{s:s}", "auth", b64);
    if (entry == NULL || json_object_set_new(auths, host, entry) < 0)
        return v12n_fail(err, 0, "credentials for %s", host);
    explicit_bzero(b64, strlen(b64));
    return 0;
}

static int write_private(const char *tmp, const char *data, size_t len, v12n_error *err)
{
    auto_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return v12n_fail_errno(err, "credentials %s: create", tmp);
    /* the umask could only narrow 0600, but be explicit */
    if (fchmod(fd, 0600) < 0 || v12n_write_all(fd, data, len) < 0 || fsync(fd) < 0)
        return v12n_fail_errno(err, "credentials %s: write", tmp);
    int r = close(v12n_take_fd(&fd));
    if (r < 0)
        return v12n_fail_errno(err, "credentials %s: close", tmp);
    return 0;
}

static int make_parent(const char *path, v12n_error *err)
{
    auto_free char *dir = strdup(path);
    if (dir == NULL)
        return v12n_fail(err, 0, "credentials %s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    return v12n_mkdir_p(dir, 0700, err);
}

int image_auth_save(const struct image_auth *a, const char *path, v12n_error *err)
{
    if (make_parent(path, err) < 0)
        return v12n_error_wrap(err, "credentials %s", path);
    auto_free char *data = json_dumps(a->root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (data == NULL)
        return v12n_fail(err, 0, "credentials %s", path);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp)
        return v12n_fail(err, 0, "credentials %s", path);
    /* a leftover from a killed run of this pid */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return v12n_fail_errno(err, "credentials %s: remove", tmp);
    size_t len = strlen(data);
    int r = write_private(tmp, data, len, err);
    explicit_bzero(data, len);
    if (r == 0 && rename(tmp, path) < 0)
        r = v12n_fail_errno(err, "credentials %s: rename", path);
    if (r < 0)
        unlink(tmp);
    return r;
}

/* ---- WWW-Authenticate ---------------------------------------------------- */

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* token into out (bounded); returns its end */
static const char *read_token(const char *p, char *out, size_t size, bool *too_long)
{
    size_t n = 0;
    for (; is_tchar(*p); p++) {
        if (n + 1 < size)
            out[n++] = *p;
        else
            *too_long = true;
    }
    out[n] = '\0';
    return p;
}

static const char *read_quoted(const char *p, char *out, size_t size, bool *bad)
{
    size_t n = 0;
    p++; /* opening quote */
    while (*p != '"') {
        if (*p == '\0') {
            *bad = true;
            break;
        }
        if (*p == '\\' && p[1] != '\0')
            p++;
        if (n + 1 < size)
            out[n++] = *p;
        else
            *bad = true;
        p++;
    }
    out[n] = '\0';
    return *p == '"' ? p + 1 : p;
}

static enum image_auth_scheme scheme_of(const char *name)
{
    if (strcasecmp(name, "bearer") == 0)
        return IMAGE_AUTH_BEARER;
    if (strcasecmp(name, "basic") == 0)
        return IMAGE_AUTH_BASIC;
    return IMAGE_AUTH_NONE;
}

static void store_param(struct image_auth_challenge *c, const char *name, const char *value)
{
    char *dst = NULL;
    if (strcasecmp(name, "realm") == 0)
        dst = c->realm;
    else if (strcasecmp(name, "service") == 0)
        dst = c->service;
    else if (strcasecmp(name, "scope") == 0)
        dst = c->scope;
    if (dst != NULL)
        snprintf(dst, IMAGE_CHALLENGE_FIELD_MAX + 1, "%s", value);
}

/* Parse the params of one challenge starting at p; returns where the next
 * challenge's scheme starts (or the end). */
static const char *parse_params(const char *p, struct image_auth_challenge *c, bool *bad)
{
    char name[64], value[IMAGE_CHALLENGE_FIELD_MAX + 1];
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return p;
        const char *start = p;
        bool long_name = false;
        p = skip_ws(read_token(p, name, sizeof name, &long_name));
        if (name[0] == '\0') {
            *bad = true;
            return p + strlen(p);
        }
        if (*p != '=')
            return start; /* a new challenge's scheme, or a token68 we ignore */
        p = skip_ws(p + 1);
        if (*p == '"') {
            p = read_quoted(p, value, sizeof value, bad);
        } else {
            /* unquoted: up to the next separator (servers send bare URLs) */
            size_t n = 0;
            while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t' && *p != '"') {
                if (n + 1 < sizeof value)
                    value[n++] = *p;
                else
                    *bad = true;
                p++;
            }
            value[n] = '\0';
        }
        if (*bad)
            return p + strlen(p);
        if (!long_name)
            store_param(c, name, value);
    }
}

int image_auth_parse_challenge(const char *header, struct image_auth_challenge *out,
                               v12n_error *err)
{
    memset(out, 0, sizeof *out);
    struct image_auth_challenge cur;
    bool have_basic = false, bad = false;
    struct image_auth_challenge basic;
    const char *p = header;
    while (*(p = skip_ws(p)) != '\0' && !bad) {
        while (*p == ',' || *p == ' ')
            p++;
        if (*p == '\0')
            break;
        char scheme[32];
        bool long_scheme = false;
        const char *after = read_token(p, scheme, sizeof scheme, &long_scheme);
        if (after == p) {
            bad = true;
            break;
        }
        memset(&cur, 0, sizeof cur);
        cur.scheme = long_scheme ? IMAGE_AUTH_NONE : scheme_of(scheme);
        p = parse_params(after, &cur, &bad);
        if (bad)
            break;
        if (cur.scheme == IMAGE_AUTH_BEARER && cur.realm[0] != '\0') {
            *out = cur;
            return 0;
        }
        if (cur.scheme == IMAGE_AUTH_BASIC && !have_basic) {
            basic = cur;
            have_basic = true;
        }
    }
    if (!bad && have_basic) {
        *out = basic;
        return 0;
    }
    return v12n_fail(err, 0, "WWW-Authenticate \"%.*s\": no Basic or Bearer challenge%s", 120,
                     header, bad ? " (malformed)" : "");
}
