/* The monitor: one small process per running container (as conmon is for
 * podman).  It creates and starts the container through the runtime
 * library, holds the pty master or the stdio pipes, writes the log, serves
 * attach clients, reaps, records the exit and cleans up.  It never prints:
 * its one error goes back to the launcher over the ready pipe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "container/console.h"
#include "engine/engine.h"
#include "engine/engine_io.h"
#include "engine/monitor_loop.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

/* How long the full-size monitor serves an attached client before it
 * becomes the small one: long enough for a short command under load, short
 * against a long-running container's life (4 MiB instead of 0.7 for that
 * while). */
#define MONITOR_FULL_GRACE_MS 250

struct monitor {
    const struct engine *e;
    struct engine_container c;
    struct monitor_io io;
};

static void report(int ready_fd, const v12n_error *err)
{
    char buf[V12N_ERROR_MSG_MAX + 300];
    if (err == NULL)
        snprintf(buf, sizeof buf, "ok");
    else
        snprintf(buf, sizeof buf, "%d %s", err->errnum, err->msg);
    v12n_write_all(ready_fd, buf, strlen(buf));
    close(ready_fd);
}

static int listen_attach(struct monitor *m, v12n_error *err)
{
    char path[4200];
    engine_path(m->e, m->c.id, "attach.sock", path, sizeof path);
    struct sockaddr_un addr;
    auto_close int dir_fd = -1;
    if (engine_unix_addr(path, &addr, &dir_fd, err) < 0)
        return -1;
    unlink(path);
    m->io.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->io.listen_fd < 0)
        return v12n_fail_errno(err, "socket");
    if (bind(m->io.listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod(path, 0600) < 0 ||
        listen(m->io.listen_fd, 16) < 0)
        return v12n_fail_errno(err, "listen on %s", path);
    return 0;
}

/* Stdio for the init: the pipes' container ends on 0, 1, 2 while the
 * runtime creates it (the init inherits them), then /dev/null again. */
