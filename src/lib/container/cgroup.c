/* cgroups for containers: the hierarchy layout (v1, hybrid, v2), the
 * public entry points and the state they persist.  linux.resources parsing
 * and device rules live in cgroup_resources.c, the per-version writers in
 * cgroup_v1.c and cgroup_v2.c, the v2 device program in cgroup_bpf.c. */
#include "container/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup_internal.h"
#include "container/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define DEFAULT_PARENT     "/v12n"
#define DESTROY_TIMEOUT_MS 5000

/* ------------------------------------------------------------------------ */
/* Files under a cgroup directory                                            */

void cg_trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
        s[--len] = '\0';
}

long long cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg_freeze_backoff(int attempt)
{
    struct timespec pause = {0, (attempt < 10 ? attempt + 1 : 10) * 1000 * 1000L};
    nanosleep(&pause, NULL);
}

static int file_path(char *buf, size_t len, const char *dir, const char *file, v12n_error *err)
{
    if ((size_t)snprintf(buf, len, "%s/%s", dir, file) >= len)
        return v12n_fail(err, ENAMETOOLONG, "cgroup %s: %s: path too long", dir, file);
    return 0;
}

int cg_write(const char *dir, const char *file, const char *value, v12n_error *err)
{
    char path[PATH_MAX];
    if (file_path(path, sizeof path, dir, file, err) < 0)
        return -1;
    auto_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "cgroup %s: open %s", dir, file);
    size_t len = strlen(value);
    ssize_t n;
    do {
        n = write(fd, value, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return v12n_fail_errno(err, "cgroup %s: write %s (%s)", dir, file, value);
    if ((size_t)n != len)
        return v12n_fail(err, EIO, "cgroup %s: short write to %s (%s)", dir, file, value);
    return 0;
}

int cg_writef(const char *dir, const char *file, v12n_error *err, const char *fmt, ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof value)
        return v12n_fail(err, EINVAL, "cgroup %s: value for %s too long", dir, file);
    return cg_write(dir, file, value, err);
}

char *cg_read(const char *dir, const char *file, v12n_error *err)
{
    char path[PATH_MAX];
    if (file_path(path, sizeof path, dir, file, err) < 0)
        return NULL;
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        v12n_fail_errno(err, "cgroup %s: open %s", dir, file);
        return NULL;
    }
    char *data = v12n_read_fd(fd, NULL, err);
    if (data == NULL)
        v12n_error_wrap(err, "cgroup %s: %s", dir, file);
    return data;
}

bool cg_has_file(const char *dir, const char *file)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return false;
    return access(path, F_OK) == 0;
}

int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *value, bool *found,
                  v12n_error *err)
{
    auto_free char *data = cg_read(dir, file, err);
    if (data == NULL)
        return -1;
    *found = false;
    size_t klen = strlen(key);
    for (char *line = data; line != NULL && *line != '\0';) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(line + klen + 1, &end, 10);
            if (errno != 0 || end == line + klen + 1)
                return v12n_fail(err, EINVAL, "cgroup %s: %s: bad value for %s", dir, file, key);
            *value = v;
            *found = true;
            return 0;
        }
        line = next;
    }
    return 0;
}

int cg_read_procs(const char *dir, pid_t **pids, size_t *n, v12n_error *err)
{
    auto_free char *data = cg_read(dir, "cgroup.procs", err);
    if (data == NULL)
        return -1;
    size_t cap = 1;
    for (const char *p = data; *p != '\0'; p++)
        cap += *p == '\n';
    pid_t *out = calloc(cap, sizeof *out);
    if (out == NULL)
        return v12n_fail(err, ENOMEM, "cgroup %s: out of memory", dir);
    size_t k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(data, "\n", &save); tok != NULL; tok = strtok_r(NULL, "\n", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (v > 0 && *end == '\0' && k < cap)
            out[k++] = (pid_t)v;
    }
    *pids = out;
    *n = k;
    return 0;
}

