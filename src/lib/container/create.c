/* `create`, `start` and `run`: the runtime's side of making a container. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/console.h"
#include "container/container.h"
#include "container/container_internal.h"
#include "container/hooks.h"
#include "container/init.h"
#include "container/namespaces.h"
#include "container/state.h"
#include "container/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

/* Everything a create holds, so that a failure anywhere undoes all of it. */
struct creation {
    const struct runtime_ctx *ctx;
    const struct create_opts *opts;
    struct oci_spec *spec;
    struct container_state st;
    struct cgroup *cg;
    int sync_fd;
    int fifo_fd;
    int console_fd;     /* the end passed to the init */
    int own_console_fd; /* run -t without --console-socket: our end */
    pid_t stage1;
    int cgroup_fd;  /* pure cgroup v2: the cgroup stage 1 clones the init into */
    bool in_cgroup; /* the init was born in its cgroup: nothing to move */
    bool dir_created;
    char *hook_state; /* the state JSON the create-time hooks read */
};

static int check_spec_for_create(const struct oci_spec *spec, v12n_error *err)
{
    struct stat st;
    if (!spec->has_process)
        return v12n_fail(err, 0, "config: \"process\" is missing");
    if (stat(spec->root_path, &st) < 0)
        return v12n_fail_errno(err, "rootfs %s", spec->root_path);
    if (!S_ISDIR(st.st_mode))
        return v12n_fail(err, ENOTDIR, "rootfs %s", spec->root_path);
    if (!spec->namespaces[OCI_NS_MOUNT].wanted)
        return v12n_fail(err, 0, "linux.namespaces: a mount namespace is required");
    return 0;
}

static int open_console(struct creation *c, v12n_error *err)
{
    c->console_fd = c->own_console_fd = -1;
    if (!c->spec->process.terminal)
        return 0;
    if (c->opts->console_socket != NULL) {
        c->console_fd = console_socket_connect(c->opts->console_socket, err);
        return c->console_fd < 0 ? -1 : 0;
    }
    if (!c->opts->run_foreground)
        return v12n_fail(err, 0, "process.terminal is true: --console-socket is required");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return v12n_fail_errno(err, "console socketpair");
    c->own_console_fd = sv[0];
    c->console_fd = sv[1];
    return 0;
}

static int make_state_dir(struct creation *c, v12n_error *err)
{
    const char *root = c->ctx->state_root, *id = c->opts->id;
    if (state_dir_create(root, id, err) < 0)
        return -1;
    c->dir_created = true;
    char path[PATH_MAX];
    auto_free char *config = json_dumps(c->spec->json, JSON_COMPACT);
    if (config == NULL)
        return v12n_fail(err, ENOMEM, "config copy");
    if (state_path(root, id, STATE_CONFIG, path, sizeof path, err) < 0 ||
        v12n_write_file_atomic(path, config, strlen(config), 0600, err) < 0)
        return -1;
    if (state_path(root, id, STATE_FIFO, path, sizeof path, err) < 0)
        return -1;
    if (mkfifo(path, 0600) < 0)
        return v12n_fail_errno(err, "mkfifo %s", path);
    /* O_RDWR never blocks on a fifo; the init reads from it until start. */
    c->fifo_fd = open(path, O_RDWR | O_CLOEXEC);
    if (c->fifo_fd < 0)
        return v12n_fail_errno(err, "open %s", path);
    return state_save(root, &c->st, err);
}

static int fork_stage1(struct creation *c, v12n_error *err)
{
    int sv[2];
    struct init_args a = {.spec = c->spec,
                          .id = c->opts->id,
                          .fifo_fd = c->fifo_fd,
                          .console_fd = c->console_fd,
                          .no_pivot = c->opts->no_pivot,
                          .no_new_keyring = c->opts->no_new_keyring,
                          .preserve_fds = c->opts->preserve_fds,
                          .cgroup_fd = c->cgroup_fd};
    if (ns_open_paths(c->spec, a.ns_fds, err) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        ns_close_all(a.ns_fds);
        return v12n_fail_errno(err, "socketpair");
    }
    a.sync_fd = sv[1];
    c->stage1 = fork();
    if (c->stage1 == 0) {
        close(sv[0]);
        init_stage1(&a);
    }
    int saved = errno;
    close(sv[1]);
    ns_close_all(a.ns_fds);
    c->sync_fd = sv[0];
    if (c->stage1 < 0)
        return v12n_fail(err, saved, "fork");
    return 0;
}

