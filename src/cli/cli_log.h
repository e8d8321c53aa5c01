/* --log / --log-format: where runtime errors are also written, in the form
 * containerd and podman read back (JSON lines with level, msg, time). */
#ifndef V12N_CLI_LOG_H
#define V12N_CLI_LOG_H

#include "util/error.h"

int cli_log_open(const char *path, const char *format, v12n_error *err);
void cli_log(const char *level, const char *msg);
void cli_warn(const v12n_error *err);

#endif
