/* `-u uid[:gid] | name[:group]` against the image's /etc/passwd and
 * /etc/group.  Those files belong to the image: they are opened with
 * RESOLVE_IN_ROOT (a symlink cannot lead out of the rootfs), must be regular
 * files of bounded size, and every line is parsed defensively (a malformed
 * line is skipped, never trusted halfway). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Far above any real account database, far below harm. */
#define DB_FILE_MAX  (8u << 20)
#define MAX_FIELDS   8
#define MAX_GROUPS   256
#define NAME_MAX_LEN 256

struct db_entry {
    const char *field[MAX_FIELDS]; /* pointers into the line, NUL-terminated */
    size_t n;
};

/* A decimal id, 0 .. 2^32-2 (-1 is "no id" for the kernel). */
static bool parse_id(const char *s, uint32_t *out)
{
    if (*s == '\0' || strlen(s) > 10)
        return false;
    uint64_t v = 0;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (v >= UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Read rootfs/etc/<name>; a missing file is empty (NULL, 0). */
static int db_read(const char *rootfs, const char *name, char **out, v12n_error *err)
{
    *out = NULL;
    if (rootfs == NULL)
        return 0;
    int root auto_close = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return v12n_fail_errno(err, "rootfs %s", rootfs);
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    };
    char path[64];
    snprintf(path, sizeof path, "/etc/%s", name);
    int fd auto_close = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return 0;
    if (fd < 0)
        return v12n_fail_errno(err, "image %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return v12n_fail_errno(err, "image %s", path);
    if (!S_ISREG(st.st_mode))
        return v12n_fail(err, EINVAL, "image %s: not a regular file", path);
    if (st.st_size > DB_FILE_MAX)
        return v12n_fail(err, EFBIG, "image %s: larger than %u bytes", path, DB_FILE_MAX);
    size_t len;
    char *text = v12n_read_fd(fd, &len, err);
    if (text == NULL)
        return v12n_error_wrap(err, "image %s", path);
    /* The file may have grown between fstat and read. */
    if (len > DB_FILE_MAX) {
        free(text);
        return v12n_fail(err, EFBIG, "image %s: larger than %u bytes", path, DB_FILE_MAX);
    }
    *out = text;
    return 0;
}

/* Split the next line of *cursor into ':' fields; false at the end.  The
 * text is modified in place.  Lines with an embedded NUL end there. */
static bool db_next(char **cursor, char *end, struct db_entry *e)
{
    if (*cursor == NULL || *cursor >= end)
        return false;
    char *line = *cursor;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (nl != NULL) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = end;
    }
    e->n = 0;
    for (char *f = line; e->n < MAX_FIELDS;) {
        e->field[e->n++] = f;
        char *colon = strchr(f, ':');
        if (colon == NULL)
            break;
        *colon = '\0';
        f = colon + 1;
    }
    return true;
}

struct passwd_entry {
    const char *name;
    uint32_t uid, gid;
    const char *home;
};

/* name:password:uid:gid:gecos:home:shell; at least up to gid must be there. */
static bool passwd_entry(const struct db_entry *e, struct passwd_entry *p)
{
    if (e->n < 4 || e->field[0][0] == '\0' || e->field[0][0] == '#')
        return false;
    if (!parse_id(e->field[2], &p->uid) || !parse_id(e->field[3], &p->gid))
        return false;
    p->name = e->field[0];
    p->home = e->n >= 6 && e->field[5][0] == '/' ? e->field[5] : "/";
    return true;
}

/* Find by name (want_name) or uid in passwd text; copies what it returns
 * into out->home. */
static int passwd_find(char *text, size_t len, const char *want_name, uint32_t want_uid,
                       struct passwd_entry *out, char **name_out)
{
    char *cursor = text;
    struct db_entry e;
    while (text != NULL && db_next(&cursor, text + len, &e)) {
        struct passwd_entry p;
        if (!passwd_entry(&e, &p))
            continue;
        if (want_name != NULL ? strcmp(p.name, want_name) == 0 : p.uid == want_uid) {
            *out = p;
            *name_out = strdup(p.name);
            return *name_out != NULL ? 1 : -1;
        }
    }
    return 0;
}

static bool is_numeric(const char *s)
{
    return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static bool member_of(const char *members, const char *name)
{
    for (const char *m = members; *m != '\0';) {
        size_t n = strcspn(m, ",");
        if (n == strlen(name) && strncmp(m, name, n) == 0)
            return true;
        m += n;
        if (*m == ',')
            m++;
    }
    return false;
}

static int add_gid(struct engine_user *u, gid_t gid, v12n_error *err)
{
    for (size_t i = 0; i < u->n_additional_gids; i++)
        if (u->additional_gids[i] == gid)
            return 0;
    if (u->n_additional_gids >= MAX_GROUPS)
        return v12n_fail(err, E2BIG, "image /etc/group: more than %d groups for the user",
                         MAX_GROUPS);
    gid_t *grown = realloc(u->additional_gids, (u->n_additional_gids + 1) * sizeof *grown);
    if (grown == NULL)
        return v12n_fail(err, ENOMEM, "additional groups");
    grown[u->n_additional_gids++] = gid;
    u->additional_gids = grown;
    return 0;
}

/* Walk /etc/group: resolve group_name (when not NULL) into *gid and collect
 * the groups that list user_name (when not NULL) as a member. */
static int group_scan(char *text, size_t len, const char *group_name, const char *user_name,
                      bool *group_found, struct engine_user *u, v12n_error *err)
{
    char *cursor = text;
    struct db_entry e;
    *group_found = false;
    while (text != NULL && db_next(&cursor, text + len, &e)) {
        uint32_t gid;
        /* name:password:gid:members */
        if (e.n < 3 || e.field[0][0] == '\0' || e.field[0][0] == '#' || !parse_id(e.field[2], &gid))
            continue;
        if (group_name != NULL && !*group_found && strcmp(e.field[0], group_name) == 0) {
            u->gid = gid;
            *group_found = true;
        }
        if (user_name != NULL && e.n >= 4 && member_of(e.field[3], user_name) &&
            add_gid(u, gid, err) < 0)
            return -1;
    }
    return 0;
}

static int split_user(const char *spec, char **user, char **group, v12n_error *err)
{
    const char *colon = strchr(spec, ':');
    size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    if (ulen > NAME_MAX_LEN || (colon != NULL && strlen(colon + 1) > NAME_MAX_LEN))
        return v12n_fail(err, EINVAL, "user \"%.64s...\": name too long", spec);
    *user = strndup(spec, ulen);
    *group = colon != NULL ? strdup(colon + 1) : NULL;
    if (*user == NULL || (colon != NULL && *group == NULL))
        return v12n_fail(err, ENOMEM, "user %s", spec);
    return 0;
}

static int resolve_user_part(const char *rootfs, const char *user, struct engine_user *out,
                             char **name, v12n_error *err)
{
    auto_free char *passwd = NULL;
    if (db_read(rootfs, "passwd", &passwd, err) < 0)
        return -1;
    size_t len = passwd != NULL ? strlen(passwd) : 0;
    struct passwd_entry p;
    uint32_t uid = 0;
    bool numeric = user[0] == '\0' || is_numeric(user);
    if (numeric && user[0] != '\0' && !parse_id(user, &uid))
        return v12n_fail(err, EINVAL, "user %s: uid out of range", user);
    int found = passwd_find(passwd, len, numeric ? NULL : user, uid, &p, name);
    if (found < 0)
        return v12n_fail(err, ENOMEM, "user %s", user);
    if (found == 0 && !numeric)
        return v12n_fail(err, ENOENT, "unable to find user %s: no matching entries in passwd file",
                         user);
    out->uid = found ? p.uid : uid;
    out->gid = found ? p.gid : 0;
    out->home = strdup(found ? p.home : "/");
    if (out->home == NULL)
        return v12n_fail(err, ENOMEM, "user %s", user);
    return 0;
}

int engine_user_resolve(const char *rootfs, const char *spec, struct engine_user *out,
                        v12n_error *err)
{
    *out = (struct engine_user){0};
    auto_free char *user = NULL;
    auto_free char *group = NULL;
    auto_free char *name = NULL;
    if (split_user(spec != NULL ? spec : "", &user, &group, err) < 0 ||
        resolve_user_part(rootfs, user, out, &name, err) < 0)
        goto fail;
    if (group != NULL && group[0] == '\0') {
        v12n_fail(err, EINVAL, "user %s: empty group", spec);
        goto fail;
    }
    bool group_numeric = group != NULL && is_numeric(group);
    if (group_numeric && !parse_id(group, &out->gid)) {
        v12n_fail(err, EINVAL, "user %s: gid out of range", spec);
        goto fail;
    }
    if (name != NULL || (group != NULL && !group_numeric)) {
        auto_free char *groups = NULL;
        if (db_read(rootfs, "group", &groups, err) < 0)
            goto fail;
        bool found;
        if (group_scan(groups, groups != NULL ? strlen(groups) : 0, group_numeric ? NULL : group,
                       name, &found, out, err) < 0)
            goto fail;
        if (group != NULL && !group_numeric && !found) {
            v12n_fail(err, ENOENT, "unable to find group %s: no matching entries in group file",
                      group);
            goto fail;
        }
    }
    return 0;
fail:
    engine_user_clear(out);
    return -1;
}

void engine_user_clear(struct engine_user *u)
{
    free(u->additional_gids);
    free(u->home);
    *u = (struct engine_user){0};
}