bool cg_word_in_list(const char *list, const char *word)
{
    size_t wlen = strlen(word);
    for (const char *p = list; *p != '\0';) {
        p += strspn(p, " \t\n");
        size_t len = strcspn(p, " \t\n");
        if (len == wlen && strncmp(p, word, len) == 0)
            return true;
        p += len;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Mode and layout                                                           */

const char *cgroup_mode_name(enum cgroup_mode mode)
{
    switch (mode) {
    case CGROUP_MODE_V1:
        return "v1";
    case CGROUP_MODE_HYBRID:
        return "hybrid";
    case CGROUP_MODE_V2:
        return "v2";
    }
    return "unknown";
}

static int mode_from_name(const char *name, enum cgroup_mode *mode)
{
    for (int m = CGROUP_MODE_V1; m <= CGROUP_MODE_V2; m++) {
        if (strcmp(name, cgroup_mode_name((enum cgroup_mode)m)) == 0) {
            *mode = (enum cgroup_mode)m;
            return 0;
        }
    }
    return -1;
}

int cgroup_detect_mode(const char *root, enum cgroup_mode *mode, v12n_error *err)
{
    struct statfs st;
    if (statfs(root, &st) < 0)
        return v12n_fail_errno(err, "cgroup root %s: statfs", root);
    if (st.f_type == CGROUP2_SUPER_MAGIC) {
        *mode = CGROUP_MODE_V2;
        return 0;
    }
    *mode = CGROUP_MODE_V1;
    if (st.f_type == TMPFS_MAGIC) {
        char unified[PATH_MAX];
        snprintf(unified, sizeof unified, "%s/unified", root);
        struct statfs ust;
        if (statfs(unified, &ust) == 0 && ust.f_type == CGROUP2_SUPER_MAGIC)
            *mode = CGROUP_MODE_HYBRID;
    }
    return 0;
}

/* A cgroup mount found in /proc/self/mountinfo. */
struct cg_mount {
    char *mount;
    char *fs_root;     /* the directory of the hierarchy mounted there */
    char *controllers; /* "" for cgroup2 */
};

static void cg_mounts_free(struct cg_mount *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].mount);
        free(m[i].fs_root);
        free(m[i].controllers);
    }
    free(m);
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static bool is_v1_controller(const char *opt)
{
    static const char *const names[] = {"cpu",     "cpuacct", "cpuset",   "memory", "devices",
                                        "freezer", "net_cls", "net_prio", "blkio",  "perf_event",
                                        "hugetlb", "pids",    "rdma",     "misc",   "debug"};
    if (strncmp(opt, "name=", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(opt, names[i]) == 0)
            return true;
    }
    return false;
}

/* The controller names among a v1 mount's super options, comma-joined. */
static char *v1_controllers(const char *super_opts)
{
    char *out = calloc(1, strlen(super_opts) + 1);
    auto_free char *copy = strdup(super_opts);
    if (out == NULL || copy == NULL) {
        free(out);
        return NULL;
    }
    char *save = NULL;
    for (char *o = strtok_r(copy, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
        if (!is_v1_controller(o))
            continue;
        if (out[0] != '\0')
            strcat(out, ",");
        strcat(out, o);
    }
    return out;
}

/* Splits one mountinfo line; returns false when it is not a cgroup mount. */
static bool parse_mountinfo_line(char *line, char **fs_root, char **mount, bool *v2,
                                 char **super_opts)
{
    char *fields[6] = {0};
    char *save = NULL;
    char *tok = strtok_r(line, " ", &save);
    for (int i = 0; i < 6 && tok != NULL; i++) {
        fields[i] = tok;
        tok = strtok_r(NULL, " ", &save);
    }
    /* Optional fields end with "-"; then fstype, source, super options. */
    while (tok != NULL && strcmp(tok, "-") != 0)
        tok = strtok_r(NULL, " ", &save);
    char *fstype = strtok_r(NULL, " ", &save);
    strtok_r(NULL, " ", &save);
    char *opts = strtok_r(NULL, " \n", &save);
    if (fields[4] == NULL || fstype == NULL || opts == NULL)
        return false;
    if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
        return false;
    unescape_octal(fields[3]);
    unescape_octal(fields[4]);
    *fs_root = fields[3];
    *mount = fields[4];
    *v2 = strcmp(fstype, "cgroup2") == 0;
    *super_opts = opts;
    return true;
}

/* Whether mount is root itself (want_self) or directly below it. */
static bool mount_at(const char *root, const char *mount, bool want_self)
{
    size_t rlen = strlen(root);
    if (want_self)
        return strcmp(root, mount) == 0;
    if (strncmp(mount, root, rlen) != 0 || mount[rlen] != '/')
        return false;
    return mount[rlen + 1] != '\0' && strchr(mount + rlen + 1, '/') == NULL;
}

static int add_mount(struct cg_mount **mounts, size_t *n, const char *fs_root, const char *mount,
                     char *controllers, v12n_error *err)
{
    /* A later mount over the same place, or the same hierarchy twice: keep one. */
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*mounts)[i].mount, mount) == 0 ||
            (controllers[0] != '\0' && strcmp((*mounts)[i].controllers, controllers) == 0)) {
            free(controllers);
            return 0;
        }
    }
    struct cg_mount *bigger = realloc(*mounts, (*n + 1) * sizeof **mounts);
    if (bigger == NULL) {
        free(controllers);
        return v12n_fail(err, ENOMEM, "cgroup mounts: out of memory");
    }
    *mounts = bigger;
    struct cg_mount *m = &bigger[(*n)++];
    m->controllers = controllers;
    m->mount = strdup(mount);
    m->fs_root = strdup(fs_root);
    if (m->mount == NULL || m->fs_root == NULL)
        return v12n_fail(err, ENOMEM, "cgroup mounts: out of memory");
    return 0;
}

