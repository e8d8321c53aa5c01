#include "container/init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h> /* struct clone_args */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/console.h"
#include "container/hooks.h"
#include "container/namespaces.h"
#include "container/process.h"
#include "container/rootfs.h"
#include "container/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

void init_reset_signals(void)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
}

_Noreturn static void die(int sync_fd, v12n_error *err)
{
    sync_send_error(sync_fd, err);
    _exit(1);
}

static int enter_user_ns(const struct init_args *a, v12n_error *err)
{
    if (unshare(CLONE_NEWUSER) < 0)
        return v12n_fail_errno(err, "create user namespace");
    if (sync_send(a->sync_fd, SYNC_USERMAP, 0, err) < 0 ||
        sync_expect(a->sync_fd, SYNC_USERMAP_DONE, NULL, "runtime", err) < 0)
        return -1;
    /* Become the namespace's root; our host groups mean nothing here. */
    if (setresgid(0, 0, 0) < 0)
        return v12n_fail_errno(err, "user namespace: setgid 0");
    if (setresuid(0, 0, 0) < 0)
        return v12n_fail_errno(err, "user namespace: setuid 0");
    if (setgroups(0, NULL) < 0 && errno != EPERM)
        return v12n_fail_errno(err, "user namespace: setgroups");
    return 0;
}

static int set_names(const struct oci_spec *spec, v12n_error *err)
{
    if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        return v12n_fail_errno(err, "sethostname %s", spec->hostname);
    if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
        return v12n_fail_errno(err, "setdomainname %s", spec->domainname);
    return 0;
}

static int join_session_keyring(const struct init_args *a, v12n_error *err)
{
    if (a->no_new_keyring)
        return 0;
    /* A keyring of its own, so containers don't share the host's keys. */
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, a->id) < 0 && errno != ENOSYS &&
        errno != EPERM && errno != EACCES)
        return v12n_fail_errno(err, "join a new session keyring");
    return 0;
}

static int apply_sysctls(const struct oci_spec *spec, v12n_error *err)
{
    for (size_t i = 0; i < spec->n_sysctls; i++) {
        char path[PATH_MAX] = "/proc/sys/";
        size_t off = strlen(path);
        for (const char *k = spec->sysctls[i].key; *k && off < sizeof path - 1; k++)
            path[off++] = (*k == '.') ? '/' : *k;
        path[off] = '\0';
        const char *v = spec->sysctls[i].value;
        if (v12n_write_file(path, v, strlen(v), err) < 0)
            return v12n_error_wrap(err, "sysctl %s", spec->sysctls[i].key);
    }
    return 0;
}

/* startContainer hooks see the container as created (runc does too): the
 * state we were given at GO said "creating". */