/* Stage 1 may ask for id maps, then reports the init's pid and exits. */
static int receive_init_pid(struct creation *c, v12n_error *err)
{
    const struct oci_spec *spec = c->spec;
    if (spec->namespaces[OCI_NS_USER].wanted && spec->namespaces[OCI_NS_USER].path == NULL) {
        if (sync_expect(c->sync_fd, SYNC_USERMAP, NULL, "container setup", err) < 0 ||
            ns_write_id_maps(c->stage1, spec, err) < 0 ||
            sync_send(c->sync_fd, SYNC_USERMAP_DONE, 0, err) < 0)
            return -1;
    }
    int born_in = 0;
    if (c->cgroup_fd >= 0 &&
        sync_expect(c->sync_fd, SYNC_BORN_IN_CGROUP, &born_in, "container setup", err) < 0)
        return -1;
    c->in_cgroup = born_in == 1;
    int pid = 0;
    if (sync_expect(c->sync_fd, SYNC_PID, &pid, "container setup", err) < 0)
        return -1;
    c->st.pid = pid;
    c->st.start_time = proc_start_time(pid, NULL);
    int status;
    while (waitpid(c->stage1, &status, 0) < 0 && errno == EINTR)
        ;
    c->stage1 = 0;
    return 0;
}

static int setup_cgroup(struct creation *c, v12n_error *err);

/* On a pure cgroup v2 host the cgroup is made before stage 1, which starts
 * the init in it (clone3 CLONE_INTO_CGROUP).  Elsewhere it is made while the
 * init mounts, and the init is moved in. */
static int cgroup_first(struct creation *c, v12n_error *err)
{
    enum cgroup_mode mode;
    v12n_error ignored = {0};
    const char *root = c->ctx->cgroup_root != NULL ? c->ctx->cgroup_root : "/sys/fs/cgroup";
    if (c->ctx->cgroup_manager == CGROUP_MANAGER_DISABLED ||
        cgroup_detect_mode(root, &mode, &ignored) < 0 || mode != CGROUP_MODE_V2)
        return 0;
    if (setup_cgroup(c, err) < 0)
        return -1;
    c->cgroup_fd = cgroup_open_v2_dir(c->cg, err);
    return c->cgroup_fd < 0 ? -1 : 0;
}

static int setup_cgroup(struct creation *c, v12n_error *err)
{
    if (c->ctx->cgroup_manager == CGROUP_MANAGER_DISABLED)
        return 0;
    if (c->cg != NULL) /* made by cgroup_first */
        return c->in_cgroup ? 0 : cgroup_enter(c->cg, c->st.pid, err);
    struct cgroup_create_args args = {.root = c->ctx->cgroup_root,
                                      .cgroups_path = c->spec->cgroups_path,
                                      .id = c->opts->id,
                                      .resources = c->spec->resources,
                                      .devices = c->spec->devices,
                                      .n_devices = c->spec->n_devices,
                                      .pid = c->st.pid};
    if (cgroup_create(&args, &c->cg, err) < 0)
        return -1;
    c->st.cgroup = cgroup_to_json(c->cg);
    return 0;
}

char *container_state_text(const struct container_state *st, enum container_status status)
{
    auto_json json_t *j = state_to_json(st, status);
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

/* The init starts on its mounts; it gets the state its hooks will read. */
static int let_init_go(struct creation *c, v12n_error *err)
{
    c->hook_state = container_state_text(&c->st, CONTAINER_CREATING);
    if (c->hook_state == NULL)
        return v12n_fail(err, ENOMEM, "hook state");
    if (sync_send(c->sync_fd, SYNC_GO, 0, err) < 0 ||
        sync_send_blob(c->sync_fd, c->hook_state, strlen(c->hook_state), err) < 0)
        return -1;
    return 0;
}

static int run_runtime_hooks(struct creation *c, v12n_error *err)
{
    const char *state = c->hook_state;
    if (sync_expect(c->sync_fd, SYNC_HOOKS, NULL, "container init", err) < 0)
        return -1;
    if (hooks_run(&c->spec->hooks[OCI_HOOK_PRESTART], OCI_HOOK_PRESTART, state, err) < 0 ||
        hooks_run(&c->spec->hooks[OCI_HOOK_CREATE_RUNTIME], OCI_HOOK_CREATE_RUNTIME, state, err) <
            0)
        return -1;
    if (sync_send(c->sync_fd, SYNC_HOOKS_DONE, 0, err) < 0)
        return -1;
    return sync_expect(c->sync_fd, SYNC_READY, NULL, "container init", err);
}

static int write_pid_file(const char *path, pid_t pid, v12n_error *err)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    if (v12n_write_file_atomic(path, buf, (size_t)n, 0644, err) < 0)
        return v12n_error_wrap(err, "pid file");
    return 0;
}

