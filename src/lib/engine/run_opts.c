/* `docker run` options: each repeatable flag parsed, validated and appended
 * to struct engine_run_opts; the value parsers (sizes, CPUs, -v, --tmpfs,
 * env files) that the CLI also uses for single-valued flags. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container/caps.h"
#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

/* Env files are small text files; anything bigger is a mistake. */
#define ENV_FILE_MAX (1u << 20)

void engine_run_opts_init(struct engine_run_opts *o)
{
    *o = (struct engine_run_opts){.network = ENGINE_NET_NONE};
}

static void volume_clear(struct engine_volume *v)
{
    free(v->source);
    free(v->destination);
}

static void tmpfs_clear(struct engine_tmpfs *t)
{
    free(t->destination);
    free(t->options);
}

void engine_run_opts_free(struct engine_run_opts *o)
{
    free(o->name);
    v12n_strv_free(o->argv);
    free(o->entrypoint);
    v12n_strv_free(o->env);
    v12n_strv_free(o->env_files);
    for (size_t i = 0; i < o->n_volumes; i++)
        volume_clear(&o->volumes[i]);
    free(o->volumes);
    for (size_t i = 0; i < o->n_tmpfs; i++)
        tmpfs_clear(&o->tmpfs[i]);
    free(o->tmpfs);
    free(o->workdir);
    free(o->user);
    free(o->hostname);
    v12n_strv_free(o->cap_add);
    v12n_strv_free(o->cap_drop);
    engine_run_opts_init(o);
}

int engine_strv_push(char ***v, const char *s, v12n_error *err)
{
    size_t n = v12n_strv_len(*v);
    char *copy = strdup(s);
    char **grown = copy == NULL ? NULL : realloc(*v, (n + 2) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return v12n_fail(err, ENOMEM, "append \"%.64s\"", s);
    }
    grown[n] = copy;
    grown[n + 1] = NULL;
    *v = grown;
    return 0;
}

/* ---- env ----------------------------------------------------------------- */

static bool has_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)s[i]))
            return true;
    return false;
}

/* "KEY=VAL" as is; bare "KEY" takes the host's value, or is dropped when
 * the host has none (as Docker does). */
static int env_add(char ***env, const char *item, const char *where, v12n_error *err)
{
    const char *eq = strchr(item, '=');
    size_t key_len = eq != NULL ? (size_t)(eq - item) : strlen(item);
    if (key_len == 0)
        return v12n_fail(err, EINVAL, "%s \"%.64s\": empty variable name", where, item);
    if (has_space(item, key_len))
        return v12n_fail(err, EINVAL, "%s \"%.64s\": variable name contains whitespace", where,
                         item);
    if (eq != NULL)
        return engine_strv_push(env, item, err);
    const char *host = getenv(item);
    if (host == NULL)
        return 0;
    auto_free char *joined = NULL;
    if (asprintf(&joined, "%s=%s", item, host) < 0)
        return v12n_fail(err, ENOMEM, "%s %s", where, item);
    return engine_strv_push(env, joined, err);
}

int engine_opt_env(struct engine_run_opts *o, const char *arg, v12n_error *err)
{
    return env_add(&o->env, arg, "-e", err);
}

int engine_opt_env_file(struct engine_run_opts *o, const char *path, v12n_error *err)
{
    return engine_strv_push(&o->env_files, path, err);
}

static int env_file_line(char ***env, char *line, const char *where, v12n_error *err)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (len == 0 || line[0] == '#')
        return 0;
    /* A bare KEY may carry trailing blanks ("KEY  "): they are not part of it. */
    if (strchr(line, '=') == NULL)
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
    return env_add(env, line, where, err);
}