static char *state_as_created(const char *state_json)
{
    json_error_t jerr;
    json_t *j = json_loads(state_json, 0, &jerr);
    if (j == NULL)
        return strdup(state_json);
    json_object_set_new(j, "status", json_string("created"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text ? text : strdup(state_json);
}

/* Block until `start` writes its byte into exec.fifo. */
static int wait_for_start(int fifo_fd, v12n_error *err)
{
    char byte;
    ssize_t n;
    do
        n = read(fifo_fd, &byte, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        return v12n_fail_errno(err, "wait for start on exec.fifo");
    /* fifo_fd stays open until execve closes it: `start` waits for that. */
    return 0;
}

/* The runtime moves us into the container's cgroup while we mount (on
 * cgroup v1 that move waits for an RCU grace period); a new cgroup
 * namespace must be rooted at the final cgroup. */
static int await_cgroup(void *arg, v12n_error *err)
{
    const struct init_args *a = arg;
    const struct oci_namespace *ns = &a->spec->namespaces[OCI_NS_CGROUP];
    if (sync_expect(a->sync_fd, SYNC_CGROUP_READY, NULL, "runtime", err) < 0)
        return -1;
    if (ns->wanted && ns->path == NULL && unshare(CLONE_NEWCGROUP) < 0)
        return v12n_fail_errno(err, "create cgroup namespace");
    return 0;
}

static int build_container(struct init_args *a, const char *state_json, v12n_error *err)
{
    const struct oci_spec *spec = a->spec;
    if (set_names(spec, err) < 0 || join_session_keyring(a, err) < 0)
        return -1;
    struct rootfs_options ropts = {.in_user_ns = spec->namespaces[OCI_NS_USER].wanted,
                                   .no_pivot = a->no_pivot,
                                   .console_slave_fd = -1,
                                   .await_cgroup = await_cgroup,
                                   .await_cgroup_arg = a};
    if (rootfs_prepare(spec, &ropts, err) < 0)
        return -1;
    if (sync_send(a->sync_fd, SYNC_HOOKS, 0, err) < 0 ||
        sync_expect(a->sync_fd, SYNC_HOOKS_DONE, NULL, "runtime", err) < 0)
        return -1;
    if (hooks_run(&spec->hooks[OCI_HOOK_CREATE_CONTAINER], OCI_HOOK_CREATE_CONTAINER, state_json,
                  err) < 0)
        return -1;
    if (rootfs_pivot(spec, &ropts, err) < 0 || apply_sysctls(spec, err) < 0 ||
        rootfs_finish(spec, err) < 0)
        return -1;
    const struct oci_process *p = &spec->process;
    if (p->terminal &&
        console_setup(a->console_fd, true, p->console_height, p->console_width, err) < 0)
        return -1;
    if (a->console_fd >= 0)
        close(a->console_fd);
    return process_apply_limits(p, err);
}

_Noreturn static void container_init(struct init_args *a)
{
    v12n_error err = {0};
    if (sync_expect(a->sync_fd, SYNC_GO, NULL, "runtime", &err) < 0)
        _exit(1);
    auto_free char *state_json = sync_recv_blob(a->sync_fd, "runtime", &err);
    if (state_json == NULL || build_container(a, state_json, &err) < 0)
        die(a->sync_fd, &err);
    char *exe = process_find_executable(&a->spec->process, &err);
    if (exe == NULL)
        die(a->sync_fd, &err);
    auto_free char *created_json = state_as_created(state_json);
    if (sync_send(a->sync_fd, SYNC_READY, 0, &err) < 0)
        _exit(1);
    close(a->sync_fd);

    /* From here the runtime has gone: failures go to the container's stderr. */
    if (wait_for_start(a->fifo_fd, &err) == 0 &&
        hooks_run(&a->spec->hooks[OCI_HOOK_START_CONTAINER], OCI_HOOK_START_CONTAINER, created_json,
                  &err) == 0) {
        init_reset_signals();
        process_exec(&a->spec->process, exe, a->spec->seccomp, a->preserve_fds, &err);
    }
    char text[V12N_ERROR_MSG_MAX + 128];
    int n = snprintf(text, sizeof text, "v12n: container %s: %s\n", a->id,
                     v12n_error_text(&err, text + sizeof text / 2, sizeof text / 2));
    if (n > 0)
        v12n_write_all(STDERR_FILENO, text, (size_t)n);
    _exit(err.errnum == ENOENT ? 127 : 126);
}

pid_t init_fork_in_cgroup(int cgroup_fd, bool *in_cgroup)
{
    *in_cgroup = false;
    if (cgroup_fd >= 0) {
        struct clone_args ca = {.flags = CLONE_INTO_CGROUP,
                                .exit_signal = SIGCHLD,
                                .cgroup = (unsigned long long)cgroup_fd};
        /* Raw clone3: the child must not rely on glibc's cached tid (raise,
         * pthread_kill); the init does not. */
        long pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid >= 0) {
            *in_cgroup = true;
            return (pid_t)pid;
        }
    }
    return fork();
}

_Noreturn void init_stage1(struct init_args *a)
{
    v12n_error err = {0};
    const struct oci_spec *spec = a->spec;
    bool new_user =
        spec->namespaces[OCI_NS_USER].wanted && spec->namespaces[OCI_NS_USER].path == NULL;
    if (ns_join(a->ns_fds, &err) < 0)
        die(a->sync_fd, &err);
    if (new_user && enter_user_ns(a, &err) < 0)
        die(a->sync_fd, &err);
    int flags = ns_new_flags(spec, CLONE_NEWUSER | CLONE_NEWCGROUP);
    if (flags != 0 && unshare(flags) < 0) {
        v12n_fail_errno(&err, "create namespaces");
        die(a->sync_fd, &err);
    }
    if (ns_write_time_offsets(spec, &err) < 0)
        die(a->sync_fd, &err);
    bool in_cgroup = false;
    pid_t pid = init_fork_in_cgroup(a->cgroup_fd, &in_cgroup);
    if (pid < 0) {
        v12n_fail_errno(&err, "fork container init");
        die(a->sync_fd, &err);
    }
    if (pid == 0) {
        if (a->cgroup_fd >= 0)
            close(a->cgroup_fd);
        container_init(a);
    }
    if (a->cgroup_fd >= 0 && sync_send(a->sync_fd, SYNC_BORN_IN_CGROUP, in_cgroup, &err) < 0)
        _exit(1);
    if (sync_send(a->sync_fd, SYNC_PID, pid, &err) < 0)
        _exit(1);
    _exit(0);
}