/* The hierarchies this mode uses: v1 mounts directly under root, plus the
 * cgroup2 at root (v2) or root/unified (hybrid). */
static int list_mounts(const char *root, enum cgroup_mode mode, struct cg_mount **out,
                       size_t *n_out, v12n_error *err)
{
    auto_free char *data = v12n_read_file("/proc/self/mountinfo", NULL, err);
    if (data == NULL)
        return -1;
    char unified[PATH_MAX];
    snprintf(unified, sizeof unified, "%s/unified", root);
    struct cg_mount *mounts = NULL;
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *fs_root, *mount, *opts;
        bool v2;
        if (!parse_mountinfo_line(line, &fs_root, &mount, &v2, &opts))
            continue;
        bool wanted = v2 ? (mode == CGROUP_MODE_V2 && mount_at(root, mount, true)) ||
                               (mode == CGROUP_MODE_HYBRID && strcmp(mount, unified) == 0)
                         : mode != CGROUP_MODE_V2 && mount_at(root, mount, false);
        if (!wanted)
            continue;
        char *controllers = v2 ? strdup("") : v1_controllers(opts);
        if (controllers == NULL || (!v2 && controllers[0] == '\0')) {
            free(controllers);
            continue;
        }
        if (add_mount(&mounts, &n, fs_root, mount, controllers, err) < 0) {
            cg_mounts_free(mounts, n);
            return -1;
        }
    }
    if (n == 0) {
        cg_mounts_free(mounts, n);
        return v12n_fail(err, ENOENT, "cgroup root %s: no %s hierarchy mounted", root,
                         cgroup_mode_name(mode));
    }
    *out = mounts;
    *n_out = n;
    return 0;
}

/* Whether a comma-separated v1 controller list ("cpu,cpuacct") names one. */
static bool controllers_have(const char *list, const char *controller)
{
    size_t clen = strlen(controller);
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len == clen && strncmp(p, controller, len) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static size_t count_items(const char *list)
{
    size_t n = 0;
    for (const char *p = list; *p != '\0'; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
        n++;
    return n;
}

/* Whether two comma-separated controller lists name the same set. */
static bool same_controllers(const char *a, const char *b)
{
    if (count_items(a) != count_items(b))
        return false;
    auto_free char *copy = strdup(a);
    if (copy == NULL)
        return false;
    char *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save)) {
        if (!controllers_have(b, c))
            return false;
    }
    return true;
}

/* This process's cgroup in a hierarchy, from /proc/self/cgroup, relative to
 * the mount's fs_root (what a relative cgroupsPath hangs under). */
static char *own_cgroup(const struct cg_mount *m, v12n_error *err)
{
    auto_free char *data = v12n_read_file("/proc/self/cgroup", NULL, err);
    if (data == NULL)
        return NULL;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *path = c2 + 1;
        bool match = m->controllers[0] == '\0' ? strncmp(line, "0:", 2) == 0 && *controllers == '\0'
                                               : same_controllers(controllers, m->controllers);
        if (!match)
            continue;
        size_t rlen = strlen(m->fs_root);
        if (strcmp(m->fs_root, "/") != 0 && strncmp(path, m->fs_root, rlen) == 0 &&
            (path[rlen] == '/' || path[rlen] == '\0'))
            path += rlen;
        char *own = strdup(*path == '\0' ? "/" : path);
        if (own == NULL)
            v12n_fail(err, ENOMEM, "cgroup: out of memory");
        return own;
    }
    v12n_fail(err, ENOENT, "/proc/self/cgroup: no entry for hierarchy %s",
              m->controllers[0] != '\0' ? m->controllers : "cgroup2");
    return NULL;
}

