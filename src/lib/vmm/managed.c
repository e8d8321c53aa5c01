#include "vmm/managed.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fs.h"

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int listen_unix(const char *path, int *out, v12n_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return v12n_fail(err, ENAMETOOLONG, "managed vm: socket %s", path);
    strcpy(sa.sun_path, path);
    if (unlink(path) < 0 && errno != ENOENT)
        return v12n_fail_errno(err, "managed vm: remove %s", path);
    *out = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (*out < 0)
        return v12n_fail_errno(err, "managed vm: socket %s", path);
    if (bind(*out, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(*out, 8) < 0)
        return v12n_fail_errno(err, "managed vm: listen on %s", path);
    return 0;
}

static int make_paths(struct vmm_managed *m, const char *dir, v12n_error *err)
{
    if (asprintf(&m->pidfile, "%s/qemu.pid", dir) < 0 ||
        asprintf(&m->qmp_path, "%s/qmp.sock", dir) < 0 ||
        asprintf(&m->serial_path, "%s/serial.sock", dir) < 0 ||
        asprintf(&m->log_path, "%s/console.log", dir) < 0)
        return v12n_fail(err, ENOMEM, "managed vm %s", dir);
    return 0;
}

static int open_fds(struct vmm_managed *m, v12n_error *err)
{
    /* a new boot starts a new log, as QEMU's logfile does */
    m->log_fd = open(m->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (m->log_fd < 0)
        return v12n_fail_errno(err, "managed vm: %s", m->log_path);
    /* the guest's output is never dropped: its writer blocks until this
     * thread drains it; the client's input is dropped when the guest reads
     * none, as a full UART FIFO does */
    if (pipe2(m->out_pipe, O_CLOEXEC) < 0 || pipe2(m->in_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return v12n_fail_errno(err, "managed vm: pipe");
    m->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m->powerbtn_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->quit_fd < 0 || m->stop_fd < 0 || m->powerbtn_fd < 0)
        return v12n_fail_errno(err, "managed vm: eventfd");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m->signal_fd < 0)
        return v12n_fail_errno(err, "managed vm: signalfd");
    if (listen_unix(m->serial_path, &m->serial_listen, err) < 0 ||
        listen_unix(m->qmp_path, &m->qmp_listen, err) < 0)
        return -1;
    return 0;
}

static void request_quit(struct vmm_managed *m)
{
    uint64_t one = 1;
    (void)!write(m->quit_fd, &one, sizeof one);
}

/* The guest's output: all of it to the log, to the client what its socket
 * takes now (a slow client misses output, the log has it). */
static bool forward_output(struct vmm_managed *m)
{
    char buf[4096];
    ssize_t n = read(m->out_pipe[0], buf, sizeof buf);
    if (n <= 0)
        return false;
    (void)v12n_write_all(m->log_fd, buf, (size_t)n);
    if (m->serial_client >= 0 &&
        send(m->serial_client, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
        close_fd(&m->serial_client);
    return true;
}

static void forward_input(struct vmm_managed *m)
{
    char buf[1024];
    ssize_t n = read(m->serial_client, buf, sizeof buf);
    if (n <= 0) {
        close_fd(&m->serial_client); /* detached */
        return;
    }
    (void)!write(m->in_pipe[1], buf, (size_t)n);
}

static void accept_serial(struct vmm_managed *m)
{
    int fd = accept4(m->serial_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (m->serial_client >= 0) {
        close(fd); /* one console client at a time */
        return;
    }
    m->serial_client = fd;
}

static void send_text(int fd, const char *text)
{
    /* replies are short: a client that does not read them loses them */
    (void)!send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void accept_qmp(struct vmm_managed *m)
{
    int fd = accept4(m->qmp_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < VMM_MANAGED_QMP_CLIENTS; i++) {
        if (m->qmp[i].fd < 0) {
            m->qmp[i].fd = fd;
            m->qmp[i].len = 0;
            send_text(fd, vmm_qmp_greeting());
            return;
        }
    }
    close(fd); /* busy: the management retries */
}

/* Answer every complete line in p's buffer; false: close the client. */
static bool answer_lines(struct vmm_managed *m, struct vmm_qmp_peer *p)
{
    char *nl;
    while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
        size_t line = (size_t)(nl - p->buf);
        char *reply;
        enum vmm_qmp_action action;
        vmm_qmp_answer(p->buf, line, &reply, &action);
        if (reply != NULL)
            send_text(p->fd, reply);
        free(reply);
        if (action == VMM_QMP_QUIT)
            request_quit(m);
        if (action == VMM_QMP_POWERDOWN) {
            uint64_t one = 1;
            (void)!write(m->powerbtn_fd, &one, sizeof one);
        }
        memmove(p->buf, nl + 1, p->len - line - 1);
        p->len -= line + 1;
    }
    return p->len < VMM_QMP_LINE_MAX; /* a line longer than that: a broken client */
}

static void read_qmp(struct vmm_managed *m, struct vmm_qmp_peer *p)
{
    ssize_t n = read(p->fd, p->buf + p->len, VMM_QMP_LINE_MAX - p->len);
    if (n <= 0 || !answer_lines(m, (p->len += (size_t)n, p)))
        close_fd(&p->fd);
}

enum { P_STOP, P_SIGNAL, P_OUT, P_SERIAL_LISTEN, P_SERIAL, P_QMP_LISTEN, P_QMP0, P_N };

static void *front_thread(void *arg)
{
    struct vmm_managed *m = arg;
    for (;;) {
        struct pollfd p[P_N + VMM_MANAGED_QMP_CLIENTS - 1];
        int fds[] = {m->stop_fd,       m->signal_fd,     m->out_pipe[0],
                     m->serial_listen, m->serial_client, m->qmp_listen};
        for (int i = 0; i < P_QMP0; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        for (int i = 0; i < VMM_MANAGED_QMP_CLIENTS; i++)
            p[P_QMP0 + i] = (struct pollfd){.fd = m->qmp[i].fd, .events = POLLIN};
        if (poll(p, P_QMP0 + VMM_MANAGED_QMP_CLIENTS, -1) < 0) {
            if (errno == EINTR)
                continue;
            request_quit(m); /* cannot serve: end the VM rather than orphan it */
            return NULL;
        }
        if (p[P_STOP].revents)
            return NULL;
        if (p[P_SIGNAL].revents) {
            struct signalfd_siginfo si;
            if (read(m->signal_fd, &si, sizeof si) == (ssize_t)sizeof si)
                request_quit(m);
        }
        if (p[P_OUT].revents)
            forward_output(m);
        if (p[P_SERIAL].revents)
            forward_input(m);
        if (p[P_SERIAL_LISTEN].revents)
            accept_serial(m);
        for (int i = 0; i < VMM_MANAGED_QMP_CLIENTS; i++)
            if (p[P_QMP0 + i].revents)
                read_qmp(m, &m->qmp[i]);
        if (p[P_QMP_LISTEN].revents)
            accept_qmp(m);
    }
}

int vmm_managed_open(struct vmm_managed *m, const char *dir, v12n_error *err)
{
    memset(m, 0, sizeof *m);
    m->log_fd = m->serial_listen = m->qmp_listen = m->serial_client = -1;
    m->signal_fd = m->stop_fd = m->quit_fd = m->powerbtn_fd = -1;
    m->out_pipe[0] = m->out_pipe[1] = m->in_pipe[0] = m->in_pipe[1] = -1;
    for (int i = 0; i < VMM_MANAGED_QMP_CLIENTS; i++)
        m->qmp[i].fd = -1;
    if (make_paths(m, dir, err) < 0 || open_fds(m, err) < 0)
        goto fail;
    int r = pthread_create(&m->thread, NULL, front_thread, m);
    if (r != 0) {
        v12n_fail(err, r, "managed vm: start the front thread");
        goto fail;
    }
    m->started = true;
    return 0;
fail:
    vmm_managed_close(m);
    return -1;
}

int vmm_managed_ready(struct vmm_managed *m, v12n_error *err)
{
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (v12n_write_file_atomic(m->pidfile, pid, (size_t)n, 0600, err) < 0)
        return v12n_error_wrap(err, "managed vm");
    return 0;
}

void vmm_managed_close(struct vmm_managed *m)
{
    if (m->started) {
        uint64_t one = 1;
        (void)!write(m->stop_fd, &one, sizeof one);
        pthread_join(m->thread, NULL);
        m->started = false;
        /* what the guest wrote last (the VMM's threads have ended) */
        close_fd(&m->out_pipe[1]);
        while (forward_output(m))
            ;
    }
    /* the pidfile goes first: "shut off" from here on, as QEMU does */
    const char *paths[] = {m->pidfile, m->qmp_path, m->serial_path};
    for (int i = 0; i < 3; i++)
        if (paths[i] != NULL && m->log_fd >= 0)
            unlink(paths[i]);
    int *fds[] = {&m->log_fd,      &m->serial_listen, &m->qmp_listen, &m->serial_client,
                  &m->signal_fd,   &m->stop_fd,       &m->quit_fd,    &m->powerbtn_fd,
                  &m->out_pipe[0], &m->out_pipe[1],   &m->in_pipe[0], &m->in_pipe[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close_fd(fds[i]);
    for (int i = 0; i < VMM_MANAGED_QMP_CLIENTS; i++)
        close_fd(&m->qmp[i].fd);
    free(m->pidfile);
    free(m->qmp_path);
    free(m->serial_path);
    free(m->log_path);
    m->pidfile = m->qmp_path = m->serial_path = m->log_path = NULL;
}
