#include "container/spec.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "container/caps.h"
#include "container/cgroup.h"
#include "container/seccomp.h"
#include "util/cleanup.h"
#include "util/json.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
    const char *name;      /* config.json "type" */
    const char *proc_name; /* /proc/<pid>/ns/<name> */
    int flag;
} ns_table[OCI_NS_COUNT] = {
    [OCI_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [OCI_NS_NETWORK] = {"network", "net", CLONE_NEWNET},
    [OCI_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
    [OCI_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [OCI_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [OCI_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [OCI_NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

const char *oci_ns_name(enum oci_ns_type t)
{
    return ns_table[t].name;
}

const char *oci_ns_proc_name(enum oci_ns_type t)
{
    return ns_table[t].proc_name;
}

int oci_ns_clone_flag(enum oci_ns_type t)
{
    return ns_table[t].flag;
}

int oci_ns_from_name(const char *name, enum oci_ns_type *out)
{
    for (int i = 0; i < OCI_NS_COUNT; i++) {
        if (strcmp(ns_table[i].name, name) == 0) {
            *out = (enum oci_ns_type)i;
            return 0;
        }
    }
    return -1;
}

static const char *const hook_names[OCI_HOOK_KIND_COUNT] = {
    [OCI_HOOK_PRESTART] = "prestart",
    [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
    [OCI_HOOK_START_CONTAINER] = "startContainer",
    [OCI_HOOK_POSTSTART] = "poststart",
    [OCI_HOOK_POSTSTOP] = "poststop",
};

const char *oci_hook_kind_name(enum oci_hook_kind k)
{
    return hook_names[k];
}

/* ---- small parsing helpers ---- */

static int get_strv(json_t *obj, const char *key, char ***out, const char *where, v12n_error *err)
{
    json_t *arr;
    if (v12n_json_get_array(obj, key, &arr, where, err) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    char field[256];
    snprintf(field, sizeof field, "%s.%s", where, key);
    return v12n_json_string_array(arr, out, field, err);
}

static int get_dup_string(json_t *obj, const char *key, char **out, const char *where,
                          v12n_error *err)
{
    const char *s = NULL;
    if (v12n_json_get_string(obj, key, &s, where, err) < 0)
        return -1;
    if (s != NULL && (*out = strdup(s)) == NULL)
        return v12n_fail(err, ENOMEM, "%s.%s", where, key);
    return 0;
}

/* ---- process ---- */

static const struct {
    const char *name;
    int resource;
} rlimit_table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimits(json_t *arr, struct oci_process *p, v12n_error *err)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    p->rlimits = calloc(n, sizeof *p->rlimits);
    if (p->rlimits == NULL)
        return v12n_fail(err, ENOMEM, "process.rlimits");
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        char where[64];
        snprintf(where, sizeof where, "process.rlimits[%zu]", i);
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", where);
        const char *type = NULL;
        struct oci_rlimit *r = &p->rlimits[p->n_rlimits];
        if (v12n_json_get_string(item, "type", &type, where, err) < 0 ||
            v12n_json_get_uint64(item, "soft", &r->soft, where, err) < 0 ||
            v12n_json_get_uint64(item, "hard", &r->hard, where, err) < 0)
            return -1;
        if (type == NULL)
            return v12n_fail(err, 0, "%s.type: missing", where);
        r->resource = -1;
        for (size_t k = 0; k < sizeof rlimit_table / sizeof rlimit_table[0]; k++)
            if (strcmp(rlimit_table[k].name, type) == 0)
                r->resource = rlimit_table[k].resource;
        if (r->resource < 0)
            return v12n_fail(err, 0, "%s.type: unknown rlimit \"%s\"", where, type);
        if (r->soft > r->hard)
            return v12n_fail(err, 0, "%s: soft limit %llu above hard limit %llu for %s", where,
                             (unsigned long long)r->soft, (unsigned long long)r->hard, type);
        r->name = strdup(type);
        p->n_rlimits++;
    }
    return 0;
}

static int parse_process_user(json_t *obj, struct oci_process *p, v12n_error *err)
{
    json_t *user;
    if (v12n_json_get_object(obj, "user", &user, "process", err) < 0)
        return -1;
    if (user == NULL)
        return 0;
    int64_t umask_val = -1;
    json_t *gids;
    if (v12n_json_get_uint32(user, "uid", &p->uid, "process.user", err) < 0 ||
        v12n_json_get_uint32(user, "gid", &p->gid, "process.user", err) < 0 ||
        v12n_json_get_int64(user, "umask", &umask_val, "process.user", err) < 0 ||
        v12n_json_get_array(user, "additionalGids", &gids, "process.user", err) < 0)
        return -1;
    if (json_object_get(user, "username") != NULL)
        return v12n_fail(err, 0, "process.user.username: only for Windows containers");
    if (umask_val >= 0) {
        if (umask_val > 0777)
            return v12n_fail(err, 0, "process.user.umask: %lld out of range", (long long)umask_val);
        p->has_umask = true;
        p->umask = (uint32_t)umask_val;
    }
    size_t n = json_array_size(gids);
    if (n > 0 && (p->additional_gids = calloc(n, sizeof(uint32_t))) == NULL)
        return v12n_fail(err, ENOMEM, "process.user.additionalGids");
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_array_get(gids, i);
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX)
            return v12n_fail(err, 0, "process.user.additionalGids[%zu]: expected a gid", i);
        p->additional_gids[p->n_additional_gids++] = (uint32_t)json_integer_value(g);
    }
    return 0;
}

static int parse_console_size(json_t *obj, struct oci_process *p, v12n_error *err)
{
    json_t *size;
    if (v12n_json_get_object(obj, "consoleSize", &size, "process", err) < 0)
        return -1;
    if (size == NULL)
        return 0;
    uint32_t h = 0, w = 0;
    if (v12n_json_get_uint32(size, "height", &h, "process.consoleSize", err) < 0 ||
        v12n_json_get_uint32(size, "width", &w, "process.consoleSize", err) < 0)
        return -1;
    if (h > USHRT_MAX || w > USHRT_MAX)
        return v12n_fail(err, 0, "process.consoleSize: %ux%u too large", w, h);
    p->console_height = (unsigned short)h;
    p->console_width = (unsigned short)w;
    return 0;
}

int oci_process_parse(json_t *obj, struct oci_process *p, v12n_error *err)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(obj))
        return v12n_fail(err, 0, "process: expected an object");
    json_t *caps, *rlimits;
    int64_t oom = 0;
    if (v12n_json_get_bool(obj, "terminal", &p->terminal, "process", err) < 0 ||
        parse_console_size(obj, p, err) < 0 ||
        get_strv(obj, "args", &p->args, "process", err) < 0 ||
        get_strv(obj, "env", &p->env, "process", err) < 0 ||
        get_dup_string(obj, "cwd", &p->cwd, "process", err) < 0 ||
        parse_process_user(obj, p, err) < 0 ||
        v12n_json_get_object(obj, "capabilities", &caps, "process", err) < 0 ||
        v12n_json_get_array(obj, "rlimits", &rlimits, "process", err) < 0 ||
        v12n_json_get_bool(obj, "noNewPrivileges", &p->no_new_privileges, "process", err) < 0 ||
        get_dup_string(obj, "apparmorProfile", &p->apparmor_profile, "process", err) < 0 ||
        get_dup_string(obj, "selinuxLabel", &p->selinux_label, "process", err) < 0)
        return -1;
    if (json_object_get(obj, "commandLine") != NULL)
        return v12n_fail(err, 0, "process.commandLine: only for Windows containers");
    if (p->args == NULL || p->args[0] == NULL)
        return v12n_fail(err, 0, "process.args: must name the program to run");
    if (p->cwd == NULL && (p->cwd = strdup("/")) == NULL)
        return v12n_fail(err, ENOMEM, "process.cwd");
    if (p->cwd[0] != '/')
        return v12n_fail(err, 0, "process.cwd: \"%s\" is not an absolute path", p->cwd);
    if (json_object_get(obj, "oomScoreAdj") != NULL) {
        if (v12n_json_get_int64(obj, "oomScoreAdj", &oom, "process", err) < 0)
            return -1;
        if (oom < -1000 || oom > 1000)
            return v12n_fail(err, 0, "process.oomScoreAdj: %lld not in -1000..1000",
                             (long long)oom);
        p->has_oom_score_adj = true;
        p->oom_score_adj = (int)oom;
    }
    if (caps != NULL) {
        if ((p->caps = calloc(1, sizeof *p->caps)) == NULL)
            return v12n_fail(err, ENOMEM, "process.capabilities");
        if (caps_parse(caps, p->caps, err) < 0)
            return -1;
    }
    return parse_rlimits(rlimits, p, err);
}

void oci_process_clear(struct oci_process *p)
{
    v12n_strv_free(p->args);
    v12n_strv_free(p->env);
    free(p->cwd);
    free(p->additional_gids);
    free(p->caps);
    for (size_t i = 0; i < p->n_rlimits; i++)
        free(p->rlimits[i].name);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    memset(p, 0, sizeof *p);
}

/* ---- mounts ---- */

static const struct {
    const char *name;
    unsigned long set, clear;
} mount_flag_table[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"atime", 0, MS_NOATIME},
    {"noatime", MS_NOATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"defaults", 0, 0},
};

static const struct {
    const char *name;
    unsigned long flags;
} propagation_table[] = {
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int propagation_from_name(const char *name, unsigned long *out)
{
    for (size_t i = 0; i < sizeof propagation_table / sizeof propagation_table[0]; i++) {
        if (strcmp(propagation_table[i].name, name) == 0) {
            *out = propagation_table[i].flags;
            return 0;
        }
    }
    return -1;
}

/* Options that name no MS_ flag go to the filesystem as data ("size=64k"). */
static int append_data(char **data, const char *opt)
{
    size_t old = *data ? strlen(*data) : 0;
    char *grown = realloc(*data, old + strlen(opt) + 2);
    if (grown == NULL)
        return -1;
    if (old > 0)
        grown[old++] = ',';
    strcpy(grown + old, opt);
    *data = grown;
    return 0;
}

static int classify_mount_option(struct oci_mount *m, const char *opt)
{
    for (size_t i = 0; i < sizeof mount_flag_table / sizeof mount_flag_table[0]; i++) {
        if (strcmp(mount_flag_table[i].name, opt) == 0) {
            m->flags = (m->flags & ~mount_flag_table[i].clear) | mount_flag_table[i].set;
            m->clear_flags =
                (m->clear_flags & ~mount_flag_table[i].set) | mount_flag_table[i].clear;
            if (mount_flag_table[i].set & MS_BIND)
                m->bind = true;
            return 0;
        }
    }
    unsigned long prop;
    if (propagation_from_name(opt, &prop) == 0) {
        m->propagation = prop;
        return 0;
    }
    /* idmap/ridmap and friends are not supported: refuse rather than ignore. */
    if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0)
        return 1;
    return append_data(&m->data, opt) < 0 ? -1 : 0;
}

static int parse_mount(json_t *item, size_t i, struct oci_mount *m, v12n_error *err)
{
    char where[64];
    snprintf(where, sizeof where, "mounts[%zu]", i);
    if (!json_is_object(item))
        return v12n_fail(err, 0, "%s: expected an object", where);
    if (get_dup_string(item, "destination", &m->destination, where, err) < 0 ||
        get_dup_string(item, "type", &m->type, where, err) < 0 ||
        get_dup_string(item, "source", &m->source, where, err) < 0 ||
        get_strv(item, "options", &m->options, where, err) < 0)
        return -1;
    if (m->destination == NULL)
        return v12n_fail(err, 0, "%s.destination: missing", where);
    if (m->destination[0] != '/')
        return v12n_fail(err, 0, "%s.destination: \"%s\" is not an absolute path", where,
                         m->destination);
    if (json_object_get(item, "uidMappings") != NULL || json_object_get(item, "gidMappings"))
        return v12n_fail(err, 0, "%s: idmapped mounts are not supported", where);
    for (char **o = m->options; o != NULL && *o != NULL; o++) {
        int r = classify_mount_option(m, *o);
        if (r < 0)
            return v12n_fail(err, ENOMEM, "%s.options", where);
        if (r > 0)
            return v12n_fail(err, 0, "%s.options: \"%s\" is not supported", where, *o);
    }
    if (m->type != NULL && strcmp(m->type, "bind") == 0)
        m->bind = true;
    if (m->bind && m->source == NULL)
        return v12n_fail(err, 0, "%s.source: a bind mount needs a source", where);
    return 0;
}

static int parse_mounts(json_t *root, struct oci_spec *s, const char *bundle, v12n_error *err)
{
    json_t *arr;
    if (v12n_json_get_array(root, "mounts", &arr, "config", err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if ((s->mounts = calloc(n, sizeof *s->mounts)) == NULL)
        return v12n_fail(err, ENOMEM, "mounts");
    for (size_t i = 0; i < n; i++) {
        struct oci_mount *m = &s->mounts[i];
        s->n_mounts++;
        if (parse_mount(json_array_get(arr, i), i, m, err) < 0)
            return -1;
        /* A relative bind source is relative to the bundle, as runc does. */
        if (m->bind && m->source[0] != '/' && bundle != NULL) {
            char *abs = NULL;
            if (asprintf(&abs, "%s/%s", bundle, m->source) < 0)
                return v12n_fail(err, ENOMEM, "mounts");
            free(m->source);
            m->source = abs;
        }
    }
    return 0;
}

/* ---- hooks ---- */

static int parse_hook_list(json_t *arr, const char *kind, struct oci_hook_list *list,
                           v12n_error *err)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if ((list->hooks = calloc(n, sizeof *list->hooks)) == NULL)
        return v12n_fail(err, ENOMEM, "hooks.%s", kind);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        struct oci_hook *h = &list->hooks[i];
        list->n++;
        char where[64];
        snprintf(where, sizeof where, "hooks.%s[%zu]", kind, i);
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", where);
        int64_t timeout = 0;
        if (get_dup_string(item, "path", &h->path, where, err) < 0 ||
            get_strv(item, "args", &h->args, where, err) < 0 ||
            get_strv(item, "env", &h->env, where, err) < 0 ||
            v12n_json_get_int64(item, "timeout", &timeout, where, err) < 0)
            return -1;
        if (h->path == NULL || h->path[0] != '/')
            return v12n_fail(err, 0, "%s.path: must be an absolute path", where);
        if (timeout < 0 || timeout > INT_MAX)
            return v12n_fail(err, 0, "%s.timeout: must be a positive number of seconds", where);
        h->timeout = (int)timeout;
    }
    return 0;
}

static int parse_hooks(json_t *root, struct oci_spec *s, v12n_error *err)
{
    json_t *hooks;
    if (v12n_json_get_object(root, "hooks", &hooks, "config", err) < 0)
        return -1;
    if (hooks == NULL)
        return 0;
    for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++) {
        json_t *arr;
        if (v12n_json_get_array(hooks, hook_names[k], &arr, "hooks", err) < 0 ||
            parse_hook_list(arr, hook_names[k], &s->hooks[k], err) < 0)
            return -1;
    }
    return 0;
}

/* ---- linux ---- */

static int parse_namespaces(json_t *linux_obj, struct oci_spec *s, v12n_error *err)
{
    json_t *arr;
    if (v12n_json_get_array(linux_obj, "namespaces", &arr, "linux", err) < 0)
        return -1;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        char where[64];
        snprintf(where, sizeof where, "linux.namespaces[%zu]", i);
        const char *type = NULL, *path = NULL;
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", where);
        if (v12n_json_get_string(item, "type", &type, where, err) < 0 ||
            v12n_json_get_string(item, "path", &path, where, err) < 0)
            return -1;
        enum oci_ns_type t;
        if (type == NULL || oci_ns_from_name(type, &t) < 0)
            return v12n_fail(err, 0, "%s.type: unknown namespace \"%s\"", where,
                             type ? type : "(missing)");
        if (s->namespaces[t].wanted)
            return v12n_fail(err, 0, "%s: namespace \"%s\" listed twice", where, type);
        s->namespaces[t].wanted = true;
        if (path != NULL && path[0] != '\0' && (s->namespaces[t].path = strdup(path)) == NULL)
            return v12n_fail(err, ENOMEM, "%s", where);
    }
    return 0;
}