static int finish_creation(struct creation *c, v12n_error *err)
{
    char now[64];
    rfc3339_now(now, sizeof now);
    if ((c->st.created = strdup(now)) == NULL)
        return v12n_fail(err, ENOMEM, "state");
    if (state_save(c->ctx->state_root, &c->st, err) < 0)
        return -1;
    if (c->opts->pid_file && write_pid_file(c->opts->pid_file, c->st.pid, err) < 0)
        return -1;
    return 0;
}

static void undo_creation(struct creation *c)
{
    v12n_error ignored = {0};
    if (c->stage1 > 0) {
        kill(c->stage1, SIGKILL);
        waitpid(c->stage1, NULL, 0);
    }
    if (c->st.pid > 0)
        kill(c->st.pid, SIGKILL);
    if (c->cg != NULL)
        cgroup_destroy(c->cg, &ignored);
    if (c->dir_created)
        state_remove(c->ctx->state_root, c->opts->id, &ignored);
}

static void release_creation(struct creation *c)
{
    if (c->sync_fd >= 0)
        close(c->sync_fd);
    if (c->fifo_fd >= 0)
        close(c->fifo_fd);
    if (c->console_fd >= 0)
        close(c->console_fd);
    if (c->cgroup_fd >= 0)
        close(c->cgroup_fd);
    cgroup_free(c->cg);
    free(c->hook_state);
    state_clear(&c->st);
}

static int create_steps(struct creation *c, v12n_error *err)
{
    if (check_spec_for_create(c->spec, err) < 0 || open_console(c, err) < 0 ||
        make_state_dir(c, err) < 0 || cgroup_first(c, err) < 0 || fork_stage1(c, err) < 0 ||
        receive_init_pid(c, err) < 0)
        return -1;
    /* Moving the init into its cgroup is slow on cgroup v1 (an RCU grace
     * period): the init mounts meanwhile, and waits for CGROUP_READY before
     * a cgroup mount, its hooks and anything of the image's. */
    if (let_init_go(c, err) < 0 || setup_cgroup(c, err) < 0 ||
        state_save(c->ctx->state_root, &c->st, err) < 0 ||
        sync_send(c->sync_fd, SYNC_CGROUP_READY, 0, err) < 0)
        return -1;
    if (run_runtime_hooks(c, err) < 0)
        return -1;
    return finish_creation(c, err);
}

int container_create_spec(const struct runtime_ctx *ctx, const struct create_opts *opts,
                          struct oci_spec *spec, const char *bundle, pid_t *init_pid,
                          int *console_master, v12n_error *err)
{
    struct creation c = {.ctx = ctx,
                         .opts = opts,
                         .spec = spec,
                         .sync_fd = -1,
                         .fifo_fd = -1,
                         .console_fd = -1,
                         .cgroup_fd = -1,
                         .own_console_fd = -1};
    c.st.id = strdup(opts->id);
    c.st.bundle = strdup(bundle);
    c.st.rootfs = strdup(spec->root_path);
    c.st.annotations = json_incref(spec->annotations);
    c.st.owner = getuid();
    int r = create_steps(&c, err);
    if (r < 0) {
        undo_creation(&c);
        if (c.own_console_fd >= 0)
            close(c.own_console_fd);
    } else {
        *init_pid = c.st.pid;
        if (console_master != NULL)
            *console_master = -1;
        if (c.own_console_fd >= 0) {
            if (console_master != NULL)
                *console_master = console_recv_master(c.own_console_fd, err);
            close(c.own_console_fd);
        }
    }
    release_creation(&c);
    return r;
}

static int check_ctx(const struct runtime_ctx *ctx, const char *id, v12n_error *err)
{
    if (ctx->systemd_cgroup)
        return v12n_fail(err, ENOTSUP,
                         "--systemd-cgroup: the systemd cgroup manager is not supported; use "
                         "--cgroup-manager cgroupfs");
    if (id == NULL || !container_id_valid(id))
        return v12n_fail(err, EINVAL, "invalid container id \"%s\"", id ? id : "");
    return 0;
}

/* What create and run both start with: the flags checked, the bundle's
 * config parsed. */
static int load_bundle(const struct runtime_ctx *ctx, const struct create_opts *opts, char *bundle,
                       struct oci_spec **spec, v12n_error *err)
{
    if (check_ctx(ctx, opts->id, err) < 0)
        return -1;
    const char *given = opts->bundle ? opts->bundle : ".";
    char cache[PATH_MAX];
    if (realpath(given, bundle) == NULL)
        v12n_fail_errno(err, "bundle %s", given);
    else if (oci_spec_load(bundle, container_seccomp_cache(ctx, cache, sizeof cache), spec, err) ==
             0)
        return 0;
    return v12n_error_wrap(err, "container %s", opts->id);
}