/* cgroupsPath, cleaned: no "." or empty components, never "..". */
static int normalize_path(const char *in, char **out, v12n_error *err)
{
    size_t len = strlen(in);
    char *buf = calloc(1, len + 2);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "cgroupsPath: out of memory");
    bool absolute = in[0] == '/';
    size_t w = 0;
    for (const char *p = in; *p != '\0';) {
        p += strspn(p, "/");
        size_t clen = strcspn(p, "/");
        if (clen == 0)
            break;
        if (clen == 2 && strncmp(p, "..", 2) == 0) {
            free(buf);
            return v12n_fail(err, EINVAL, "cgroupsPath \"%s\": \"..\" is not allowed", in);
        }
        if (!(clen == 1 && p[0] == '.')) {
            if (w > 0 || absolute)
                buf[w++] = '/';
            memcpy(buf + w, p, clen);
            w += clen;
        }
        p += clen;
    }
    if (w == 0) {
        free(buf);
        return v12n_fail(err, EINVAL, "cgroupsPath \"%s\": names the root cgroup", in);
    }
    *out = buf;
    return 0;
}

/* The container's directory in one hierarchy. */
static int dir_for_mount(const struct cg_mount *m, const char *path, struct cgroup_dir *d,
                         v12n_error *err)
{
    auto_free char *own = NULL;
    if (path[0] != '/') {
        own = own_cgroup(m, err);
        if (own == NULL)
            return -1;
    }
    const char *own_part = own != NULL && strcmp(own, "/") != 0 ? own : "";
    const char *sep = path[0] == '/' ? "" : "/";
    d->controllers = strdup(m->controllers);
    d->mount = strdup(m->mount);
    if (asprintf(&d->path, "%s%s%s%s", m->mount, own_part, sep, path) < 0)
        d->path = NULL;
    if (d->controllers == NULL || d->mount == NULL || d->path == NULL)
        return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    return 0;
}

const struct cgroup_dir *cg_v1_dir(const struct cgroup *cg, const char *controller)
{
    for (size_t i = 0; i < cg->n_dirs; i++) {
        if (controllers_have(cg->dirs[i].controllers, controller))
            return &cg->dirs[i];
    }
    return NULL;
}

const struct cgroup_dir *cg_unified_dir(const struct cgroup *cg)
{
    for (size_t i = 0; i < cg->n_dirs; i++) {
        if (cg->dirs[i].controllers[0] == '\0')
            return &cg->dirs[i];
    }
    return NULL;
}

void cgroup_free(struct cgroup *cg)
{
    if (cg == NULL)
        return;
    for (size_t i = 0; i < cg->n_dirs; i++) {
        free(cg->dirs[i].controllers);
        free(cg->dirs[i].mount);
        free(cg->dirs[i].path);
        free(cg->dirs[i].created_top);
    }
    free(cg->dirs);
    free(cg->root);
    free(cg->path);
    free(cg);
}

