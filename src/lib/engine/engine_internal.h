/* Helpers shared by the files of src/lib/engine (not part of its interface). */
#ifndef V12N_ENGINE_INTERNAL_H
#define V12N_ENGINE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Append a copy of s to the NULL-terminated vector *v. */
int engine_strv_push(char ***v, const char *s, v12n_error *err);

/* Docker's default capabilities, the CAP_ names, NULL-terminated. */
extern const char *const engine_docker_default_caps[];

/* Docker's default seccomp profile for a container holding the capability
 * set caps (bit n = capability n), as a linux.seccomp object. */
json_t *engine_docker_seccomp(unsigned long long caps);
/* The same for a given kernel version: some rules depend on it (ptrace is
 * only safe to allow from 4.8 on).  engine_docker_seccomp uses uname(2). */
json_t *engine_docker_seccomp_for_kernel(unsigned long long caps, unsigned kernel_major,
                                         unsigned kernel_minor);

/* Docker's masked and read-only paths, NULL-terminated. */
extern const char *const engine_docker_masked_paths[];
extern const char *const engine_docker_readonly_paths[];
/* The masked paths as linux.maskedPaths: the list above plus the host's
 * per-CPU thermal_throttle directories, as Docker does; NULL on ENOMEM. */
json_t *engine_docker_masked_paths_json(void);

/* Whether the host can limit swap (Docker's SwapLimit): memsw accounting in
 * the v1 memory controller under cgroup_root, or on a pure cgroup2 host
 * memory.swap.max in our own cgroup.  Unknown counts as no. */
bool engine_swap_limit_supported(const char *cgroup_root);

struct engine_run_opts;
struct engine_bundle_paths;
struct image_config;

/* The pieces of config.json, each built by its own file.  They return a new
 * reference, or NULL with err set. */
json_t *engine_spec_process(const struct image_config *img, const struct engine_run_opts *opts,
                            const struct engine_bundle_paths *paths, const char *hostname,
                            unsigned long long *caps_out, v12n_error *err); /* spec_process.c */
json_t *engine_spec_mounts(const struct image_config *img, const struct engine_run_opts *opts,
                           const struct engine_bundle_paths *paths, v12n_error *err);
json_t *engine_spec_linux(const struct engine_run_opts *opts, unsigned long long caps,
                          v12n_error *err); /* spec_linux.c */

/* The effective capability set for these options (bit n = capability n). */
int engine_caps_for(const struct engine_run_opts *opts, unsigned long long *out, v12n_error *err);

/* The overlay through one mount(2) with a joined lowerdir: the fallback
 * for kernels without "lowerdir+" (exposed for its test). */
int engine_overlay_mount_legacy(const char *const *lowers, size_t n, const char *upper,
                                const char *work, const char *merged, bool ephemeral,
                                v12n_error *err);

/* The container's resolv.conf from the host's: as is with the host's
 * network; otherwise without loopback nameservers (unreachable from another
 * network namespace), falling back to public ones when none is left. */
char *engine_resolv_conf(const char *host_text, bool host_network);

#endif
