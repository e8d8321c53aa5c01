#include "container/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

extern char **environ;

static pid_t spawn_hook(const struct oci_hook *h, int stdin_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (dup2(stdin_fd, STDIN_FILENO) < 0)
        _exit(127);
    char *default_argv[] = {h->path, NULL};
    char *empty_env[] = {NULL};
    execve(h->path, h->args ? h->args : default_argv, h->env ? h->env : empty_env);
    _exit(127);
}

/* Wait for the hook, killing it when its timeout passes (pidfd + poll). */
static int wait_hook(pid_t pid, int timeout_s, int *status, v12n_error *err, const char *name)
{
    auto_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0 && timeout_s > 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int r;
        do
            r = poll(&pfd, 1, timeout_s * 1000);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return v12n_fail(err, ETIMEDOUT, "%s: timed out after %d s", name, timeout_s);
        }
    }
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return v12n_fail_errno(err, "%s: wait", name);
    }
    return 0;
}

static int run_one(const struct oci_hook *h, const char *name, const char *state_json,
                   v12n_error *err)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return v12n_fail_errno(err, "%s: pipe", name);
    pid_t pid = spawn_hook(h, pipefd[0]);
    close(pipefd[0]);
    if (pid < 0) {
        close(pipefd[1]);
        return v12n_fail_errno(err, "%s: fork", name);
    }
    /* The hook may exit without reading its stdin: ignore EPIPE. */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    v12n_write_all(pipefd[1], state_json, strlen(state_json));
    close(pipefd[1]);
    signal(SIGPIPE, old);
    int status = 0;
    if (wait_hook(pid, h->timeout, &status, err, name) < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        return v12n_fail(err, 0, "%s: exited with status %d", name, WEXITSTATUS(status));
    return v12n_fail(err, 0, "%s: killed by signal %d", name, WTERMSIG(status));
}

int hooks_run(const struct oci_hook_list *list, enum oci_hook_kind kind, const char *state_json,
              v12n_error *err)
{
    for (size_t i = 0; i < list->n; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s hook %s", oci_hook_kind_name(kind), list->hooks[i].path);
        if (run_one(&list->hooks[i], name, state_json, err) < 0)
            return -1;
    }
    return 0;
}
