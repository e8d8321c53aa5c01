/* v12n-monitor: the monitor's steady state in a small static binary, so a
 * running container costs a few hundred KiB instead of the full v12n's
 * megabytes.  The full monitor execs it once the container runs:
 *
 *   v12n-monitor INIT_PID LOG LISTEN OUT ERR IN MASTER SELF ROOT RUN_DIR ID [CLIENT...]
 *
 * (descriptors, -1 for none; SELF is the full v12n binary, which it execs
 * again as `v12n --root ROOT __monitor-finish ID CODE [CLIENT...]` when the
 * init has exited, for the record and the cleanup).  Not for users. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/monitor_loop.h"

static int num(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < -1 || v > 1 << 30)
        _exit(125);
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc < 12)
        return 125;
    struct monitor_io m;
    monitor_io_init(&m);
    m.init_pid = num(argv[1]);
    m.log_fd = num(argv[2]);
    m.listen_fd = num(argv[3]);
    m.out = num(argv[4]);
    m.errfd = num(argv[5]);
    m.in = num(argv[6]);
    m.master = num(argv[7]);
    int self = num(argv[8]);
    const char *root = argv[9], *run_dir = argv[10], *id = argv[11];
    for (int i = 12; i < argc; i++)
        monitor_add_client(&m, num(argv[i]));
    signal(SIGPIPE, SIG_IGN);
    if (monitor_signals(&m) < 0)
        return 125;
    monitor_loop(&m);
    /* The full binary records the exit and cleans up. */
    static char code[16], env[4200];
    snprintf(code, sizeof code, "%d", m.exit_code);
    snprintf(env, sizeof env, "V12N_ENGINE_RUN_DIR=%s", run_dir);
    char *args[8 + MONITOR_MAX_CLIENTS];
    int n = 0;
    args[n++] = "v12n";
    args[n++] = "--root";
    args[n++] = (char *)root;
    args[n++] = "__monitor-finish";
    args[n++] = (char *)id;
    args[n++] = code;
    static char cl[MONITOR_MAX_CLIENTS][16];
    for (int i = 0; i < MONITOR_MAX_CLIENTS; i++) {
        if (m.clients[i] < 0)
            continue;
        fcntl(m.clients[i], F_SETFD, 0); /* accepted with SOCK_CLOEXEC */
        snprintf(cl[i], sizeof cl[i], "%d", m.clients[i]);
        args[n++] = cl[i];
    }
    args[n] = NULL;
    char *envp[] = {env, NULL};
    fexecve(self, args, envp);
    return 125;
}
