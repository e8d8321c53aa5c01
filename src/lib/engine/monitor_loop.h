/* The monitor's steady state, shared by the in-process monitor and the
 * small static `v12n-monitor` it becomes once the container runs (so 50
 * monitors stay within 50 MiB): output to the log and the attach clients,
 * input and window sizes from them, new clients, and the init's reaping.
 * Depends on libc and engine_io only. */
#ifndef V12N_ENGINE_MONITOR_LOOP_H
#define V12N_ENGINE_MONITOR_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine_io.h"

#define MONITOR_MAX_CLIENTS 16

struct monitor_io {
    int master;         /* the pty master (tty) or -1 */
    int out, errfd, in; /* pipes (no tty); -1 when closed */
    int listen_fd, sig_fd, log_fd;
    int clients[MONITOR_MAX_CLIENTS];
    struct attach_reader *readers[MONITOR_MAX_CLIENTS];
    pid_t init_pid;
    bool exited;
    int exit_code;
};

void monitor_io_init(struct monitor_io *m);
void monitor_add_client(struct monitor_io *m, int fd);
void monitor_drop_client(struct monitor_io *m, int i);
void monitor_broadcast(struct monitor_io *m, uint8_t type, const void *data, size_t len);
/* SIGCHLD must be blocked; creates the signalfd. */
int monitor_signals(struct monitor_io *m);
/* Serve until the init exits, then drain the output left. */
void monitor_loop(struct monitor_io *m);
/* The same for at most timeout_ms (-1: no limit): true once the init has
 * exited (output drained), false when the time ran out first. */
bool monitor_serve(struct monitor_io *m, int timeout_ms);
/* Send the exit code to every client and close them. */
void monitor_send_exit(struct monitor_io *m, int code);

#endif
