/* Commands on an existing container: state, list, kill, delete, ps, pause,
 * resume, update, and the runtime's features. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/caps.h"
#include "container/cgroup.h"
#include "container/container.h"
#include "container/container_internal.h"
#include "container/hooks.h"
#include "container/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

void container_warn(const struct runtime_ctx *ctx, const v12n_error *err)
{
    if (ctx->warn != NULL)
        ctx->warn(err);
}

const char *container_seccomp_cache(const struct runtime_ctx *ctx, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/.seccomp-cache", ctx->state_root);
    return (n > 0 && (size_t)n < len) ? buf : NULL;
}

bool container_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 1024 || !isalnum((unsigned char)id[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && strchr("_.-+", id[i]) == NULL)
            return false;
    return true;
}

int container_load_config(const struct runtime_ctx *ctx, const char *id, const char *bundle,
                          struct oci_spec **spec, v12n_error *err)
{
    char path[PATH_MAX];
    if (state_path(ctx->state_root, id, STATE_CONFIG, path, sizeof path, err) < 0)
        return -1;
    auto_json json_t *json = v12n_json_load(path, err);
    if (json == NULL)
        return -1;
    char cache[PATH_MAX];
    return oci_spec_parse(json, bundle, container_seccomp_cache(ctx, cache, sizeof cache), spec,
                          err);
}

int container_process_template(const struct runtime_ctx *ctx, const char *id, json_t **out,
                               v12n_error *err)
{
    if (!container_id_valid(id))
        return v12n_fail(err, EINVAL, "invalid container id \"%s\"", id);
    char path[PATH_MAX];
    if (state_path(ctx->state_root, id, STATE_CONFIG, path, sizeof path, err) < 0)
        return -1;
    if (access(path, F_OK) < 0)
        return v12n_fail(err, ENOENT, "container %s does not exist", id);
    auto_json json_t *json = v12n_json_load(path, err);
    if (json == NULL)
        return -1;
    json_t *process = json_object_get(json, "process");
    *out = json_is_object(process) ? json_deep_copy(process) : json_object();
    return 0;
}

/* Load a container's state, with the lock held when lock_fd is given. */
static int open_container(const struct runtime_ctx *ctx, const char *id, int *lock_fd,
                          struct container_state *st, v12n_error *err)
{
    if (!container_id_valid(id))
        return v12n_fail(err, EINVAL, "invalid container id \"%s\"", id);
    if (lock_fd != NULL && (*lock_fd = state_lock(ctx->state_root, id, err)) < 0)
        return -1;
    return state_load(ctx->state_root, id, st, err);
}

static int load_cgroup(const struct container_state *st, struct cgroup **cg, v12n_error *err)
{
    *cg = NULL;
    if (st->cgroup == NULL)
        return 0;
    return cgroup_from_json(st->cgroup, cg, err);
}

int container_state(const struct runtime_ctx *ctx, const char *id, json_t **out, v12n_error *err)
{
    struct container_state st = {0};
    if (open_container(ctx, id, NULL, &st, err) < 0)
        return -1;
    *out = state_to_json(&st, state_status(ctx->state_root, &st));
    state_clear(&st);
    return *out ? 0 : v12n_fail(err, ENOMEM, "container %s: state", id);
}

static int sort_by_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int container_list(const struct runtime_ctx *ctx, json_t **out, v12n_error *err)
{
    *out = json_array();
    auto_closedir DIR *dir = opendir(ctx->state_root);
    if (dir == NULL)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "open %s", ctx->state_root);
    char *ids[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL && n < sizeof ids / sizeof ids[0]) {
        if (de->d_name[0] == '.' || !container_id_valid(de->d_name))
            continue;
        ids[n++] = strdup(de->d_name);
    }
    qsort(ids, n, sizeof ids[0], sort_by_id);
    for (size_t i = 0; i < n; i++) {
        struct container_state st;
        v12n_error ignored = {0};
        if (state_load(ctx->state_root, ids[i], &st, &ignored) == 0) {
            json_array_append_new(*out, state_to_json(&st, state_status(ctx->state_root, &st)));
            state_clear(&st);
        }
        free(ids[i]);
    }
    return 0;
}

int container_parse_signal(const char *s)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (isdigit((unsigned char)s[0])) {
        char *end;
        long v = strtol(s, &end, 10);
        return (*end == '\0' && v > 0 && v < NSIG) ? (int)v : -1;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev != NULL && strcasecmp(abbrev, s) == 0)
            return sig;
    }
    if (strncasecmp(s, "RTMIN+", 6) == 0) {
        int off = atoi(s + 6);
        if (SIGRTMIN + off <= SIGRTMAX)
            return SIGRTMIN + off;
    }
    return -1;
}