static int parse_id_mappings(json_t *linux_obj, const char *key, struct oci_id_mapping **out,
                             size_t *n_out, v12n_error *err)
{
    json_t *arr;
    if (v12n_json_get_array(linux_obj, key, &arr, "linux", err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if ((*out = calloc(n, sizeof **out)) == NULL)
        return v12n_fail(err, ENOMEM, "linux.%s", key);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        char where[64];
        snprintf(where, sizeof where, "linux.%s[%zu]", key, i);
        struct oci_id_mapping *m = &(*out)[i];
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", where);
        if (v12n_json_get_uint32(item, "containerID", &m->container_id, where, err) < 0 ||
            v12n_json_get_uint32(item, "hostID", &m->host_id, where, err) < 0 ||
            v12n_json_get_uint32(item, "size", &m->size, where, err) < 0)
            return -1;
        if (m->size == 0)
            return v12n_fail(err, 0, "%s.size: must be at least 1", where);
        (*n_out)++;
    }
    return 0;
}

static int parse_devices(json_t *linux_obj, struct oci_spec *s, v12n_error *err)
{
    json_t *arr;
    if (v12n_json_get_array(linux_obj, "devices", &arr, "linux", err) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if ((s->devices = calloc(n, sizeof *s->devices)) == NULL)
        return v12n_fail(err, ENOMEM, "linux.devices");
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        struct oci_device *d = &s->devices[i];
        s->n_devices++;
        char where[64];
        snprintf(where, sizeof where, "linux.devices[%zu]", i);
        const char *type = NULL;
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", where);
        if (v12n_json_get_string(item, "type", &type, where, err) < 0 ||
            get_dup_string(item, "path", &d->path, where, err) < 0 ||
            v12n_json_get_int64(item, "major", &d->major, where, err) < 0 ||
            v12n_json_get_int64(item, "minor", &d->minor, where, err) < 0)
            return -1;
        d->has_file_mode = json_object_get(item, "fileMode") != NULL;
        d->has_uid = json_object_get(item, "uid") != NULL;
        d->has_gid = json_object_get(item, "gid") != NULL;
        if (v12n_json_get_uint32(item, "fileMode", &d->file_mode, where, err) < 0 ||
            v12n_json_get_uint32(item, "uid", &d->uid, where, err) < 0 ||
            v12n_json_get_uint32(item, "gid", &d->gid, where, err) < 0)
            return -1;
        if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
            return v12n_fail(err, 0, "%s.type: expected one of c, b, u, p", where);
        d->type = type[0];
        if (d->path == NULL || d->path[0] != '/')
            return v12n_fail(err, 0, "%s.path: must be an absolute path", where);
        if (d->type != 'p' && (d->major < 0 || d->minor < 0))
            return v12n_fail(err, 0, "%s: a %c device needs major and minor numbers", where,
                             d->type);
    }
    return 0;
}

static int parse_sysctls(json_t *linux_obj, struct oci_spec *s, v12n_error *err)
{
    json_t *obj;
    if (v12n_json_get_object(linux_obj, "sysctl", &obj, "linux", err) < 0)
        return -1;
    size_t n = json_object_size(obj);
    if (n == 0)
        return 0;
    if ((s->sysctls = calloc(n, sizeof *s->sysctls)) == NULL)
        return v12n_fail(err, ENOMEM, "linux.sysctl");
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (!json_is_string(value))
            return v12n_fail(err, 0, "linux.sysctl.%s: expected a string", key);
        if (strstr(key, "..") != NULL || key[0] == '/' || key[0] == '.')
            return v12n_fail(err, 0, "linux.sysctl: invalid key \"%s\"", key);
        struct oci_sysctl *sc = &s->sysctls[s->n_sysctls++];
        sc->key = strdup(key);
        sc->value = strdup(json_string_value(value));
    }
    return 0;
}

