/* `exec`: a new process inside a running container. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/console.h"
#include "container/container.h"
#include "container/container_internal.h"
#include "container/init.h"
#include "container/namespaces.h"
#include "container/process.h"
#include "container/state.h"
#include "container/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct exec_job {
    const struct exec_opts *opts;
    struct oci_process process;
    struct oci_spec *spec; /* the container's config: seccomp */
    int ns_fds[OCI_NS_COUNT];
    int sync_fd;        /* runtime end */
    int console_fd;     /* passed to the process */
    int own_console_fd; /* foreground exec -t: our end */
    pid_t stage1;
    pid_t pid;
    struct cgroup *cg; /* the container's, if it has one */
    int cgroup_fd;     /* pure cgroup v2: the cgroup stage 1 clones the process into */
};

_Noreturn static void exec_fail(int sync_fd, v12n_error *err)
{
    sync_send_error(sync_fd, err);
    _exit(1);
}

/* The exec'd process: wait until it is in the cgroup, then become the
 * program. The sync socket is close-on-exec: EOF tells the runtime the exec
 * worked, an error message that it did not. */
_Noreturn static void exec_process(struct exec_job *job, int sync_fd)
{
    v12n_error err = {0};
    if (sync_expect(sync_fd, SYNC_GO, NULL, "runtime", &err) < 0)
        _exit(1);
    const struct oci_process *p = &job->process;
    if (p->terminal &&
        console_setup(job->console_fd, false, p->console_height, p->console_width, &err) < 0)
        exec_fail(sync_fd, &err);
    if (job->console_fd >= 0)
        close(job->console_fd);
    if (process_apply_limits(p, &err) < 0)
        exec_fail(sync_fd, &err);
    char *exe = process_find_executable(p, &err);
    if (exe == NULL)
        exec_fail(sync_fd, &err);
    init_reset_signals();
    process_exec(p, exe, job->spec->seccomp, job->opts->preserve_fds, &err);
    exec_fail(sync_fd, &err);
}

_Noreturn static void exec_stage1(struct exec_job *job, int sync_fd)
{
    v12n_error err = {0};
    if (ns_join(job->ns_fds, &err) < 0)
        exec_fail(sync_fd, &err);
    bool in_cgroup = false;
    pid_t pid = init_fork_in_cgroup(job->cgroup_fd, &in_cgroup);
    if (pid < 0) {
        v12n_fail_errno(&err, "fork");
        exec_fail(sync_fd, &err);
    }
    if (pid == 0) {
        if (job->cgroup_fd >= 0)
            close(job->cgroup_fd);
        exec_process(job, sync_fd);
    }
    if (job->cgroup_fd >= 0 && sync_send(sync_fd, SYNC_BORN_IN_CGROUP, in_cgroup, &err) < 0)
        _exit(1);
    if (sync_send(sync_fd, SYNC_PID, pid, &err) < 0)
        _exit(1);
    _exit(0);
}

static int open_exec_console(struct exec_job *job, v12n_error *err)
{
    job->console_fd = job->own_console_fd = -1;
    if (!job->process.terminal)
        return 0;
    if (job->opts->console_socket != NULL) {
        job->console_fd = console_socket_connect(job->opts->console_socket, err);
        return job->console_fd < 0 ? -1 : 0;
    }
    if (job->opts->detach)
        return v12n_fail(err, 0, "exec --tty --detach needs --console-socket");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return v12n_fail_errno(err, "console socketpair");
    job->own_console_fd = sv[0];
    job->console_fd = sv[1];
    return 0;
}

