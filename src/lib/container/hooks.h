/* OCI hooks: each runs with the container state on stdin, its own args and
 * env, and an optional timeout after which it is killed and the operation
 * fails. */
#ifndef V12N_CONTAINER_HOOKS_H
#define V12N_CONTAINER_HOOKS_H

#include "container/spec.h"
#include "util/error.h"

/* Run every hook of one kind in order; stop at the first failure. */
int hooks_run(const struct oci_hook_list *list, enum oci_hook_kind kind, const char *state_json,
              v12n_error *err);

#endif
