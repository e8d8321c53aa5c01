/* Terminals: the container's pty is created inside the container (its own
 * devpts), the master is handed to the caller over --console-socket with
 * SCM_RIGHTS, and the slave becomes the process's controlling terminal. */
#ifndef V12N_CONTAINER_CONSOLE_H
#define V12N_CONTAINER_CONSOLE_H

#include <stdbool.h>

#include "util/error.h"

/* Connect to the caller's unix socket (before entering the container). */
int console_socket_connect(const char *path, v12n_error *err);

/* Inside the container: create the pty, optionally bind the slave onto
 * /dev/console, send the master over sock_fd, and make the slave stdio and
 * the controlling terminal. */
int console_setup(int sock_fd, bool bind_dev_console, unsigned short rows, unsigned short cols,
                  v12n_error *err);

/* Receive a pty master fd sent with SCM_RIGHTS. */
int console_recv_master(int sock_fd, v12n_error *err);

/* Copy between our stdin/stdout and the pty master until the master hangs
 * up (foreground `run`/`exec` with a terminal and no console socket). Puts a
 * terminal stdin into raw mode and restores it. */
int console_proxy(int master_fd, v12n_error *err);

#endif
