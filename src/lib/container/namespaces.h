/* Namespaces: joining existing ones by path, creating new ones, user
 * namespace id maps and time namespace offsets. */
#ifndef V12N_CONTAINER_NAMESPACES_H
#define V12N_CONTAINER_NAMESPACES_H

#include <sys/types.h>

#include "container/spec.h"
#include "util/error.h"

/* fds[t] = open(path) for every namespace joined by path, -1 elsewhere.
 * Opened by the runtime before it forks, so a bad path fails early. */
int ns_open_paths(const struct oci_spec *spec, int fds[OCI_NS_COUNT], v12n_error *err);

/* Open /proc/<pid>/ns/ entries of a running container for `exec`, skipping the
 * namespaces the caller already shares with it. */
int ns_open_of_pid(pid_t pid, int fds[OCI_NS_COUNT], v12n_error *err);

void ns_close_all(int fds[OCI_NS_COUNT]);

/* setns into each open fd: user first (it grants the rights for the rest),
 * mount last (it changes our root). */
int ns_join(int fds[OCI_NS_COUNT], v12n_error *err);

/* CLONE_NEW* flags for the namespaces the spec wants created, minus those
 * in `except`. */
int ns_new_flags(const struct oci_spec *spec, int except);

/* The runtime writes /proc/<pid>/{uid_map,gid_map} for the stage that
 * created the user namespace. */
int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, v12n_error *err);

/* After unshare(CLONE_NEWTIME), before the first child: clock offsets. */
int ns_write_time_offsets(const struct oci_spec *spec, v12n_error *err);

#endif
