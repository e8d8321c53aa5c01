#include "container/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/caps.h"
#include "container/seccomp.h"
#include "util/cleanup.h"
#include "util/fs.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int process_apply_limits(const struct oci_process *p, v12n_error *err)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const struct oci_rlimit *r = &p->rlimits[i];
        struct rlimit lim = {.rlim_cur = r->soft, .rlim_max = r->hard};
        if (setrlimit(r->resource, &lim) < 0) {
            int saved = errno;
            struct rlimit cur;
            if (saved == EPERM && getrlimit(r->resource, &cur) == 0)
                return v12n_fail(err, saved,
                                 "setrlimit %s %llu/%llu: the host's hard limit is %llu", r->name,
                                 (unsigned long long)r->soft, (unsigned long long)r->hard,
                                 (unsigned long long)cur.rlim_max);
            return v12n_fail(err, saved, "setrlimit %s %llu/%llu", r->name,
                             (unsigned long long)r->soft, (unsigned long long)r->hard);
        }
    }
    if (p->has_oom_score_adj) {
        char buf[16];
        int n = snprintf(buf, sizeof buf, "%d", p->oom_score_adj);
        if (v12n_write_file("/proc/self/oom_score_adj", buf, (size_t)n, err) < 0)
            return v12n_error_wrap(err, "oomScoreAdj %d", p->oom_score_adj);
    }
    return 0;
}

static const char *env_path(char *const *env)
{
    for (; env != NULL && *env != NULL; env++)
        if (strncmp(*env, "PATH=", 5) == 0)
            return *env + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

char *process_find_executable(const struct oci_process *p, v12n_error *err)
{
    const char *name = p->args[0];
    if (strchr(name, '/') != NULL) {
        struct stat st;
        if (stat(name, &st) < 0)
            return v12n_fail_errno(err, "exec \"%s\"", name), NULL;
        if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
            return v12n_fail(err, EACCES, "exec \"%s\"", name), NULL;
        return strdup(name);
    }
    const char *path = env_path(p->env);
    while (*path != '\0') {
        const char *end = strchrnul(path, ':');
        char candidate[PATH_MAX];
        int n = snprintf(candidate, sizeof candidate, "%.*s/%s", (int)(end - path), path, name);
        if (n > 0 && (size_t)n < sizeof candidate && end != path && is_executable_file(candidate))
            return strdup(candidate);
        path = (*end == ':') ? end + 1 : end;
    }
    v12n_fail(err, ENOENT, "exec \"%s\": executable file not found in $PATH", name);
    return NULL;
}

static int set_identity(const struct oci_process *p, v12n_error *err)
{
    gid_t *groups = NULL;
    if (p->n_additional_gids > 0) {
        groups = calloc(p->n_additional_gids, sizeof *groups);
        if (groups == NULL)
            return v12n_fail(err, ENOMEM, "setgroups");
        for (size_t i = 0; i < p->n_additional_gids; i++)
            groups[i] = p->additional_gids[i];
    }
    int r = setgroups(p->n_additional_gids, groups);
    free(groups);
    /* EPERM: a user namespace with setgroups denied; only fatal if asked. */
    if (r < 0 && !(errno == EPERM && p->n_additional_gids == 0))
        return v12n_fail_errno(err, "setgroups");
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return v12n_fail_errno(err, "setgid %u", p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return v12n_fail_errno(err, "setuid %u", p->uid);
    return 0;
}

/* CVE-2024-21626: a cwd reached through a leaked fd resolves outside the
 * container, where getcwd() answers ENOENT ("(unreachable)"). */
static int enter_cwd(const char *cwd, v12n_error *err)
{
    if (chdir(cwd) < 0)
        return v12n_fail_errno(err, "cwd %s", cwd);
    char real[PATH_MAX];
    if (getcwd(real, sizeof real) == NULL || real[0] != '/')
        return v12n_fail(err, EPERM, "cwd %s: outside the container", cwd);
    return 0;
}

/* Without no_new_privs the kernel only lets a privileged process install a
 * filter, so it goes in while we are still root (the profile must then allow
 * what follows: setuid, capset, execve), as runc does; with no_new_privs it
 * goes in last, so it constrains as little of the runtime as possible. */
int process_exec(const struct oci_process *p, const char *exe_path,
                 const struct seccomp_profile *seccomp, int preserve_fds, v12n_error *err)
{
    if (enter_cwd(p->cwd, err) < 0)
        return -1;
    if (seccomp != NULL && !p->no_new_privileges && seccomp_profile_load(seccomp, err) < 0)
        return -1;
    if (p->caps != NULL) {
        if (caps_apply_bounding(p->caps, err) < 0 || caps_prepare_for_setuid(err) < 0)
            return -1;
    }
    if (set_identity(p, err) < 0)
        return -1;
    if (p->caps != NULL && caps_apply_sets(p->caps, err) < 0)
        return -1;
    if (p->has_umask)
        umask(p->umask);
    if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return v12n_fail_errno(err, "set no_new_privs");
    /* Nothing of the runtime's may reach the program (CVE-2024-21626). */
    if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return v12n_fail_errno(err, "close_range");
    if (seccomp != NULL && p->no_new_privileges && seccomp_profile_load(seccomp, err) < 0)
        return -1;
    char *empty_env[] = {NULL};
    execve(exe_path, p->args, p->env ? p->env : empty_env);
    return v12n_fail_errno(err, "exec \"%s\"", p->args[0]);
}
