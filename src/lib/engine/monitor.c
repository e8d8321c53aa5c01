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
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define MAX_CLIENTS 16

struct monitor {
    const struct engine *e;
    struct engine_container c;
    int master;         /* the pty master (tty) or -1 */
    int out, errfd, in; /* pipes (no tty); -1 when closed */
    int listen_fd, sig_fd, log_fd;
    int clients[MAX_CLIENTS];
    struct attach_reader *readers[MAX_CLIENTS];
    pid_t init_pid;
    bool exited;
    int exit_code;
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
    m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->listen_fd < 0)
        return v12n_fail_errno(err, "socket");
    if (bind(m->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod(path, 0600) < 0 ||
        listen(m->listen_fd, 16) < 0)
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
    m->out = o[0];
    m->errfd = e[0];
    m->in = i[1];
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
            if ((m->master = console_recv_master(conn, err)) < 0)
                return -1;
        }
    }
    if (r < 0)
        return -1;
    auto_json json_t *state = NULL;
    if (container_state(&m->e->rt, m->c.id, &state, err) < 0)
        return -1;
    json_int_t pid = json_integer_value(json_object_get(state, "pid"));
    m->init_pid = (pid_t)pid;
    if (container_start(&m->e->rt, m->c.id, err) < 0)
        return -1;
    return 0;
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
        fresh.pid = m->init_pid;
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
        fresh.exit_code = m->exit_code;
        fresh.pid = 0;
        fresh.monitor_pid = 0;
        free(fresh.finished);
        fresh.finished = engine_now();
        engine_record_save(m->e, &fresh, &ignored);
        engine_container_clear(&fresh);
    }
    engine_unlock(lock);
}

static void drop_client(struct monitor *m, int i)
{
    close(m->clients[i]);
    m->clients[i] = -1;
    free(m->readers[i]);
    m->readers[i] = NULL;
}

static void add_client(struct monitor *m, int fd)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (m->clients[i] < 0) {
            m->readers[i] = calloc(1, sizeof *m->readers[i]);
            if (m->readers[i] == NULL)
                break;
            m->clients[i] = fd;
            return;
        }
    }
    close(fd);
}

static void broadcast(struct monitor *m, uint8_t type, const void *data, size_t len)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i] >= 0 && attach_send(m->clients[i], type, data, len) < 0)
            drop_client(m, i);
}

/* Output from the container: to the log and every client. 0 at EOF. */
static int pump_output(struct monitor *m, int fd, bool is_stderr)
{
    char buf[32768];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (n <= 0)
        return 0;
    engine_log_write(m->log_fd, is_stderr, buf, (size_t)n);
    broadcast(m, is_stderr ? ATTACH_STDERR : ATTACH_STDOUT, buf, (size_t)n);
    return 1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void client_frame(struct monitor *m, uint8_t type, const uint8_t *p, size_t len)
{
    int in = m->master >= 0 ? m->master : m->in;
    switch (type) {
    case ATTACH_STDIN:
        if (in >= 0)
            v12n_write_all(in, p, len);
        break;
    case ATTACH_STDIN_CLOSE:
        close_fd(&m->in);
        break;
    case ATTACH_RESIZE:
        if (len == 4 && m->master >= 0) {
            struct winsize ws = {.ws_row = (unsigned short)((p[0] << 8) | p[1]),
                                 .ws_col = (unsigned short)((p[2] << 8) | p[3])};
            ioctl(m->master, TIOCSWINSZ, &ws);
        }
        break;
    default:
        break;
    }
}

static void serve_client(struct monitor *m, int i)
{
    int r = attach_reader_fill(m->readers[i], m->clients[i]);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        drop_client(m, i);
        return;
    }
    uint8_t type;
    const uint8_t *p;
    size_t len;
    while ((r = attach_reader_next(m->readers[i], &type, &p, &len)) == 1)
        client_frame(m, type, p, len);
    if (r < 0)
        drop_client(m, i);
}

static void reap(struct monitor *m)
{
    struct signalfd_siginfo si;
    while (read(m->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == m->init_pid) {
            m->exited = true;
            m->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
}

/* After the init is gone: what the pipes or the pty still hold. */
static void drain(struct monitor *m)
{
    int fds[2] = {m->master >= 0 ? m->master : m->out, m->errfd};
    for (int k = 0; k < 2; k++) {
        if (fds[k] < 0)
            continue;
        fcntl(fds[k], F_SETFL, fcntl(fds[k], F_GETFL) | O_NONBLOCK);
        while (pump_output(m, fds[k], k == 1) == 1) {
            struct pollfd p = {.fd = fds[k], .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                break;
        }
    }
}

static void loop(struct monitor *m)
{
    while (!m->exited) {
        struct pollfd p[4 + MAX_CLIENTS];
        int n = 0;
        p[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->master >= 0 ? m->master : m->out, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->errfd, .events = POLLIN};
        for (int i = 0; i < MAX_CLIENTS; i++)
            p[n++] = (struct pollfd){.fd = m->clients[i], .events = POLLIN};
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[2].revents != 0 && pump_output(m, p[2].fd, false) == 0) {
            if (m->master >= 0)
                close_fd(&m->master);
            else
                close_fd(&m->out);
        }
        if (p[3].revents != 0 && pump_output(m, p[3].fd, true) == 0)
            close_fd(&m->errfd);
        if (p[1].revents & POLLIN) {
            int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                add_client(m, fd);
        }
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (p[4 + i].fd >= 0 && p[4 + i].revents != 0 && m->clients[i] >= 0)
                serve_client(m, i);
        if (p[0].revents & POLLIN)
            reap(m);
    }
}

static void finish(struct monitor *m)
{
    drain(m);
    char path[4200];
    unlink(engine_path(m->e, m->c.id, "attach.sock", path, sizeof path));
    close_fd(&m->listen_fd);
    v12n_error ignored = {0};
    engine_teardown(m->e, m->c.id, &ignored);
    set_state_exited(m);
    /* --rm: gone before the client hears the exit code. */
    if (m->c.auto_remove)
        engine_destroy(m->e, m->c.id, &ignored);
    uint32_t be = htonl((uint32_t)m->exit_code);
    broadcast(m, ATTACH_EXIT, &be, 4);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i] >= 0)
            drop_client(m, i);
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
    struct monitor m = {.e = e,
                        .master = -1,
                        .out = -1,
                        .errfd = -1,
                        .in = -1,
                        .listen_fd = -1,
                        .sig_fd = -1,
                        .log_fd = -1};
    for (int i = 0; i < MAX_CLIENTS; i++)
        m.clients[i] = -1;
    v12n_error err = {0};
    stdio_null();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    char log_path[4200];
    /* The init's parent (the runtime's first stage) exits: the monitor
     * becomes its parent so it can reap it and read its status. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        v12n_fail_errno(&err, "set child subreaper");
    } else if ((m.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        v12n_fail_errno(&err, "signalfd");
    } else if (engine_record_load(e, id, &m.c, &err) == 0 && listen_attach(&m, &err) == 0) {
        engine_path(e, id, "log", log_path, sizeof log_path);
        m.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (m.log_fd < 0)
            v12n_fail_errno(&err, "open %s", log_path);
        else if (client_fd >= 0)
            add_client(&m, client_fd);
        if (m.log_fd >= 0 && create_and_start(&m, &err) == 0)
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
    if (m.master >= 0)
        fcntl(m.master, F_SETFL, fcntl(m.master, F_GETFL) | O_NONBLOCK);
    report(ready_fd, NULL);
    loop(&m);
    finish(&m);
    _exit(0);
}
