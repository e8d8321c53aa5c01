/* CVE-2019-5736: a process that enters a container must not be running the
 * host's runtime binary, or the container could reopen it through
 * /proc/<pid>/exe and overwrite it.  The commands that enter containers
 * re-execute themselves from a sealed, read-only memfd copy. */
#ifndef V12N_CONTAINER_SELFCLONE_H
#define V12N_CONTAINER_SELFCLONE_H

#include <stdbool.h>

#include "util/error.h"

/* Whether /proc/self/exe is already a sealed copy. */
bool selfclone_is_sealed(void);

/* When argv names a command that enters a container (create, run, exec),
 * re-exec from a sealed copy; returns 0 when nothing was needed. */
int selfclone_ensure(int argc, char **argv, v12n_error *err);

#endif
