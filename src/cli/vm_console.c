/* `v12n vm console NAME`: the terminal on the VM's serial unix socket, raw,
 * until ctrl-] (detach; the VM keeps running) or the VM goes away. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cli_vm_manage.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define DETACH_KEY 0x1d /* ctrl-] */

static int connect_unix(const char *name, const char *path, v12n_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return v12n_fail(err, ENAMETOOLONG, "vm %s: console %s", name, path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return v12n_fail_errno(err, "vm %s: console socket", name);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return v12n_fail(err, e, "vm %s: console %s", name, path);
    }
    return fd;
}

/* Copy stdin to the guest until the detach key; returns 1 on detach or EOF. */
static int from_terminal(int sock, bool *detach)
{
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0)
        return 1;
    char *key = memchr(buf, DETACH_KEY, (size_t)n);
    if (key != NULL) {
        n = key - buf;
        *detach = true;
    }
    if (n > 0 && v12n_write_all(sock, buf, (size_t)n) < 0)
        return 1;
    return *detach ? 1 : 0;
}

static int relay(int sock)
{
    bool detach = false, stdin_open = true;
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                              {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (p[0].revents) {
            char buf[4096];
            ssize_t n = read(sock, buf, sizeof buf);
            if (n <= 0)
                return 0; /* the VM went away */
            if (v12n_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                return -1;
        }
        if (p[1].revents && from_terminal(sock, &detach) != 0) {
            if (detach)
                return 0;
            stdin_open = false; /* EOF on a pipe: keep showing the guest's output */
        }
    }
}

int cli_vm_console_attach(const char *name, const char *socket_path)
{
    v12n_error err = {0};
    auto_close int sock = connect_unix(name, socket_path, &err);
    if (sock < 0)
        return cli_error(&err);
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        fprintf(stderr, "Connected to vm %s (detach with ctrl-])\r\n", name);
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    int r = relay(sock);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        fprintf(stderr, "\n");
    }
    if (r < 0) {
        v12n_fail_errno(&err, "vm %s: console", name);
        return cli_error(&err);
    }
    return 0;
}