static int start_exec(struct exec_job *job, const struct container_state *st, v12n_error *err)
{
    if (st->cgroup != NULL && cgroup_from_json(st->cgroup, &job->cg, err) < 0)
        return -1;
    v12n_error not_v2 = {0};
    if (job->cg != NULL)
        job->cgroup_fd = cgroup_open_v2_dir(job->cg, &not_v2);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return v12n_fail_errno(err, "socketpair");
    job->stage1 = fork();
    if (job->stage1 == 0) {
        close(sv[0]);
        exec_stage1(job, sv[1]);
    }
    int saved = errno;
    close(sv[1]);
    job->sync_fd = sv[0];
    if (job->stage1 < 0)
        return v12n_fail(err, saved, "fork");
    int born_in = 0, pid = 0;
    int r = job->cgroup_fd >= 0
                ? sync_expect(job->sync_fd, SYNC_BORN_IN_CGROUP, &born_in, "exec setup", err)
                : 0;
    if (r == 0)
        r = sync_expect(job->sync_fd, SYNC_PID, &pid, "exec setup", err);
    waitpid(job->stage1, NULL, 0);
    job->stage1 = 0;
    if (r < 0)
        return -1;
    job->pid = pid;
    if (job->cg != NULL && born_in != 1 && cgroup_enter(job->cg, pid, err) < 0)
        return -1;
    if (sync_send(job->sync_fd, SYNC_GO, 0, err) < 0)
        return -1;
    /* EOF: exec succeeded. A message: it failed, with the reason. */
    struct sync_msg msg;
    ssize_t n;
    do
        n = recv(job->sync_fd, &msg, sizeof msg, 0);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof msg && msg.type == SYNC_ERROR) {
        *err = msg.err;
        waitpid(pid, NULL, 0);
        job->pid = 0;
        return -1;
    }
    return 0;
}

static int load_exec_job(const struct runtime_ctx *ctx, const struct exec_opts *opts,
                         struct container_state *st, struct exec_job *job, v12n_error *err)
{
    if (state_load(ctx->state_root, opts->id, st, err) < 0)
        return -1;
    enum container_status status = state_status(ctx->state_root, st);
    if (status != CONTAINER_RUNNING && status != CONTAINER_CREATED)
        return v12n_fail(err, EINVAL, "container %s is %s: cannot exec in it", opts->id,
                         container_status_name(status));
    if (oci_process_parse(opts->process, &job->process, err) < 0 ||
        container_load_config(ctx, opts->id, st->bundle, &job->spec, err) < 0)
        return -1;
    if (ns_open_of_pid(st->pid, job->ns_fds, err) < 0)
        return -1;
    return open_exec_console(job, err);
}

static void release_job(struct exec_job *job)
{
    ns_close_all(job->ns_fds);
    if (job->sync_fd >= 0)
        close(job->sync_fd);
    if (job->console_fd >= 0)
        close(job->console_fd);
    if (job->own_console_fd >= 0)
        close(job->own_console_fd);
    if (job->cgroup_fd >= 0)
        close(job->cgroup_fd);
    cgroup_free(job->cg);
    oci_process_clear(&job->process);
    oci_spec_free(job->spec);
}

static int finish_exec(struct exec_job *job, int *exit_code, v12n_error *err)
{
    const struct exec_opts *opts = job->opts;
    if (opts->pid_file) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d", (int)job->pid);
        if (v12n_write_file_atomic(opts->pid_file, buf, (size_t)n, 0644, err) < 0)
            return v12n_error_wrap(err, "pid file");
    }
    *exit_code = 0;
    if (opts->detach)
        return 0;
    container_forward_signals(job->pid);
    if (job->own_console_fd >= 0) {
        int master = console_recv_master(job->own_console_fd, err);
        if (master >= 0) {
            console_proxy(master, err);
            close(master);
        }
    }
    return container_wait_exit(job->pid, exit_code, err);
}

int container_exec(const struct runtime_ctx *ctx, const struct exec_opts *opts, int *exit_code,
                   v12n_error *err)
{
    struct exec_job job = {
        .opts = opts, .sync_fd = -1, .console_fd = -1, .own_console_fd = -1, .cgroup_fd = -1};
    for (int t = 0; t < OCI_NS_COUNT; t++)
        job.ns_fds[t] = -1;
    struct container_state st = {0};
    if (!container_id_valid(opts->id))
        return v12n_fail(err, EINVAL, "invalid container id \"%s\"", opts->id);
    /* The process's parent (stage 1) exits: we adopt it to wait for it. */
    int r = opts->detach ? 0 : prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (r < 0)
        r = v12n_fail_errno(err, "set child subreaper");
    if (r == 0)
        r = load_exec_job(ctx, opts, &st, &job, err);
    if (r == 0)
        r = start_exec(&job, &st, err);
    if (r == 0 && job.console_fd >= 0) {
        close(job.console_fd);
        job.console_fd = -1;
    }
    if (r == 0)
        r = finish_exec(&job, exit_code, err);
    if (r < 0 && job.pid > 0) {
        kill(job.pid, SIGKILL);
        waitpid(job.pid, NULL, 0);
    }
    if (r < 0)
        v12n_error_wrap(err, "container %s: exec", opts->id);
    release_job(&job);
    state_clear(&st);
    return r;
}