/* Signal the init through a pidfd checked against the recorded start time,
 * so a recycled pid is never hit. */
static int signal_init(const struct container_state *st, int sig, v12n_error *err)
{
    auto_close int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (pidfd < 0 || proc_start_time(st->pid, NULL) != st->start_time)
        return v12n_fail(err, ESRCH, "container %s: init process %d", st->id, (int)st->pid);
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
        return v12n_fail_errno(err, "container %s: signal %d to pid %d", st->id, sig, (int)st->pid);
    return 0;
}

int container_kill(const struct runtime_ctx *ctx, const char *id, int sig, bool all,
                   v12n_error *err)
{
    struct container_state st = {0};
    auto_close int lock = -1;
    if (open_container(ctx, id, &lock, &st, err) < 0)
        return -1;
    int r = 0;
    enum container_status status = state_status(ctx->state_root, &st);
    if (all) {
        struct cgroup *cg = NULL;
        if ((r = load_cgroup(&st, &cg, err)) == 0 && cg != NULL)
            r = cgroup_signal_all(cg, sig, err);
        else if (r == 0 && status != CONTAINER_STOPPED)
            r = signal_init(&st, sig, err);
        cgroup_free(cg);
    } else if (status == CONTAINER_STOPPED || status == CONTAINER_CREATING) {
        r = v12n_fail(err, ESRCH, "container %s is not running", id);
    } else {
        r = signal_init(&st, sig, err);
    }
    state_clear(&st);
    return r;
}

/* Kill the init and wait (bounded) until it is gone. */
static void kill_and_wait(const struct container_state *st)
{
    auto_close int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (pidfd < 0 || proc_start_time(st->pid, NULL) != st->start_time)
        return;
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    poll(&pfd, 1, 5000);
}

static void run_poststop(const struct runtime_ctx *ctx, const struct container_state *st)
{
    v12n_error err = {0};
    char path[PATH_MAX], cache[PATH_MAX];
    if (st->created == NULL ||
        state_path(ctx->state_root, st->id, STATE_CONFIG, path, sizeof path, &err) < 0)
        return;
    auto_json json_t *json = v12n_json_load(path, &err);
    /* Most containers have no poststop hook: no whole spec (its seccomp
     * filter included) is built just to find that out. */
    if (json == NULL ||
        json_array_size(json_object_get(json_object_get(json, "hooks"), "poststop")) == 0)
        return;
    struct oci_spec *spec = NULL;
    if (oci_spec_parse(json, st->bundle, container_seccomp_cache(ctx, cache, sizeof cache), &spec,
                       &err) < 0)
        return;
    auto_free char *state = container_state_text(st, CONTAINER_STOPPED);
    /* Poststop failures are warnings: the container is gone either way. */
    if (state != NULL &&
        hooks_run(&spec->hooks[OCI_HOOK_POSTSTOP], OCI_HOOK_POSTSTOP, state, &err) < 0)
        container_warn(ctx, &err);
    oci_spec_free(spec);
}

int container_delete(const struct runtime_ctx *ctx, const char *id, bool force, v12n_error *err)
{
    struct container_state st = {0};
    auto_close int lock = -1;
    if (open_container(ctx, id, &lock, &st, err) < 0) {
        /* runc: deleting what is already gone with --force succeeds. */
        if (force && err->errnum == ENOENT)
            return 0;
        return -1;
    }
    enum container_status status = state_status(ctx->state_root, &st);
    if (!force && (status == CONTAINER_RUNNING || status == CONTAINER_PAUSED)) {
        state_clear(&st);
        return v12n_fail(err, EBUSY, "container %s is %s: stop it first or use --force", id,
                         container_status_name(status));
    }
    if (status != CONTAINER_STOPPED && st.pid > 0)
        kill_and_wait(&st);
    int r = 0;
    struct cgroup *cg = NULL;
    if (load_cgroup(&st, &cg, err) < 0 || (cg != NULL && cgroup_destroy(cg, err) < 0))
        r = v12n_error_wrap(err, "container %s: delete", id);
    cgroup_free(cg);
    if (r == 0) {
        run_poststop(ctx, &st);
        r = state_remove(ctx->state_root, id, err);
    }
    state_clear(&st);
    return r;
}