static int parse_time_offsets(json_t *linux_obj, struct oci_spec *s, v12n_error *err)
{
    json_t *obj;
    if (v12n_json_get_object(linux_obj, "timeOffsets", &obj, "linux", err) < 0)
        return -1;
    if (obj == NULL)
        return 0;
    json_t *mono, *boot;
    if (v12n_json_get_object(obj, "monotonic", &mono, "linux.timeOffsets", err) < 0 ||
        v12n_json_get_object(obj, "boottime", &boot, "linux.timeOffsets", err) < 0)
        return -1;
    s->time_offsets.set = true;
    uint32_t mono_ns = 0, boot_ns = 0;
    if (v12n_json_get_int64(mono, "secs", &s->time_offsets.mono_secs, "linux.timeOffsets.monotonic",
                            err) < 0 ||
        v12n_json_get_uint32(mono, "nanosecs", &mono_ns, "linux.timeOffsets.monotonic", err) < 0 ||
        v12n_json_get_int64(boot, "secs", &s->time_offsets.boot_secs, "linux.timeOffsets.boottime",
                            err) < 0 ||
        v12n_json_get_uint32(boot, "nanosecs", &boot_ns, "linux.timeOffsets.boottime", err) < 0)
        return -1;
    s->time_offsets.mono_nanosecs = mono_ns;
    s->time_offsets.boot_nanosecs = boot_ns;
    return 0;
}

