/* linux.seccomp through libseccomp, compiled when the config is parsed and
 * loaded by the container process just before execve (or, without
 * no_new_privs, while it is still privileged: see process.c). */
#ifndef V12N_CONTAINER_SECCOMP_H
#define V12N_CONTAINER_SECCOMP_H

#include <jansson.h>

#include "util/error.h"

struct seccomp_profile;

/* Validate and compile linux.seccomp (defaultAction, defaultErrnoRet,
 * architectures, flags, syscalls with names/action/errnoRet/args).  Unknown
 * syscall names are skipped as runc does; unknown actions/ops are errors. */
int seccomp_profile_parse(json_t *seccomp, struct seccomp_profile **out, v12n_error *err);
void seccomp_profile_free(struct seccomp_profile *p);

/* The same, reusing filters compiled earlier: libseccomp needs ~8 ms for a
 * Docker-sized profile on three x86 ABIs, a cache hit ~0.1 ms.  cache_dir
 * (created 0700) must be writable by root only: whoever can write there
 * chooses the filters.  Failing to read or write the cache is not an error. */
int seccomp_profile_parse_cached(json_t *seccomp, const char *cache_dir,
                                 struct seccomp_profile **out, v12n_error *err);

/* Install the filter in the calling thread/process. */
int seccomp_profile_load(const struct seccomp_profile *p, v12n_error *err);

#endif