static int stdio_pipes(struct monitor *m, int child_end[3], v12n_error *err)
{
    int o[2], e[2], i[2] = {-1, -1};
    if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
        return v12n_fail_errno(err, "pipe");
    if (m->c.interactive && pipe2(i, O_CLOEXEC) < 0)
        return v12n_fail_errno(err, "pipe");
    m->io.out = o[0];
    m->io.errfd = e[0];
    m->io.in = i[1];
    child_end[0] = i[0] >= 0 ? i[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    child_end[1] = o[1];
    child_end[2] = e[1];
    for (int fd = 0; fd < 3; fd++)
        if (child_end[fd] < 0 || dup2(child_end[fd], fd) < 0)
            return v12n_fail_errno(err, "stdio");
    return 0;
}

static void stdio_null(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2(null, fd);
    if (null > 2)
        close(null);
}

static int console_listen(struct monitor *m, char *path, size_t len, v12n_error *err)
{
    /* The runtime connects by path: a short one, in the run directory. */
    snprintf(path, len, "%s/%s.con", m->e->run_dir, m->c.id);
    struct sockaddr_un addr;
    auto_close int dir_fd = -1;
    if (engine_unix_addr(path, &addr, &dir_fd, err) < 0)
        return -1;
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return v12n_fail_errno(err, "socket");
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
        v12n_fail_errno(err, "listen on %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int create_and_start(struct monitor *m, v12n_error *err)
{
    char bundle[4200], console_path[4200];
    engine_path(m->e, m->c.id, "", bundle, sizeof bundle);
    struct create_opts o = {.id = m->c.id, .bundle = bundle};
    auto_close int console = -1;
    int child_end[3] = {-1, -1, -1};
    if (m->c.tty) {
        if ((console = console_listen(m, console_path, sizeof console_path, err)) < 0)
            return -1;
        o.console_socket = console_path;
    } else if (stdio_pipes(m, child_end, err) < 0)
        return -1;
    int r = container_create(&m->e->rt, &o, err);
    stdio_null();
    for (int i = 0; i < 3; i++)
        if (child_end[i] > 2)
            close(child_end[i]);
    if (m->c.tty) {
        unlink(console_path);
        if (r == 0) {
            auto_close int conn = accept4(console, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0)
                return v12n_fail_errno(err, "accept the console");
            if ((m->io.master = console_recv_master(conn, err)) < 0)
                return -1;
        }
    }
    if (r < 0)
        return -1;
    auto_json json_t *state = NULL;
    if (container_state(&m->e->rt, m->c.id, &state, err) < 0)
        return -1;
    json_int_t pid = json_integer_value(json_object_get(state, "pid"));
    m->io.init_pid = (pid_t)pid;
    if (container_start(&m->e->rt, m->c.id, err) < 0)
        return -1;
    return 0;
}

/* The init has exited (not reaped: the loop does that). */
static bool init_exited(const struct monitor *m)
{
    siginfo_t info = {0};
    return waitid(P_PID, (id_t)m->io.init_pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid != 0;
}

static int set_state_running(struct monitor *m, v12n_error *err)
{
    int lock = engine_lock(m->e, err);
    if (lock < 0)
        return -1;
    struct engine_container fresh;
    int r = engine_record_load(m->e, m->c.id, &fresh, err);
    if (r == 0) {
        fresh.state = ENGINE_RUNNING;
        fresh.pid = m->io.init_pid;
        fresh.monitor_pid = getpid();
        fresh.exit_code = 0;
        free(fresh.started);
        fresh.started = engine_now();
        free(fresh.finished);
        fresh.finished = NULL;
        r = engine_record_save(m->e, &fresh, err);
        engine_container_clear(&fresh);
    }
    engine_unlock(lock);
    return r;
}

static void set_state_exited(struct monitor *m)
{
    v12n_error ignored = {0};
    int lock = engine_lock(m->e, &ignored);
    struct engine_container fresh;
    if (engine_record_load(m->e, m->c.id, &fresh, &ignored) == 0) {
        fresh.state = ENGINE_EXITED;
        fresh.exit_code = m->io.exit_code;
        fresh.pid = 0;
        fresh.monitor_pid = 0;
        free(fresh.finished);
        fresh.finished = engine_now();
        engine_record_save(m->e, &fresh, &ignored);
        engine_container_clear(&fresh);
    }
    engine_unlock(lock);
}

void engine_monitor_finish(const struct engine *e, const char *id, struct monitor_io *io)
{
    char path[4200];
    unlink(engine_path(e, id, "attach.sock", path, sizeof path));
    if (io->listen_fd >= 0)
        close(io->listen_fd);
    io->listen_fd = -1;
    struct monitor m = {.e = e};
    snprintf(m.c.id, sizeof m.c.id, "%s", id);
    v12n_error ignored = {0};
    bool auto_remove = false;
    struct engine_container c;
    if (engine_record_load(e, id, &c, &ignored) == 0) {
        auto_remove = c.auto_remove;
        engine_container_clear(&c);
    }
    m.io.exit_code = io->exit_code;
    /* --rm: gone before the client hears the exit code (Docker's promise).
     * The record is not rewritten as exited first: it is removed with the
     * rest, and only kept (exited) when the removal fails. */
    bool detached = auto_remove && engine_destroy_detach(e, id, &ignored) == 0;
    if (!detached) {
        engine_teardown(e, id, &ignored);
        set_state_exited(&m);
    }
    monitor_send_exit(io, io->exit_code);
    if (detached)
        engine_destroy_finish(e);
}

/* Become the small static monitor (engine->monitor_bin) for the steady
 * state; it execs the full binary again for engine_monitor_finish.  Returns
 * only when that is not possible. */
static void become_small(struct monitor *m)
{
    const char *bin = m->e->monitor_bin;
    if (bin[0] == '\0' || access(bin, X_OK) < 0)
        return;
    /* A short-lived container has exited already: finishing here saves
     * two execs (`run --rm busybox true`). */
    if (init_exited(m))
        return;
    int self = open("/proc/self/exe", O_RDONLY);
    if (self < 0)
        return;
    struct monitor_io *io = &m->io;
    char args[12][32];
    int vals[] = {io->init_pid, io->log_fd, io->listen_fd, io->out,
                  io->errfd,    io->in,     io->master,    self};
    char *argv[16 + MONITOR_MAX_CLIENTS];
    int n = 0;
    argv[n++] = "v12n-monitor";
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        snprintf(args[i], sizeof args[i], "%d", vals[i]);
        argv[n++] = args[i];
        if (i > 0 && vals[i] >= 0)
            fcntl(vals[i], F_SETFD, 0);
    }
    argv[n++] = (char *)m->e->root;
    argv[n++] = (char *)m->e->run_dir;
    argv[n++] = m->c.id;
    static char cargs[MONITOR_MAX_CLIENTS][16];
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++) {
        if (io->clients[i] < 0)
            continue;
        fcntl(io->clients[i], F_SETFD, 0);
        snprintf(cargs[i], sizeof cargs[i], "%d", io->clients[i]);
        argv[n++] = cargs[i];
    }
    argv[n] = NULL;
    close(io->sig_fd);
    char *envp[] = {NULL};
    execve(bin, argv, envp);
    close(self);
}

/* The monitor is forked from the CLI: drop every descriptor the CLI held
 * (a store lease would otherwise live as long as the container). */
static void close_inherited(int keep1, int keep2)
{
    int lo = keep1 < keep2 ? keep1 : keep2, hi = keep1 < keep2 ? keep2 : keep1;
    if (lo < 0)
        lo = hi;
    if (lo > 3)
        close_range(3, (unsigned)lo - 1, 0);
    if (hi > lo + 1)
        close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0U, 0);
}

void engine_monitor_main(const struct engine *e, const char *id, int ready_fd, int client_fd)
{
    close_inherited(ready_fd, client_fd);
    struct monitor m = {.e = e};
    monitor_io_init(&m.io);
    v12n_error err = {0};
    stdio_null();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char log_path[4200];
    /* The init's parent (the runtime's first stage) exits: the monitor
     * becomes its parent so it can reap it and read its status. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        v12n_fail_errno(&err, "set child subreaper");
    } else if (monitor_signals(&m.io) < 0) {
        v12n_fail_errno(&err, "signalfd");
    } else if (engine_record_load(e, id, &m.c, &err) == 0 && listen_attach(&m, &err) == 0) {
        engine_path(e, id, "log", log_path, sizeof log_path);
        m.io.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (m.io.log_fd < 0)
            v12n_fail_errno(&err, "open %s", log_path);
        else if (client_fd >= 0)
            monitor_add_client(&m.io, client_fd);
        /* A --rm container that is already over (`run --rm busybox true`)
         * goes from created to removed: its record is not rewritten twice. */
        if (m.io.log_fd >= 0 && create_and_start(&m, &err) == 0 &&
            !(m.c.auto_remove && init_exited(&m)))
            set_state_running(&m, &err);
    }
    if (err.errnum != 0 || err.msg[0] != '\0') {
        char path[4200];
        unlink(engine_path(e, id, "attach.sock", path, sizeof path));
        v12n_error ignored = {0};
        engine_teardown(e, id, &ignored);
        report(ready_fd, &err);
        _exit(1);
    }
    if (m.io.master >= 0)
        fcntl(m.io.master, F_SETFL, fcntl(m.io.master, F_GETFL) | O_NONBLOCK);
    report(ready_fd, NULL);
    /* A client waits in the foreground: most such containers are short
     * (`run --rm busybox true`), and finishing here spares the exec of the
     * small monitor and the exec back for engine_monitor_finish. */
    if (client_fd < 0 || !monitor_serve(&m.io, MONITOR_FULL_GRACE_MS)) {
        become_small(&m);
        monitor_loop(&m.io);
    }
    engine_monitor_finish(e, id, &m.io);
    _exit(0);
}