static int with_cgroup(const struct runtime_ctx *ctx, const char *id, struct container_state *st,
                       struct cgroup **cg, int *lock, v12n_error *err)
{
    if (open_container(ctx, id, lock, st, err) < 0)
        return -1;
    if (load_cgroup(st, cg, err) < 0)
        return -1;
    if (*cg == NULL)
        return v12n_fail(err, ENOTSUP, "container %s has no cgroup (--cgroup-manager disabled)",
                         id);
    return 0;
}

int container_pids(const struct runtime_ctx *ctx, const char *id, pid_t **pids, size_t *n,
                   v12n_error *err)
{
    struct container_state st = {0};
    struct cgroup *cg = NULL;
    int r = with_cgroup(ctx, id, &st, &cg, NULL, err);
    if (r == 0)
        r = cgroup_pids(cg, pids, n, err);
    cgroup_free(cg);
    state_clear(&st);
    return r;
}

static int set_frozen(const struct runtime_ctx *ctx, const char *id, bool frozen, v12n_error *err)
{
    struct container_state st = {0};
    struct cgroup *cg = NULL;
    auto_close int lock = -1;
    int r = with_cgroup(ctx, id, &st, &cg, &lock, err);
    if (r == 0) {
        enum container_status status = state_status(ctx->state_root, &st);
        enum container_status need = frozen ? CONTAINER_RUNNING : CONTAINER_PAUSED;
        if (status != need)
            r = v12n_fail(err, EINVAL, "container %s is %s, not %s", id,
                          container_status_name(status), container_status_name(need));
    }
    if (r == 0)
        r = cgroup_freeze(cg, frozen, err);
    if (r == 0) {
        st.paused = frozen;
        r = state_save(ctx->state_root, &st, err);
    }
    cgroup_free(cg);
    state_clear(&st);
    return r;
}

int container_pause(const struct runtime_ctx *ctx, const char *id, v12n_error *err)
{
    return set_frozen(ctx, id, true, err);
}

int container_resume(const struct runtime_ctx *ctx, const char *id, v12n_error *err)
{
    return set_frozen(ctx, id, false, err);
}

int container_update(const struct runtime_ctx *ctx, const char *id, json_t *resources,
                     v12n_error *err)
{
    struct cgroup_resources *res = NULL;
    if (cgroup_resources_parse(resources, &res, err) < 0)
        return v12n_error_wrap(err, "update %s", id);
    struct container_state st = {0};
    struct cgroup *cg = NULL;
    auto_close int lock = -1;
    int r = with_cgroup(ctx, id, &st, &cg, &lock, err);
    if (r == 0 && state_status(ctx->state_root, &st) == CONTAINER_STOPPED)
        r = v12n_fail(err, ESRCH, "container %s is stopped", id);
    if (r == 0)
        r = cgroup_update(cg, res, err);
    cgroup_resources_free(res);
    cgroup_free(cg);
    state_clear(&st);
    return r;
}

static json_t *string_array(const char *const *names)
{
    json_t *a = json_array();
    for (; *names != NULL; names++)
        json_array_append_new(a, json_string(*names));
    return a;
}

json_t *container_features(void)
{
    static const char *const hooks[] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
        NULL};
    static const char *const mount_options[] = {
        "async",      "atime",         "bind",    "defaults", "dev",         "diratime", "dirsync",
        "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",   "nomand",
        "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime", "remount",
        "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",       "shared",
        "slave",      "strictatime",   "suid",    "sync",     "unbindable",  NULL};
    static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid",
                                             "user",   "uts", "time",  NULL};
    static const char *const actions[] = {
        "SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
        "SCMP_ACT_TRACE",        "SCMP_ACT_TRAP",        NULL};
    static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                            "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                            "SCMP_CMP_NE", NULL};
    static const char *const archs[] = {"SCMP_ARCH_X86_64",  "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL};
    json_t *seccomp =
        json_pack("{s:b, s:o, s:o, s:o}", "enabled", 1, "actions", string_array(actions),
                  "operators", string_array(operators), "archs", string_array(archs));
    json_t *linux_obj =
        json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:b}}",
                  "namespaces", string_array(namespaces), "capabilities", caps_known_names(),
                  "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp", seccomp,
                  "apparmor", "enabled", 0, "selinux", "enabled", 0, "intelRdt", "enabled", 0);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:s}}", "ociVersionMin", "1.0.0",
                     "ociVersionMax", "1.2.0", "hooks", string_array(hooks), "mountOptions",
                     string_array(mount_options), "linux", linux_obj, "annotations",
                     "org.opencontainers.runc.checkpoint.enabled", "false");
}