int container_create(const struct runtime_ctx *ctx, const struct create_opts *opts, v12n_error *err)
{
    char bundle[PATH_MAX];
    struct oci_spec *spec = NULL;
    if (load_bundle(ctx, opts, bundle, &spec, err) < 0)
        return -1;
    pid_t pid;
    int r = container_create_spec(ctx, opts, spec, bundle, &pid, NULL, err);
    oci_spec_free(spec);
    if (r < 0)
        return v12n_error_wrap(err, "container %s", opts->id);
    return 0;
}

/* Write the byte the init waits for (ENXIO: no reader, the init died), then
 * wait until the init's end of the fifo closes: it is close-on-exec, so that
 * happens when the user's program replaced the init (or the init exited).
 * Only then may poststart hooks run. */
static int release_init(const struct runtime_ctx *ctx, const char *id, v12n_error *err)
{
    char fifo[PATH_MAX];
    if (state_path(ctx->state_root, id, STATE_FIFO, fifo, sizeof fifo, err) < 0)
        return -1;
    auto_close int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO)
            return v12n_fail(err, ESRCH, "the container init has exited");
        return v12n_fail_errno(err, "open %s", fifo);
    }
    if (write(fd, "0", 1) != 1)
        return v12n_fail_errno(err, "write %s", fifo);
    if (unlink(fifo) < 0)
        return v12n_fail_errno(err, "unlink %s", fifo);
    /* events = 0: only POLLERR (no reader left) ends the wait. */
    struct pollfd pfd = {.fd = fd, .events = 0};
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR)
            return v12n_fail_errno(err, "wait for the container's program to start");
    }
    return 0;
}

static void run_poststart(const struct runtime_ctx *ctx, const struct container_state *st)
{
    struct oci_spec *spec = NULL;
    v12n_error err = {0};
    if (container_load_config(ctx, st->id, st->bundle, &spec, &err) < 0)
        return;
    auto_free char *state = container_state_text(st, CONTAINER_RUNNING);
    /* The spec says a failing poststart hook is only warned about. */
    if (state != NULL &&
        hooks_run(&spec->hooks[OCI_HOOK_POSTSTART], OCI_HOOK_POSTSTART, state, &err) < 0)
        container_warn(ctx, &err);
    oci_spec_free(spec);
}

int container_start(const struct runtime_ctx *ctx, const char *id, v12n_error *err)
{
    auto_close int lock = state_lock(ctx->state_root, id, err);
    if (lock < 0)
        return -1;
    struct container_state st = {0};
    if (state_load(ctx->state_root, id, &st, err) < 0)
        return -1;
    enum container_status status = state_status(ctx->state_root, &st);
    int r = 0;
    if (status != CONTAINER_CREATED)
        r = v12n_fail(err, EINVAL, "container %s is %s, not created: cannot start it", id,
                      container_status_name(status));
    else if (release_init(ctx, id, err) < 0)
        r = v12n_error_wrap(err, "container %s: start", id);
    else
        run_poststart(ctx, &st);
    state_clear(&st);
    return r;
}

/* Foreground run: signals to us go to the container's init. */
static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
    if (forward_pid > 0)
        kill(forward_pid, sig);
}

void container_forward_signals(pid_t pid)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    forward_pid = pid;
    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

int container_wait_exit(pid_t pid, int *exit_code, v12n_error *err)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return v12n_fail_errno(err, "wait for process %d", (int)pid);
    }
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

int container_run(const struct runtime_ctx *ctx, const struct create_opts *opts, int *exit_code,
                  v12n_error *err)
{
    char bundle[PATH_MAX];
    struct oci_spec *spec = NULL;
    if (load_bundle(ctx, opts, bundle, &spec, err) < 0)
        return -1;
    struct create_opts o = *opts;
    o.run_foreground = !opts->detach;
    /* The init's parent (stage 1) exits: make it our child so we can wait. */
    if (o.run_foreground && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        oci_spec_free(spec);
        return v12n_fail_errno(err, "set child subreaper");
    }
    pid_t pid = 0;
    int master = -1;
    int r = container_create_spec(ctx, &o, spec, bundle, &pid, &master, err);
    oci_spec_free(spec);
    if (r < 0)
        return v12n_error_wrap(err, "container %s", opts->id);
    if (container_start(ctx, opts->id, err) < 0) {
        v12n_error ignored = {0};
        container_delete(ctx, opts->id, true, &ignored);
        return -1;
    }
    *exit_code = 0;
    if (opts->detach)
        return 0;
    container_forward_signals(pid);
    if (master >= 0) {
        console_proxy(master, err);
        close(master);
    }
    r = container_wait_exit(pid, exit_code, err);
    if (!opts->keep) {
        v12n_error derr = {0};
        if (container_delete(ctx, opts->id, false, &derr) < 0 && r == 0) {
            *err = derr;
            r = -1;
        }
    }
    return r;
}