int engine_env_file_read(const char *path, char ***env, v12n_error *err)
{
    int fd auto_close = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return v12n_fail_errno(err, "--env-file %s", path);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return v12n_fail_errno(err, "--env-file %s", path);
    if (size > ENV_FILE_MAX)
        return v12n_fail(err, EFBIG, "--env-file %s: larger than %u bytes", path, ENV_FILE_MAX);
    size_t len;
    auto_free char *text = v12n_read_fd(fd, &len, err);
    if (text == NULL)
        return v12n_error_wrap(err, "--env-file %s", path);
    if (memchr(text, '\0', len) != NULL)
        return v12n_fail(err, EINVAL, "--env-file %s: contains a NUL byte", path);
    char *save = NULL;
    size_t lineno = 0;
    for (char *line = text; line != NULL; line = save) {
        lineno++;
        save = strchr(line, '\n');
        if (save != NULL)
            *save++ = '\0';
        char where[128];
        snprintf(where, sizeof where, "--env-file %.80s:%zu:", path, lineno);
        if (env_file_line(env, line, where, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- sizes and CPUs ---------------------------------------------------- */

/* A non-negative decimal "123" or "1.5": integer part and up to 9 fraction
 * digits scaled to nano-units.  Returns the end or NULL. */
static const char *parse_decimal_nano(const char *s, uint64_t *whole, uint64_t *nano)
{
    const char *p = s;
    uint64_t w = 0, f = 0;
    if (!isdigit((unsigned char)*p))
        return NULL;
    for (; isdigit((unsigned char)*p); p++) {
        if (w > (UINT64_MAX - 9) / 10)
            return NULL;
        w = w * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        int digits = 0;
        for (; isdigit((unsigned char)*p); p++, digits++) {
            if (digits >= 9)
                return NULL;
            f = f * 10 + (uint64_t)(*p - '0');
        }
        for (; digits < 9; digits++)
            f *= 10;
    }
    *whole = w;
    *nano = f;
    return p;
}

static int unit_shift(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'k':
        return 10;
    case 'm':
        return 20;
    case 'g':
        return 30;
    case 't':
        return 40;
    case 'p':
        return 50;
    default:
        return -1;
    }
}

int engine_parse_size(const char *arg, int64_t *out, v12n_error *err)
{
    uint64_t whole, nano;
    const char *p = parse_decimal_nano(arg, &whole, &nano);
    if (p == NULL)
        return v12n_fail(err, EINVAL, "size \"%.64s\": expected a number with k, m, g, t or p",
                         arg);
    int shift = 0;
    if (*p != '\0' && unit_shift(*p) >= 0)
        shift = unit_shift(*p++);
    if (shift > 0 && (*p == 'i' || *p == 'I'))
        p++;
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p != '\0')
        return v12n_fail(err, EINVAL, "size \"%.64s\": unknown unit", arg);
    if (whole > (uint64_t)INT64_MAX >> shift)
        return v12n_fail(err, ERANGE, "size \"%.64s\": too large", arg);
    /* nano < 1e9 < 2^30, so nano << 50 would overflow: scale in two steps. */
    uint64_t frac = (nano << (shift > 30 ? 30 : shift)) / 1000000000u;
    if (shift > 30)
        frac <<= shift - 30;
    uint64_t bytes = (whole << shift) + frac;
    if (bytes > INT64_MAX)
        return v12n_fail(err, ERANGE, "size \"%.64s\": too large", arg);
    *out = (int64_t)bytes;
    return 0;
}

int engine_parse_cpus(const char *arg, int64_t *out, v12n_error *err)
{
    uint64_t whole, nano;
    const char *p = parse_decimal_nano(arg, &whole, &nano);
    if (p == NULL || *p != '\0')
        return v12n_fail(err, EINVAL, "--cpus \"%.64s\": expected a number such as 1.5", arg);
    if (whole > 1000000)
        return v12n_fail(err, ERANGE, "--cpus \"%.64s\": too large", arg);
    uint64_t total = whole * 1000000000u + nano;
    if (total == 0)
        return v12n_fail(err, EINVAL, "--cpus \"%.64s\": must be more than 0", arg);
    *out = (int64_t)total;
    return 0;
}

/* ---- -v and --tmpfs ------------------------------------------------------ */

static int check_destination(const char *flag, const char *arg, const char *dst, v12n_error *err)
{
    if (dst[0] != '/')
        return v12n_fail(err, EINVAL, "%s %.128s: destination must be an absolute path", flag, arg);
    if (strcmp(dst, "/") == 0)
        return v12n_fail(err, EINVAL, "%s %.128s: destination cannot be /", flag, arg);
    if (strlen(dst) >= 4096)
        return v12n_fail(err, ENAMETOOLONG, "%s: destination too long", flag);
    return 0;
}

int engine_parse_volume(const char *arg, struct engine_volume *out, v12n_error *err)
{
    *out = (struct engine_volume){0};
    const char *c1 = strchr(arg, ':');
    if (c1 == NULL)
        return v12n_fail(err, ENOTSUP,
                         "-v %.128s: anonymous volumes are not supported yet (use --tmpfs %.128s)",
                         arg, arg);
    const char *dst = c1 + 1;
    const char *c2 = strchr(dst, ':');
    bool readonly = false;
    if (c2 != NULL) {
        if (strcmp(c2 + 1, "ro") == 0)
            readonly = true;
        else if (strcmp(c2 + 1, "rw") != 0)
            return v12n_fail(err, EINVAL, "-v %.128s: unknown option \"%.32s\" (ro or rw)", arg,
                             c2 + 1);
    }
    size_t src_len = (size_t)(c1 - arg);
    size_t dst_len = c2 != NULL ? (size_t)(c2 - dst) : strlen(dst);
    if (src_len == 0)
        return v12n_fail(err, EINVAL, "-v %.128s: empty source", arg);
    if (arg[0] != '/')
        return v12n_fail(err, ENOTSUP,
                         "-v %.128s: named volumes are not supported yet; give an absolute host "
                         "path",
                         arg);
    auto_free char *src = strndup(arg, src_len);
    auto_free char *dest = strndup(dst, dst_len);
    if (src == NULL || dest == NULL)
        return v12n_fail(err, ENOMEM, "-v %.128s", arg);
    if (check_destination("-v", arg, dest, err) < 0)
        return -1;
    out->source = v12n_take_ptr(&src);
    out->destination = v12n_take_ptr(&dest);
    out->readonly = readonly;
    return 0;
}

int engine_parse_tmpfs(const char *arg, struct engine_tmpfs *out, v12n_error *err)
{
    *out = (struct engine_tmpfs){0};
    const char *colon = strchr(arg, ':');
    size_t dst_len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
    auto_free char *dest = strndup(arg, dst_len);
    if (dest == NULL)
        return v12n_fail(err, ENOMEM, "--tmpfs %.128s", arg);
    if (check_destination("--tmpfs", arg, dest, err) < 0)
        return -1;
    auto_free char *opts = NULL;
    if (colon != NULL && colon[1] != '\0') {
        if (strlen(colon + 1) > 1024)
            return v12n_fail(err, EINVAL, "--tmpfs %.64s: options too long", arg);
        opts = strdup(colon + 1);
        if (opts == NULL)
            return v12n_fail(err, ENOMEM, "--tmpfs %.128s", arg);
    }
    out->destination = v12n_take_ptr(&dest);
    out->options = v12n_take_ptr(&opts);
    return 0;
}

int engine_opt_volume(struct engine_run_opts *o, const char *arg, v12n_error *err)
{
    struct engine_volume v;
    if (engine_parse_volume(arg, &v, err) < 0)
        return -1;
    struct engine_volume *grown = realloc(o->volumes, (o->n_volumes + 1) * sizeof *grown);
    if (grown == NULL) {
        volume_clear(&v);
        return v12n_fail(err, ENOMEM, "-v %.128s", arg);
    }
    grown[o->n_volumes++] = v;
    o->volumes = grown;
    return 0;
}

int engine_opt_tmpfs(struct engine_run_opts *o, const char *arg, v12n_error *err)
{
    struct engine_tmpfs t;
    if (engine_parse_tmpfs(arg, &t, err) < 0)
        return -1;
    struct engine_tmpfs *grown = realloc(o->tmpfs, (o->n_tmpfs + 1) * sizeof *grown);
    if (grown == NULL) {
        tmpfs_clear(&t);
        return v12n_fail(err, ENOMEM, "--tmpfs %.128s", arg);
    }
    grown[o->n_tmpfs++] = t;
    o->tmpfs = grown;
    return 0;
}

/* ---- capabilities and network ------------------------------------------- */

/* "net_admin", "CAP_NET_ADMIN", "all" -> "CAP_NET_ADMIN" / "ALL". */
int engine_opt_cap(struct engine_run_opts *o, bool add, const char *arg, v12n_error *err)
{
    const char *flag = add ? "--cap-add" : "--cap-drop";
    char name[64];
    bool prefixed = strncasecmp(arg, "CAP_", 4) == 0;
    if (strlen(arg) + 5 > sizeof name)
        return v12n_fail(err, EINVAL, "%s %.64s: unknown capability", flag, arg);
    snprintf(name, sizeof name, "%s%s", prefixed || strcasecmp(arg, "ALL") == 0 ? "" : "CAP_", arg);
    for (char *c = name; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c);
    int cap;
    if (strcmp(name, "ALL") != 0 && caps_from_name(name, &cap) < 0)
        return v12n_fail(err, EINVAL, "%s %.64s: unknown capability", flag, arg);
    return engine_strv_push(add ? &o->cap_add : &o->cap_drop, name, err);
}

int engine_opt_network(struct engine_run_opts *o, const char *arg, v12n_error *err)
{
    if (strcmp(arg, "none") == 0)
        o->network = ENGINE_NET_NONE;
    else if (strcmp(arg, "host") == 0)
        o->network = ENGINE_NET_HOST;
    else
        return v12n_fail(err, ENOTSUP, "--network %.64s: only none and host are supported yet",
                         arg);
    return 0;
}