static int build_layout(const char *root, const char *path, struct cgroup **out, v12n_error *err)
{
    struct cgroup *cg = calloc(1, sizeof *cg);
    if (cg == NULL)
        return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    char real[PATH_MAX];
    if (realpath(root, real) == NULL) {
        free(cg);
        return v12n_fail_errno(err, "cgroup root %s", root);
    }
    struct cg_mount *mounts = NULL;
    size_t n_mounts = 0;
    if (cgroup_detect_mode(real, &cg->mode, err) < 0 ||
        list_mounts(real, cg->mode, &mounts, &n_mounts, err) < 0) {
        free(cg);
        return -1;
    }
    cg->root = strdup(real);
    cg->path = strdup(path);
    cg->dirs = calloc(n_mounts, sizeof *cg->dirs);
    int rc = 0;
    if (cg->root == NULL || cg->path == NULL || cg->dirs == NULL)
        rc = v12n_fail(err, ENOMEM, "cgroup: out of memory");
    for (size_t i = 0; rc == 0 && i < n_mounts; i++) {
        cg->n_dirs++;
        rc = dir_for_mount(&mounts[i], path, &cg->dirs[i], err);
    }
    cg_mounts_free(mounts, n_mounts);
    if (rc < 0) {
        cgroup_free(cg);
        return -1;
    }
    *out = cg;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Create                                                                    */

/* mkdir every component below the mount, noting the first one made.  A
 * concurrent destroy may remove a shared parent between two mkdirs (ENOENT):
 * start over then. */
static int make_dir(struct cgroup_dir *d, v12n_error *err)
{
    size_t mlen = strlen(d->mount);
    for (int attempt = 0; attempt < 5; attempt++) {
        auto_free char *buf = strdup(d->path);
        if (buf == NULL)
            return v12n_fail(err, ENOMEM, "cgroup: out of memory");
        bool raced = false;
        for (char *p = buf + mlen + 1; !raced; p++) {
            bool last = *p == '\0';
            if (*p != '/' && !last)
                continue;
            *p = '\0';
            if (mkdir(buf, 0755) == 0) {
                if (d->created_top == NULL && (d->created_top = strdup(buf)) == NULL)
                    return v12n_fail(err, ENOMEM, "cgroup: out of memory");
            } else if (errno == ENOENT) {
                raced = true;
                break;
            } else if (errno != EEXIST) {
                return v12n_fail_errno(err, "cgroup %s: mkdir", buf);
            }
            if (controllers_have(d->controllers, "cpuset") &&
                cgv1_copy_cpuset_from_parent(buf, err) < 0)
                return -1;
            if (last)
                return 0;
            *p = '/';
        }
    }
    return v12n_fail(err, ENOENT, "cgroup %s: mkdir: parent keeps disappearing", d->path);
}

static int check_empty(const struct cgroup_dir *d, v12n_error *err)
{
    pid_t *pids = NULL;
    size_t n = 0;
    if (cg_read_procs(d->path, &pids, &n, err) < 0)
        return -1;
    free(pids);
    if (n > 0)
        return v12n_fail(err, EBUSY, "cgroup %s: not empty: %zu process(es) already in it", d->path,
                         n);
    return 0;
}

static int apply_devices(const struct cgroup *cg, const struct cgroup_create_args *args,
                         v12n_error *err)
{
    struct cg_device_rule *rules = NULL;
    size_t n = 0;
    if (cg_device_rules(args->resources, args->devices, args->n_devices, &rules, &n, err) < 0)
        return -1;
    int rc = 0;
    const struct cgroup_dir *v1 = cg->mode != CGROUP_MODE_V2 ? cg_v1_dir(cg, "devices") : NULL;
    const struct cgroup_dir *v2 = cg_unified_dir(cg);
    if (v1 != NULL) {
        rc = cgv1_apply_devices(v1->path, rules, n, err);
    } else if (v2 != NULL) {
        struct cg_device_state state;
        rc = cg_devices_emulate(rules, n, &state, err);
        /* Allowing everything needs no program. */
        if (rc == 0 && !(state.default_allow && state.n == 0))
            rc = cg_bpf_devices_attach(v2->path, &state, err);
        cg_device_state_clear(&state);
    } else if (args->resources != NULL && args->resources->n_devices > 0) {
        rc = v12n_fail(err, 0, "cgroup %s: devices controller not mounted", cg->path);
    }
    free(rules);
    return rc;
}

static int remove_created(struct cgroup *cg, v12n_error *err);

int cgroup_create(const struct cgroup_create_args *args, struct cgroup **out, v12n_error *err)
{
    auto_free char *path = NULL;
    if (args->cgroups_path != NULL && args->cgroups_path[0] != '\0') {
        if (normalize_path(args->cgroups_path, &path, err) < 0)
            return -1;
    } else {
        if (args->id == NULL || args->id[0] == '\0' || strchr(args->id, '/') != NULL ||
            strcmp(args->id, ".") == 0 || strcmp(args->id, "..") == 0)
            return v12n_fail(err, EINVAL, "cgroup: invalid container id \"%s\"",
                             args->id != NULL ? args->id : "");
        if (asprintf(&path, DEFAULT_PARENT "/%s", args->id) < 0)
            return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    }
    struct cgroup *cg = NULL;
    if (build_layout(args->root != NULL ? args->root : "/sys/fs/cgroup", path, &cg, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cg->n_dirs; i++) {
        rc = make_dir(&cg->dirs[i], err);
        /* A leaf that was there with processes belongs to someone else. */
        if (rc == 0 && cg->dirs[i].created_top == NULL)
            rc = check_empty(&cg->dirs[i], err);
    }
    if (rc == 0 && args->resources != NULL)
        rc = cg->mode == CGROUP_MODE_V2 ? cgv2_apply(&cg->dirs[0], args->resources, err)
                                        : cgv1_apply(cg, args->resources, err);
    if (rc == 0)
        rc = apply_devices(cg, args, err);
    if (rc == 0 && args->pid > 0)
        rc = cgroup_enter(cg, args->pid, err);
    if (rc < 0) {
        v12n_error ignored = {0};
        remove_created(cg, &ignored);
        cgroup_free(cg);
        return -1;
    }
    *out = cg;
    return 0;
}

int cgroup_open_v2_dir(const struct cgroup *cg, v12n_error *err)
{
    if (cg->mode != CGROUP_MODE_V2 || cg->n_dirs != 1)
        return v12n_fail(err, ENOTSUP, "cgroup %s: not a pure cgroup v2 host", cg->path);
    int fd = open(cg->dirs[0].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "cgroup %s: open", cg->dirs[0].path);
    return fd;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, v12n_error *err)
{
    for (size_t i = 0; i < cg->n_dirs; i++) {
        if (cg_writef(cg->dirs[i].path, "cgroup.procs", err, "%d", (int)pid) < 0)
            return -1;
    }
    return 0;
}

int cgroup_update(struct cgroup *cg, const struct cgroup_resources *res, v12n_error *err)
{
    /* Devices are left as create set them, as runc's update does. */
    if (cg->mode == CGROUP_MODE_V2)
        return cgv2_apply(&cg->dirs[0], res, err);
    return cgv1_apply(cg, res, err);
}

/* ------------------------------------------------------------------------ */
/* Processes                                                                 */

/* Where the freezer is: the v1 freezer hierarchy, else cgroup2's cgroup.freeze. */
static int freezer_dir(const struct cgroup *cg, const char **dir, bool *v1)
{
    const struct cgroup_dir *d = cg_v1_dir(cg, "freezer");
    *v1 = d != NULL;
    if (d == NULL)
        d = cg_unified_dir(cg);
    if (d == NULL)
        return -1;
    *dir = d->path;
    return 0;
}

int cgroup_freeze(const struct cgroup *cg, bool frozen, v12n_error *err)
{
    const char *dir;
    bool v1;
    if (freezer_dir(cg, &dir, &v1) < 0)
        return v12n_fail(err, ENOTSUP, "cgroup %s: freezer controller not mounted", cg->path);
    return v1 ? cgv1_freeze(dir, frozen, err) : cgv2_freeze(dir, frozen, err);
}

static int is_frozen(const struct cgroup *cg, bool *frozen, v12n_error *err)
{
    const char *dir;
    bool v1;
    *frozen = false;
    if (freezer_dir(cg, &dir, &v1) < 0)
        return 0;
    if (v1) {
        auto_free char *state = cg_read(dir, "freezer.state", err);
        if (state == NULL)
            return -1;
        *frozen = strncmp(state, "FROZEN", 6) == 0;
        return 0;
    }
    uint64_t v = 0;
    bool found = false;
    if (cg_read_keyed(dir, "cgroup.events", "frozen", &v, &found, err) < 0)
        return -1;
    *frozen = found && v == 1;
    return 0;
}

/* Any hierarchy holds every process; prefer ones every setup has. */
static const struct cgroup_dir *procs_dir(const struct cgroup *cg)
{
    static const char *const preferred[] = {"freezer", "pids", "memory", "devices"};
    if (cg->mode == CGROUP_MODE_V2)
        return &cg->dirs[0];
    for (size_t i = 0; i < sizeof preferred / sizeof preferred[0]; i++) {
        const struct cgroup_dir *d = cg_v1_dir(cg, preferred[i]);
        if (d != NULL)
            return d;
    }
    return cg->n_dirs > 0 ? &cg->dirs[0] : NULL;
}

int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, v12n_error *err)
{
    const struct cgroup_dir *d = procs_dir(cg);
    if (d == NULL)
        return v12n_fail(err, ENOENT, "cgroup %s: no hierarchy", cg->path);
    return cg_read_procs(d->path, pids, n, err);
}

static int kill_listed(const struct cgroup *cg, int sig, v12n_error *err)
{
    pid_t *pids = NULL;
    size_t n = 0;
    if (cgroup_pids(cg, &pids, &n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (kill(pids[i], sig) < 0 && errno != ESRCH && rc == 0)
            rc = v12n_fail_errno(err, "cgroup %s: kill %d", cg->path, (int)pids[i]);
    }
    free(pids);
    return rc;
}

int cgroup_signal_all(const struct cgroup *cg, int sig, v12n_error *err)
{
    const struct cgroup_dir *u = cg_unified_dir(cg);
    if (sig == SIGKILL && cg->mode == CGROUP_MODE_V2 && u != NULL) {
        int r = cgv2_kill(u->path, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    /* Frozen, nothing can fork between reading the list and signalling it. */
    bool was_frozen = false;
    if (is_frozen(cg, &was_frozen, err) < 0)
        return -1;
    v12n_error ignored = {0};
    bool froze = !was_frozen && cgroup_freeze(cg, true, &ignored) == 0;
    int rc = kill_listed(cg, sig, err);
    if (froze && cgroup_freeze(cg, false, rc == 0 ? err : &ignored) < 0)
        rc = -1;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Destroy                                                                   */

/* rmdir, killing whatever keeps the directory busy, until the deadline. */
static int remove_leaf(const struct cgroup_dir *d, long long deadline, v12n_error *err)
{
    for (;;) {
        if (rmdir(d->path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return v12n_fail_errno(err, "cgroup %s: rmdir", d->path);
        if (cg_now_ms() >= deadline)
            return v12n_fail(err, EBUSY, "cgroup %s: processes still there after %d s", d->path,
                             DESTROY_TIMEOUT_MS / 1000);
        pid_t *pids = NULL;
        size_t n = 0;
        v12n_error ignored = {0};
        if (cg_read_procs(d->path, &pids, &n, &ignored) == 0) {
            for (size_t i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
            free(pids);
        }
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Parents create made, from the leaf's parent up to created_top, if empty. */
static void remove_created_parents(const struct cgroup_dir *d)
{
    if (d->created_top == NULL)
        return;
    auto_free char *buf = strdup(d->path);
    if (buf == NULL)
        return;
    size_t top = strlen(d->created_top);
    for (char *slash = strrchr(buf, '/'); slash != NULL && (size_t)(slash - buf) >= top;
         slash = strrchr(buf, '/')) {
        *slash = '\0';
        if (rmdir(buf) < 0)
            return;
    }
}

/* A failed create (only_created) leaves nothing.  Otherwise only the leaves
 * go: parents (/v12n, or those of a cgroupsPath) stay, as runc and systemd
 * slices leave them, so the next container does not make them again (10
 * mkdir, 10 rmdir and a cpuset copy per container on a hybrid host). */
static int remove_dirs(struct cgroup *cg, bool only_created, v12n_error *err)
{
    long long deadline = cg_now_ms() + DESTROY_TIMEOUT_MS;
    int rc = 0;
    for (size_t i = 0; i < cg->n_dirs; i++) {
        const struct cgroup_dir *d = &cg->dirs[i];
        if (only_created && d->created_top == NULL)
            continue;
        if (remove_leaf(d, deadline, rc == 0 ? err : &(v12n_error){0}) < 0)
            rc = -1;
        else if (only_created)
            remove_created_parents(d);
    }
    return rc;
}

/* False when the container's processes cannot be read: destroy then
 * assumes the worst and signals. */
static bool cgroup_is_empty(const struct cgroup *cg)
{
    const struct cgroup_dir *d = procs_dir(cg);
    if (d == NULL || !v12n_path_exists(d->path))
        return true;
    pid_t *pids = NULL;
    size_t n = 0;
    v12n_error ignored = {0};
    if (cg_read_procs(d->path, &pids, &n, &ignored) < 0)
        return false;
    free(pids);
    return n == 0;
}

static void thaw_quietly(const struct cgroup *cg)
{
    v12n_error ignored = {0};
    bool frozen = false;
    if (is_frozen(cg, &frozen, &ignored) == 0 && frozen)
        cgroup_freeze(cg, false, &ignored);
}

static int remove_created(struct cgroup *cg, v12n_error *err)
{
    thaw_quietly(cg);
    return remove_dirs(cg, true, err);
}

int cgroup_destroy(struct cgroup *cg, v12n_error *err)
{
    v12n_error ignored = {0};
    /* The cgroup may be half made (delete --force after a failed create).
     * Usually it is empty (after run, or delete of a stopped container):
     * then there is nothing to freeze, kill or thaw.  A process that only
     * reached other hierarchies keeps its directory busy, and remove_leaf
     * kills it there. */
    if (!cgroup_is_empty(cg)) {
        cgroup_signal_all(cg, SIGKILL, &ignored);
        /* SIGKILL only lands on v1-frozen tasks once thawed. */
        thaw_quietly(cg);
    }
    return remove_dirs(cg, false, err);
}

int cgroup_oom_killed(const struct cgroup *cg, bool *killed, v12n_error *err)
{
    *killed = false;
    const struct cgroup_dir *d = cg->mode != CGROUP_MODE_V2 ? cg_v1_dir(cg, "memory") : NULL;
    const char *file = "memory.oom_control";
    if (d == NULL) {
        d = cg_unified_dir(cg);
        file = "memory.events";
    }
    /* Without a memory controller nothing can have been OOM-killed. */
    if (d == NULL || !cg_has_file(d->path, file))
        return 0;
    uint64_t count = 0;
    bool found = false;
    if (cg_read_keyed(d->path, file, "oom_kill", &count, &found, err) < 0)
        return -1;
    *killed = found && count > 0;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */

json_t *cgroup_to_json(const struct cgroup *cg)
{
    json_t *dirs = json_array();
    for (size_t i = 0; dirs != NULL && i < cg->n_dirs; i++) {
        const struct cgroup_dir *d = &cg->dirs[i];
        json_t *j = json_pack("{s:s, s:s, s:s, s:s?}", "controllers", d->controllers, "mount",
                              d->mount, "path", d->path, "created", d->created_top);
        if (j == NULL || json_array_append_new(dirs, j) < 0) {
            json_decref(dirs);
            return NULL;
        }
    }
    if (dirs == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:o}", "mode", cgroup_mode_name(cg->mode), "root", cg->root,
                     "path", cg->path, "dirs", dirs);
}

static int dir_from_json(json_t *j, struct cgroup_dir *d, size_t i, v12n_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "cgroup.dirs[%zu]", i);
    const char *controllers = NULL, *mount = NULL, *path = NULL, *created = NULL;
    if (!json_is_object(j))
        return v12n_fail(err, 0, "%s: expected an object", where);
    if (v12n_json_get_string(j, "controllers", &controllers, where, err) < 0 ||
        v12n_json_get_string(j, "mount", &mount, where, err) < 0 ||
        v12n_json_get_string(j, "path", &path, where, err) < 0 ||
        v12n_json_get_string(j, "created", &created, where, err) < 0)
        return -1;
    if (controllers == NULL || mount == NULL || path == NULL)
        return v12n_fail(err, 0, "%s: controllers, mount and path are required", where);
    d->controllers = strdup(controllers);
    d->mount = strdup(mount);
    d->path = strdup(path);
    d->created_top = created != NULL ? strdup(created) : NULL;
    if (d->controllers == NULL || d->mount == NULL || d->path == NULL ||
        (created != NULL && d->created_top == NULL))
        return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    return 0;
}

static int fill_from_json(json_t *j, struct cgroup *cg, v12n_error *err)
{
    const char *mode = NULL, *root = NULL, *path = NULL;
    json_t *dirs = NULL;
    if (!json_is_object(j))
        return v12n_fail(err, 0, "cgroup: expected an object");
    if (v12n_json_get_string(j, "mode", &mode, "cgroup", err) < 0 ||
        v12n_json_get_string(j, "root", &root, "cgroup", err) < 0 ||
        v12n_json_get_string(j, "path", &path, "cgroup", err) < 0 ||
        v12n_json_get_array(j, "dirs", &dirs, "cgroup", err) < 0)
        return -1;
    if (mode == NULL || root == NULL || path == NULL || dirs == NULL)
        return v12n_fail(err, 0, "cgroup: mode, root, path and dirs are required");
    if (mode_from_name(mode, &cg->mode) < 0)
        return v12n_fail(err, 0, "cgroup.mode: unknown mode \"%s\"", mode);
    cg->root = strdup(root);
    cg->path = strdup(path);
    cg->dirs = calloc(json_array_size(dirs) + 1, sizeof *cg->dirs);
    if (cg->root == NULL || cg->path == NULL || cg->dirs == NULL)
        return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    for (size_t i = 0; i < json_array_size(dirs); i++) {
        cg->n_dirs++;
        if (dir_from_json(json_array_get(dirs, i), &cg->dirs[i], i, err) < 0)
            return -1;
    }
    if (cg->mode == CGROUP_MODE_V2 && (cg->n_dirs != 1 || cg->dirs[0].controllers[0] != '\0'))
        return v12n_fail(err, 0, "cgroup: a v2 cgroup has exactly one cgroup2 directory");
    return 0;
}

int cgroup_from_json(json_t *j, struct cgroup **out, v12n_error *err)
{
    struct cgroup *cg = calloc(1, sizeof *cg);
    if (cg == NULL)
        return v12n_fail(err, ENOMEM, "cgroup: out of memory");
    if (fill_from_json(j, cg, err) < 0) {
        cgroup_free(cg);
        return -1;
    }
    *out = cg;
    return 0;
}
