/* What the image commands share: see cli_image.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_image.h"
#include "image/auth.h"
#include "image/reference.h"

const char *cli_root;

bool cli_image_common_opt(struct cli_image_opts *o, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_ROOT:
        o->root = arg;
        return true;
    case CLI_OPT_AUTHFILE:
        o->authfile = arg;
        return true;
    case CLI_OPT_TLS_CA:
        o->tls_ca = arg;
        return true;
    case CLI_OPT_INSECURE:
        o->insecure = true;
        return true;
    case CLI_OPT_PLATFORM:
        o->platform = arg;
        return true;
    default:
        return false;
    }
}

int cli_image_bad_option(const char *command, int argc, char **argv)
{
    const char *opt = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    return cli_usage_error(command, "bad option \"%s\" (see v12n help)", opt);
}

int cli_image_common_opts_only(const char *command, struct cli_image_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {CLI_IMAGE_LONGOPTS, {0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (!cli_image_common_opt(o, c, optarg))
            return cli_image_bad_option(command, argc, argv);
    }
    return 0;
}

int cli_image_store_open(const struct cli_image_opts *o, struct store **out, v12n_error *err)
{
    const char *root = o->root != NULL ? o->root : cli_root != NULL ? cli_root : STORE_DEFAULT_ROOT;
    unsigned flags = getenv("V12N_STORE_NO_SYNC") != NULL ? STORE_NO_SYNC : 0;
    return store_open(root, flags, out, err);
}

const char *cli_image_authfile(const struct cli_image_opts *o, char *buf, size_t len)
{
    const char *env = getenv("V12N_AUTHFILE");
    if (o->authfile != NULL)
        snprintf(buf, len, "%s", o->authfile);
    else if (env != NULL && env[0] != '\0')
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "%s" CLI_AUTHFILE_REL, getenv("HOME") ? getenv("HOME") : "/root");
    return buf;
}

int cli_image_pull_opts(const struct cli_image_opts *o, struct cli_pull_opts *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    image_platform_default(&out->platform);
    if (o->platform != NULL && image_platform_parse(o->platform, &out->platform, err) < 0)
        return v12n_error_wrap(err, "--platform");
    char path[4096];
    if (image_auth_load(cli_image_authfile(o, path, sizeof path), &out->auth, err) < 0)
        return -1;
    out->pull.registry.insecure = o->insecure;
    out->pull.registry.tls_ca_file = o->tls_ca;
    out->pull.registry.credentials = out->auth;
    out->pull.platform = &out->platform;
    return 0;
}

void cli_image_pull_opts_clear(struct cli_pull_opts *p)
{
    image_auth_free(p->auth);
    p->auth = NULL;
}

int cli_image_find(struct store *s, const char *ref, struct store_image *out,
                   char name[IMAGE_REF_STRING_MAX], v12n_error *err)
{
    struct image_ref r;
    v12n_error e = {0};
    name[0] = '\0';
    if (image_ref_parse(ref, &r, &e) == 0) {
        image_ref_string(&r, name, IMAGE_REF_STRING_MAX);
        if (store_image_resolve(s, name, out, &e) == 0)
            return 0;
        if (e.errnum != ENOENT) {
            *err = e;
            return -1;
        }
        name[0] = '\0';
    }
    if (store_image_resolve(s, ref, out, &e) == 0)
        return 0;
    if (e.errnum == ENOENT)
        return v12n_fail(err, 0, "no such image: %.256s", ref);
    *err = e;
    return -1;
}

void cli_image_repo_tag(const char *name, char *repo, size_t repo_len, char *tag, size_t tag_len)
{
    struct image_ref r;
    v12n_error e = {0};
    if (name == NULL || image_ref_parse(name, &r, &e) < 0) {
        snprintf(repo, repo_len, "<none>");
        snprintf(tag, tag_len, "<none>");
        return;
    }
    snprintf(tag, tag_len, "%s", r.tag[0] ? r.tag : "<none>");
    r.tag[0] = '\0';
    r.digest[0] = '\0';
    image_ref_familiar(&r, repo, repo_len);
}

const char *cli_image_familiar(const char *name, char *buf, size_t len)
{
    struct image_ref r;
    v12n_error e = {0};
    if (image_ref_parse(name, &r, &e) < 0)
        snprintf(buf, len, "%s", name);
    else
        image_ref_familiar(&r, buf, len);
    return buf;
}

const char *cli_short_id(const char *digest, char buf[13])
{
    const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
    snprintf(buf, 13, "%s", hex);
    return buf;
}

const char *cli_human_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(buf, len, "%.3g%s", v, units[u]);
    return buf;
}

bool cli_parse_time(const char *rfc3339, time_t *out)
{
    struct tm tm = {0};
    if (rfc3339 == NULL || strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return false;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

const char *cli_human_age(const char *rfc3339, char *buf, size_t len)
{
    time_t t;
    if (!cli_parse_time(rfc3339, &t)) {
        snprintf(buf, len, "N/A");
        return buf;
    }
    double s = difftime(time(NULL), t);
    const double min = 60, hour = 3600, day = 86400;
    if (s < 1)
        snprintf(buf, len, "Less than a second ago");
    else if (s < min)
        snprintf(buf, len, "%d seconds ago", (int)s);
    else if (s < 2 * min)
        snprintf(buf, len, "About a minute ago");
    else if (s < hour)
        snprintf(buf, len, "%d minutes ago", (int)(s / min));
    else if (s < 2 * hour)
        snprintf(buf, len, "About an hour ago");
    else if (s < 48 * hour)
        snprintf(buf, len, "%d hours ago", (int)(s / hour));
    else if (s < 14 * day)
        snprintf(buf, len, "%d days ago", (int)(s / day));
    else if (s < 90 * day)
        snprintf(buf, len, "%d weeks ago", (int)(s / (7 * day)));
    else if (s < 730 * day)
        snprintf(buf, len, "%d months ago", (int)(s / (30 * day)));
    else
        snprintf(buf, len, "%d years ago", (int)(s / (365 * day)));
    return buf;
}
