#include "image/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* the input as quoted in errors: bounded, since it may be anything */
#define QUOTE_MAX 200

static int bad_ref(v12n_error *err, const char *s, const char *what)
{
    int n = (int)strnlen(s, QUOTE_MAX);
    return v12n_fail(err, 0, "invalid reference \"%.*s%s\": %s", n, s,
                     strlen(s) > (size_t)n ? ".." : "", what);
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
    return isascii((unsigned char)c) && (isalnum((unsigned char)c) || c == '_');
}

/* alnum+ (separator alnum+)*, separator = '.' | '_' | '__' | '-'+ ;
 * upper case letters are accepted here and refused later with their own
 * message, as Docker does. */
static bool valid_path_component(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t run = 0;
        while (i < len && (is_lower_alnum(s[i]) || isupper((unsigned char)s[i]))) {
            i++;
            run++;
        }
        if (run == 0)
            return false;
        if (i == len)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
        } else if (s[i] == '-') {
            while (i < len && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == len)
            return false; /* a separator must be followed by alnum */
    }
    return len > 0;
}

/* [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9] */
static bool valid_domain_label(const char *s, size_t len)
{
    if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isascii((unsigned char)s[i]) || !(isalnum((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

/* host[:port], host = label('.'label)* | '[' ipv6 hex and colons ']' */
static bool valid_domain(const char *s, size_t len)
{
    size_t host_end;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':')
                return false;
        host_end = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        host_end = colon ? (size_t)(colon - s) : len;
        size_t start = 0;
        for (size_t i = 0; i <= host_end; i++) {
            if (i == host_end || s[i] == '.') {
                if (!valid_domain_label(s + start, i - start))
                    return false;
                start = i + 1;
            }
        }
    }
    if (host_end == len)
        return true;
    if (s[host_end] != ':' || host_end + 1 == len)
        return false;
    for (size_t i = host_end + 1; i < len; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return len - host_end - 1 <= 5;
}

static bool valid_tag(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > IMAGE_REF_TAG_MAX || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

static bool is_hex64(const char *s)
{
    if (strlen(s) != IMAGE_DIGEST_HEX)
        return false;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

/* Docker's rule for "is the first component a registry?" */
static bool names_registry(const char *first, size_t len)
{
    if (memchr(first, '.', len) || memchr(first, ':', len))
        return true;
    if (len == strlen("localhost") && memcmp(first, "localhost", len) == 0)
        return true;
    for (size_t i = 0; i < len; i++)
        if (isupper((unsigned char)first[i]))
            return true;
    return false;
}

static int split_digest(const char *s, char *name, size_t name_size, struct image_ref *out,
                        v12n_error *err)
{
    const char *at = strchr(s, '@');
    size_t name_len = at ? (size_t)(at - s) : strlen(s);
    if (name_len >= name_size)
        return bad_ref(err, s, "name longer than 255 characters");
    memcpy(name, s, name_len);
    name[name_len] = '\0';
    if (at == NULL)
        return 0;
    v12n_error derr = {0};
    if (image_digest_check(at + 1, &derr) < 0)
        return bad_ref(err, s, derr.msg);
    memcpy(out->digest, at + 1, IMAGE_DIGEST_SIZE);
    return 0;
}

/* name[:tag] -> name, tag; the tag's ':' is the last one after the last '/' */
static int split_tag(const char *s, char *name, struct image_ref *out, v12n_error *err)
{
    char *slash = strrchr(name, '/');
    char *colon = strrchr(slash ? slash : name, ':');
    if (colon == NULL)
        return 0;
    *colon = '\0';
    const char *tag = colon + 1;
    if (!valid_tag(tag)) {
        char what[QUOTE_MAX + 96];
        snprintf(what, sizeof what,
                 "invalid tag \"%.*s\" (1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')",
                 QUOTE_MAX / 2, tag);
        return bad_ref(err, s, what);
    }
    memcpy(out->tag, tag, strlen(tag) + 1);
    return 0;
}

static int check_path(const char *s, const char *path, v12n_error *err)
{
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!valid_path_component(p, len)) {
            char what[QUOTE_MAX + 160];
            snprintf(what, sizeof what,
                     "invalid repository path component \"%.*s\" (lowercase letters and digits, "
                     "separated by '.', '_', '__' or '-')",
                     (int)(len < QUOTE_MAX / 2 ? len : QUOTE_MAX / 2), p);
            return bad_ref(err, s, what);
        }
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    for (p = path; *p; p++)
        if (isupper((unsigned char)*p))
            return bad_ref(err, s, "repository name must be lowercase");
    return 0;
}

static int split_domain(const char *s, const char *name, struct image_ref *out, v12n_error *err)
{
    const char *slash = strchr(name, '/');
    const char *rest = name;
    if (slash && names_registry(name, (size_t)(slash - name))) {
        size_t dlen = (size_t)(slash - name);
        if (dlen >= sizeof out->domain)
            return bad_ref(err, s, "name longer than 255 characters");
        if (!valid_domain(name, dlen)) {
            char what[IMAGE_REF_NAME_MAX + 32];
            snprintf(what, sizeof what, "invalid registry host \"%.*s\"", (int)dlen, name);
            return bad_ref(err, s, what);
        }
        memcpy(out->domain, name, dlen);
        out->domain[dlen] = '\0';
        if (strcmp(out->domain, "index.docker.io") == 0)
            strcpy(out->domain, IMAGE_DOCKER_HUB);
        rest = slash + 1;
    } else {
        strcpy(out->domain, IMAGE_DOCKER_HUB);
    }
    bool hub = strcmp(out->domain, IMAGE_DOCKER_HUB) == 0;
    const char *prefix = (hub && strchr(rest, '/') == NULL) ? "library/" : "";
    int n = snprintf(out->path, sizeof out->path, "%s%s", prefix, rest);
    if (n < 0 || strlen(out->domain) + 1 + (size_t)n > IMAGE_REF_NAME_MAX)
        return bad_ref(err, s, "name longer than 255 characters");
    return 0;
}

int image_ref_parse(const char *s, struct image_ref *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    if (s == NULL || *s == '\0')
        return v12n_fail(err, 0, "invalid reference \"\": empty");
    if (is_hex64(s))
        return bad_ref(err, s, "a 64-digit hex string is an image ID, not a reference");
    char name[IMAGE_REF_NAME_MAX + IMAGE_REF_TAG_MAX + 2];
    if (split_digest(s, name, sizeof name, out, err) < 0)
        return -1;
    if (name[0] == '\0')
        return bad_ref(err, s, "no repository name");
    if (split_tag(s, name, out, err) < 0)
        return -1;
    if (name[0] == '\0')
        return bad_ref(err, s, "no repository name");
    if (split_domain(s, name, out, err) < 0)
        return -1;
    if (check_path(s, out->path, err) < 0)
        return -1;
    if (out->tag[0] == '\0' && out->digest[0] == '\0')
        strcpy(out->tag, "latest");
    return 0;
}

static const char *format_ref(const struct image_ref *r, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s", name, r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "",
             r->digest);
    return buf;
}

const char *image_ref_string(const struct image_ref *r, char *buf, size_t len)
{
    char name[IMAGE_REF_NAME_MAX + 2];
    return format_ref(r, image_ref_repository(r, name, sizeof name), buf, len);
}

const char *image_ref_familiar(const struct image_ref *r, char *buf, size_t len)
{
    char name[IMAGE_REF_NAME_MAX + 2];
    if (strcmp(r->domain, IMAGE_DOCKER_HUB) != 0)
        return image_ref_string(r, buf, len);
    const char *path = r->path;
    if (strncmp(path, "library/", 8) == 0 && strchr(path + 8, '/') == NULL)
        path += 8;
    /* docker.io/foo.bar/x must not shorten to foo.bar/x, a registry's name */
    const char *slash = strchr(path, '/');
    if (slash != NULL && names_registry(path, (size_t)(slash - path)))
        return image_ref_string(r, buf, len);
    snprintf(name, sizeof name, "%s", path);
    return format_ref(r, name, buf, len);
}

const char *image_ref_repository(const struct image_ref *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", r->domain, r->path);
    return buf;
}

const char *image_ref_api_host(const struct image_ref *r)
{
    return strcmp(r->domain, IMAGE_DOCKER_HUB) == 0 ? "registry-1.docker.io" : r->domain;
}

const char *image_ref_manifest_ref(const struct image_ref *r)
{
    return r->digest[0] ? r->digest : r->tag;
}
