/* The monitor's steady state (monitor_loop.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "engine/monitor_loop.h"
#include "util/fs.h"

void monitor_io_init(struct monitor_io *m)
{
    memset(m, 0, sizeof *m);
    m->master = m->out = m->errfd = m->in = -1;
    m->listen_fd = m->sig_fd = m->log_fd = -1;
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
        m->clients[i] = -1;
}

int monitor_signals(struct monitor_io *m)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -1;
    m->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    return m->sig_fd < 0 ? -1 : 0;
}

void monitor_drop_client(struct monitor_io *m, int i)
{
    close(m->clients[i]);
    m->clients[i] = -1;
    free(m->readers[i]);
    m->readers[i] = NULL;
}

void monitor_add_client(struct monitor_io *m, int fd)
{
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++) {
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

void monitor_broadcast(struct monitor_io *m, uint8_t type, const void *data, size_t len)
{
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
        if (m->clients[i] >= 0 && attach_send(m->clients[i], type, data, len) < 0)
            monitor_drop_client(m, i);
}

void monitor_send_exit(struct monitor_io *m, int code)
{
    uint32_t be = htonl((uint32_t)code);
    monitor_broadcast(m, ATTACH_EXIT, &be, 4);
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
        if (m->clients[i] >= 0)
            monitor_drop_client(m, i);
}

/* Output from the container: to the log and every client. 0 at EOF. */
static int pump_output(struct monitor_io *m, int fd, bool is_stderr)
{
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (n <= 0)
        return 0;
    engine_log_write(m->log_fd, is_stderr, buf, (size_t)n);
    monitor_broadcast(m, is_stderr ? ATTACH_STDERR : ATTACH_STDOUT, buf, (size_t)n);
    return 1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void client_frame(struct monitor_io *m, uint8_t type, const uint8_t *p, size_t len)
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

static void serve_client(struct monitor_io *m, int i)
{
    int r = attach_reader_fill(m->readers[i], m->clients[i]);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        monitor_drop_client(m, i);
        return;
    }
    uint8_t type;
    const uint8_t *p;
    size_t len;
    while ((r = attach_reader_next(m->readers[i], &type, &p, &len)) == 1)
        client_frame(m, type, p, len);
    if (r < 0)
        monitor_drop_client(m, i);
}

static void reap(struct monitor_io *m)
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
static void drain(struct monitor_io *m)
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

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool monitor_serve(struct monitor_io *m, int timeout_ms)
{
    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    /* The init may have exited before the signalfd existed. */
    reap(m);
    while (!m->exited) {
        int wait = -1;
        if (timeout_ms >= 0) {
            long left = deadline - now_ms();
            if (left <= 0)
                return false;
            wait = (int)left;
        }
        struct pollfd p[4 + MONITOR_MAX_CLIENTS];
        int n = 0;
        p[n++] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->master >= 0 ? m->master : m->out, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = m->errfd, .events = POLLIN};
        for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
            p[n++] = (struct pollfd){.fd = m->clients[i], .events = POLLIN};
        int ready = poll(p, (nfds_t)n, wait);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (ready == 0)
            continue; /* the deadline is checked above */
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
                monitor_add_client(m, fd);
        }
        for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
            if (p[4 + i].fd >= 0 && p[4 + i].revents != 0 && m->clients[i] >= 0)
                serve_client(m, i);
        if (p[0].revents & POLLIN)
            reap(m);
    }
    drain(m);
    return true;
}

void monitor_loop(struct monitor_io *m)
{
    monitor_serve(m, -1);
}
