#include "container/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

int console_socket_connect(const char *path, v12n_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path)
        return v12n_fail(err, ENAMETOOLONG, "console socket %s", path);
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return v12n_fail_errno(err, "console socket %s: socket", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int saved = errno;
        close(fd);
        return v12n_fail(err, saved, "console socket %s: connect", path);
    }
    return fd;
}

static int send_fd(int sock_fd, int fd, const char *name)
{
    char buf[CMSG_SPACE(sizeof(int))];
    memset(buf, 0, sizeof buf);
    struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    return sendmsg(sock_fd, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int console_recv_master(int sock_fd, v12n_error *err)
{
    char name[256];
    char buf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof buf};
    ssize_t n;
    do
        n = recvmsg(sock_fd, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return v12n_fail_errno(err, "console: receive pty master");
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
        return v12n_fail(err, EPROTO, "console: no pty master received");
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
}

/* /dev/console must be a regular file or a device we created: never follow a
 * symlink planted by the image. */
static int bind_console(const char *slave_path, v12n_error *err)
{
    int fd = open("/dev/console", O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_WRONLY, 0600);
    if (fd < 0 && errno == ELOOP) {
        if (unlink("/dev/console") < 0)
            return v12n_fail_errno(err, "unlink /dev/console");
        fd = open("/dev/console", O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_WRONLY, 0600);
    }
    if (fd < 0)
        return v12n_fail_errno(err, "create /dev/console");
    close(fd);
    if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
        return v12n_fail_errno(err, "mount %s on /dev/console", slave_path);
    return 0;
}

static int make_controlling_tty(int slave, v12n_error *err)
{
    /* A new session, so the pty can become our controlling terminal. */
    if (setsid() < 0 && errno != EPERM)
        return v12n_fail_errno(err, "console: setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return v12n_fail_errno(err, "console: set controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return v12n_fail_errno(err, "console: dup2 onto fd %d", i);
    return 0;
}

int console_setup(int sock_fd, bool bind_dev_console, unsigned short rows, unsigned short cols,
                  v12n_error *err)
{
    auto_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return v12n_fail_errno(err, "console: open /dev/ptmx");
    if (unlockpt(master) < 0)
        return v12n_fail_errno(err, "console: unlockpt");
    char slave_path[64];
    if (ptsname_r(master, slave_path, sizeof slave_path) != 0)
        return v12n_fail_errno(err, "console: ptsname");
    auto_close int slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return v12n_fail_errno(err, "console: open %s", slave_path);
    if (rows > 0 && cols > 0) {
        struct winsize ws = {.ws_row = rows, .ws_col = cols};
        if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
            return v12n_fail_errno(err, "console: set window size");
    }
    if (bind_dev_console && bind_console(slave_path, err) < 0)
        return -1;
    if (send_fd(sock_fd, master, slave_path) < 0)
        return v12n_fail_errno(err, "console: send pty master");
    return make_controlling_tty(slave, err);
}

static int copy_once(int from, int to)
{
    char buf[8192];
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0)
        return -1;
    return v12n_write_all(to, buf, (size_t)n) < 0 ? -1 : 0;
}

int console_proxy(int master_fd, v12n_error *err)
{
    struct termios saved;
    bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        cfmakeraw(&t);
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
            ioctl(master_fd, TIOCSWINSZ, &ws);
    }
    struct pollfd fds[2] = {{.fd = master_fd, .events = POLLIN},
                            {.fd = STDIN_FILENO, .events = POLLIN}};
    int nfds = 2;
    for (;;) {
        int r = poll(fds, nfds, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            v12n_fail_errno(err, "console: poll");
            break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (copy_once(master_fd, STDOUT_FILENO) < 0)
                break; /* EIO: the last slave closed */
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            if (copy_once(STDIN_FILENO, master_fd) < 0)
                nfds = 1; /* our stdin ended: keep draining output */
        }
    }
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return 0;
}