static int parse_linux_security(json_t *linux_obj, struct oci_spec *s, const char *seccomp_cache,
                                v12n_error *err)
{
    json_t *seccomp, *resources, *masked, *ro;
    const char *propagation = NULL;
    if (v12n_json_get_object(linux_obj, "seccomp", &seccomp, "linux", err) < 0 ||
        v12n_json_get_object(linux_obj, "resources", &resources, "linux", err) < 0 ||
        v12n_json_get_array(linux_obj, "maskedPaths", &masked, "linux", err) < 0 ||
        v12n_json_get_array(linux_obj, "readonlyPaths", &ro, "linux", err) < 0 ||
        v12n_json_get_string(linux_obj, "rootfsPropagation", &propagation, "linux", err) < 0 ||
        get_dup_string(linux_obj, "mountLabel", &s->mount_label, "linux", err) < 0 ||
        get_dup_string(linux_obj, "cgroupsPath", &s->cgroups_path, "linux", err) < 0)
        return -1;
    if (masked && v12n_json_string_array(masked, &s->masked_paths, "linux.maskedPaths", err) < 0)
        return -1;
    if (ro && v12n_json_string_array(ro, &s->readonly_paths, "linux.readonlyPaths", err) < 0)
        return -1;
    if (propagation != NULL && propagation[0] != '\0' &&
        propagation_from_name(propagation, &s->rootfs_propagation) < 0)
        return v12n_fail(err, 0, "linux.rootfsPropagation: unknown propagation \"%s\"",
                         propagation);
    if (seccomp != NULL &&
        seccomp_profile_parse_cached(seccomp, seccomp_cache, &s->seccomp, err) < 0)
        return -1;
    if (resources != NULL) {
        s->resources_json = resources;
        if (cgroup_resources_parse(resources, &s->resources, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_linux(json_t *root, struct oci_spec *s, const char *seccomp_cache, v12n_error *err)
{
    json_t *linux_obj;
    if (v12n_json_get_object(root, "linux", &linux_obj, "config", err) < 0)
        return -1;
    if (linux_obj == NULL)
        return 0;
    if (parse_namespaces(linux_obj, s, err) < 0 ||
        parse_id_mappings(linux_obj, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) <
            0 ||
        parse_id_mappings(linux_obj, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) <
            0 ||
        parse_devices(linux_obj, s, err) < 0 || parse_sysctls(linux_obj, s, err) < 0 ||
        parse_time_offsets(linux_obj, s, err) < 0 ||
        parse_linux_security(linux_obj, s, seccomp_cache, err) < 0)
        return -1;
    if (s->namespaces[OCI_NS_USER].wanted && s->namespaces[OCI_NS_USER].path == NULL &&
        (s->n_uid_mappings == 0 || s->n_gid_mappings == 0))
        return v12n_fail(err, 0, "linux: a new user namespace needs uidMappings and gidMappings");
    if (!s->namespaces[OCI_NS_USER].wanted && (s->n_uid_mappings > 0 || s->n_gid_mappings > 0))
        return v12n_fail(err, 0, "linux.uidMappings: given without a user namespace");
    if (s->time_offsets.set && !s->namespaces[OCI_NS_TIME].wanted)
        return v12n_fail(err, 0, "linux.timeOffsets: given without a time namespace");
    return 0;
}

/* ---- top level ---- */

static int parse_root(json_t *root, struct oci_spec *s, const char *bundle, v12n_error *err)
{
    json_t *root_obj;
    const char *path = NULL;
    if (v12n_json_get_object(root, "root", &root_obj, "config", err) < 0)
        return -1;
    if (root_obj == NULL)
        return v12n_fail(err, 0, "config: \"root\" is missing");
    if (v12n_json_get_string(root_obj, "path", &path, "root", err) < 0 ||
        v12n_json_get_bool(root_obj, "readonly", &s->root_readonly, "root", err) < 0)
        return -1;
    if (path == NULL || path[0] == '\0')
        return v12n_fail(err, 0, "root.path: missing");
    int r = (path[0] == '/' || bundle == NULL) ? asprintf(&s->root_path, "%s", path)
                                               : asprintf(&s->root_path, "%s/%s", bundle, path);
    if (r < 0)
        return v12n_fail(err, ENOMEM, "root.path");
    return 0;
}

static int parse_version(json_t *root, struct oci_spec *s, v12n_error *err)
{
    if (get_dup_string(root, "ociVersion", &s->oci_version, "config", err) < 0)
        return -1;
    if (s->oci_version == NULL)
        return v12n_fail(err, 0, "config: \"ociVersion\" is missing");
    /* We implement 1.0 through 1.2; refuse a major version we cannot know. */
    if (strncmp(s->oci_version, "1.", 2) != 0)
        return v12n_fail(err, 0, "ociVersion: unsupported version \"%s\" (1.x expected)",
                         s->oci_version);
    return 0;
}

int oci_spec_parse(json_t *json, const char *bundle, const char *seccomp_cache,
                   struct oci_spec **out, v12n_error *err)
{
    if (!json_is_object(json))
        return v12n_fail(err, 0, "config: expected a JSON object");
    struct oci_spec *s = calloc(1, sizeof *s);
    if (s == NULL)
        return v12n_fail(err, ENOMEM, "config");
    s->json = json_incref(json);
    json_t *process, *annotations;
    int r = parse_version(json, s, err);
    if (r == 0)
        r = parse_root(json, s, bundle, err);
    if (r == 0)
        r = get_dup_string(json, "hostname", &s->hostname, "config", err);
    if (r == 0)
        r = get_dup_string(json, "domainname", &s->domainname, "config", err);
    if (r == 0)
        r = v12n_json_get_object(json, "process", &process, "config", err);
    if (r == 0 && process != NULL) {
        s->has_process = true;
        r = oci_process_parse(process, &s->process, err);
    }
    if (r == 0)
        r = parse_mounts(json, s, bundle, err);
    if (r == 0)
        r = parse_hooks(json, s, err);
    if (r == 0)
        r = v12n_json_get_object(json, "annotations", &annotations, "config", err);
    if (r == 0)
        s->annotations = annotations;
    if (r == 0)
        r = parse_linux(json, s, seccomp_cache, err);
    if (r == 0 && s->hostname != NULL && !s->namespaces[OCI_NS_UTS].wanted)
        r = v12n_fail(err, 0, "hostname: setting it needs a new uts namespace");
    if (r < 0) {
        oci_spec_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int oci_spec_load(const char *bundle, const char *seccomp_cache, struct oci_spec **out,
                  v12n_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
        return v12n_fail(err, ENAMETOOLONG, "bundle %s", bundle);
    auto_json json_t *json = v12n_json_load(path, err);
    if (json == NULL)
        return -1;
    if (oci_spec_parse(json, bundle, seccomp_cache, out, err) < 0)
        return v12n_error_wrap(err, "%s", path);
    return 0;
}

static void free_mount(struct oci_mount *m)
{
    free(m->destination);
    free(m->type);
    free(m->source);
    v12n_strv_free(m->options);
    free(m->data);
}

static void free_hooks(struct oci_hook_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->hooks[i].path);
        v12n_strv_free(list->hooks[i].args);
        v12n_strv_free(list->hooks[i].env);
    }
    free(list->hooks);
}

void oci_spec_free(struct oci_spec *s)
{
    if (s == NULL)
        return;
    free(s->oci_version);
    free(s->root_path);
    free(s->hostname);
    free(s->domainname);
    oci_process_clear(&s->process);
    for (size_t i = 0; i < s->n_mounts; i++)
        free_mount(&s->mounts[i]);
    free(s->mounts);
    for (int k = 0; k < OCI_HOOK_KIND_COUNT; k++)
        free_hooks(&s->hooks[k]);
    for (int t = 0; t < OCI_NS_COUNT; t++)
        free(s->namespaces[t].path);
    free(s->uid_mappings);
    free(s->gid_mappings);
    for (size_t i = 0; i < s->n_devices; i++)
        free(s->devices[i].path);
    free(s->devices);
    free(s->cgroups_path);
    cgroup_resources_free(s->resources);
    seccomp_profile_free(s->seccomp);
    for (size_t i = 0; i < s->n_sysctls; i++) {
        free(s->sysctls[i].key);
        free(s->sysctls[i].value);
    }
    free(s->sysctls);
    v12n_strv_free(s->masked_paths);
    v12n_strv_free(s->readonly_paths);
    free(s->mount_label);
    json_decref(s->json);
    free(s);
}
