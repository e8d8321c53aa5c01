/* The client side of attach: the terminal in raw mode, stdin to the
 * monitor, output to stdout/stderr, the window size on SIGWINCH, and the
 * detach keys ctrl-p ctrl-q. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli_engine.h"
#include "engine/engine_io.h"
#include "util/fs.h"

static volatile sig_atomic_t winch, proxied;

static void on_winch(int sig)
{
    (void)sig;
    winch = 1;
}

static void on_proxied(int sig)
{
    proxied = sig;
}

/* As Docker's --sig-proxy: signals the CLI gets go to the container (not
 * with a raw terminal, where ctrl-c is a byte for the container's pty). */
static void proxy_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa = {.sa_handler = on_proxied};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static void send_size(int fd)
{
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
        return;
    uint8_t p[4] = {(uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_row, (uint8_t)(ws.ws_col >> 8),
                    (uint8_t)ws.ws_col};
    attach_send(fd, ATTACH_RESIZE, p, 4);
}

/* Forward stdin, holding back a ctrl-p until we know whether ctrl-q follows. */
static int forward_input(int fd, bool tty, bool *pending_p, bool *detached)
{
    char buf[4096], out[4097];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0) {
        attach_send(fd, ATTACH_STDIN_CLOSE, NULL, 0);
        return 0;
    }
    size_t o = 0;
    for (ssize_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (tty && *pending_p) {
            *pending_p = false;
            if (ch == 0x11) {
                *detached = true;
                break;
            }
            out[o++] = 0x10;
        }
        if (tty && ch == 0x10) {
            *pending_p = true;
            continue;
        }
        out[o++] = ch;
    }
    if (o > 0)
        attach_send(fd, ATTACH_STDIN, out, o);
    return 1;
}

int cli_attach_stream(int fd, bool with_stdin, bool tty, bool *detached,
                      void (*on_signal)(void *arg, int sig), void *arg)
{
    *detached = false;
    struct termios saved;
    bool raw = tty && with_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    if (tty && isatty(STDIN_FILENO)) {
        struct sigaction sa = {.sa_handler = on_winch};
        sigaction(SIGWINCH, &sa, NULL);
        send_size(fd);
    }
    if (on_signal != NULL && !raw)
        proxy_signals();
    struct attach_reader *r = calloc(1, sizeof *r);
    int code = CLI_ENGINE_ERROR;
    bool stdin_open = with_stdin, pending_p = false;
    while (r != NULL && !*detached) {
        if (winch) {
            winch = 0;
            send_size(fd);
        }
        if (proxied != 0 && on_signal != NULL) {
            int sig = proxied;
            proxied = 0;
            on_signal(arg, sig);
        }
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents != 0 && forward_input(fd, tty, &pending_p, detached) == 0)
            stdin_open = false;
        if (p[0].revents == 0)
            continue;
        int got = attach_reader_fill(r, fd);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        uint8_t type;
        const uint8_t *payload;
        size_t len;
        bool exited = false;
        while (attach_reader_next(r, &type, &payload, &len) == 1) {
            if (type == ATTACH_STDOUT)
                v12n_write_all(STDOUT_FILENO, payload, len);
            else if (type == ATTACH_STDERR)
                v12n_write_all(STDERR_FILENO, payload, len);
            else if (type == ATTACH_EXIT && len == 4) {
                uint32_t be;
                memcpy(&be, payload, 4);
                code = (int)ntohl(be);
                exited = true;
            }
        }
        if (exited)
            break;
    }
    free(r);
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return *detached ? 0 : code;
}
