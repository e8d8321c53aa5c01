/* `cp` between the host and a container's rootfs.  Container paths are
 * resolved with openat2(RESOLVE_IN_ROOT): a symlink in the image cannot lead
 * outside the rootfs.  Regular files and directories (recursively). */
#ifndef V12N_ENGINE_COPY_H
#define V12N_ENGINE_COPY_H

#include "util/error.h"

int engine_copy_out(const char *rootfs, const char *cpath, const char *host, v12n_error *err);
int engine_copy_in(const char *host, const char *rootfs, const char *cpath, v12n_error *err);

#endif
