/* From an image and `docker run` options to an OCI runtime bundle: the
 * options themselves and their parsing, the image-config -> config.json
 * conversion (OCI image-spec "conversion" rules plus Docker's defaults), the
 * generated /etc files and the overlayfs rootfs.  See docs/engine.md,
 * "From image to bundle".
 *
 * Order of use by the engine:
 *   engine_run_opts_init(), engine_opt_*() per flag
 *   engine_rootfs_mount(layers, upper, work, merged)
 *   engine_etc_files_write(etc_dir, hostname, network)
 *   engine_spec_build(image config, opts, paths) -> config.json
 *   ... run ..., engine_rootfs_umount(merged)
 */
#ifndef V12N_ENGINE_BUNDLE_H
#define V12N_ENGINE_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* ---- docker run options ------------------------------------------------- */

enum engine_network {
    ENGINE_NET_NONE, /* a new, empty network namespace (the default for now) */
    ENGINE_NET_HOST, /* the host's network namespace */
};

/* -v SRC:DST[:ro|rw]: a host bind mount (SRC absolute). */
struct engine_volume {
    char *source;
    char *destination;
    bool readonly;
};

/* --tmpfs DST[:opts] */
struct engine_tmpfs {
    char *destination;
    char *options; /* "size=64m,mode=1777" or NULL */
};

/* Every string and vector here is malloc'd and owned by the struct:
 * engine_run_opts_free() releases them. */
struct engine_run_opts {
    char *name;       /* --name, may be NULL */
    char **argv;      /* after the image (NULL or empty: the image's Cmd) */
    char *entrypoint; /* --entrypoint; "" means none; NULL: not given */
    char **env;       /* -e, as KEY=VAL (a bare -e KEY was resolved when added) */
    char **env_files; /* --env-file paths, read by engine_spec_build */
    struct engine_volume *volumes;
    size_t n_volumes;
    struct engine_tmpfs *tmpfs;
    size_t n_tmpfs;
    char *workdir;      /* -w, absolute */
    char *user;         /* -u uid[:gid] | name[:group] */
    char *hostname;     /* --hostname */
    int64_t memory;     /* --memory bytes, 0: no limit */
    int64_t nano_cpus;  /* --cpus * 1e9, 0: no limit */
    int64_t pids_limit; /* --pids-limit, 0: no limit (-1 too) */
    bool read_only;     /* --read-only */
    char **cap_add;     /* "CAP_NET_ADMIN" or "ALL" (normalized with the CAP_ prefix) */
    char **cap_drop;
    bool privileged;
    enum engine_network network;
    bool tty;         /* -t */
    bool interactive; /* -i: stdin stays open */
};

void engine_run_opts_init(struct engine_run_opts *o);
void engine_run_opts_free(struct engine_run_opts *o);

/* One function per repeatable flag: parse, validate, append.  Errors name
 * the flag and the value ("--tmpfs relative: destination must be absolute"). */
int engine_opt_env(struct engine_run_opts *o, const char *arg, v12n_error *err); /* -e */
int engine_opt_env_file(struct engine_run_opts *o, const char *path, v12n_error *err);
int engine_opt_volume(struct engine_run_opts *o, const char *arg, v12n_error *err);
int engine_opt_tmpfs(struct engine_run_opts *o, const char *arg, v12n_error *err);
int engine_opt_cap(struct engine_run_opts *o, bool add, const char *arg, v12n_error *err);
int engine_opt_network(struct engine_run_opts *o, const char *arg, v12n_error *err);

/* Parsers for single-valued flags. */
int engine_parse_volume(const char *arg, struct engine_volume *out, v12n_error *err);
int engine_parse_tmpfs(const char *arg, struct engine_tmpfs *out, v12n_error *err);
/* "512m", "1g", "100k", "4096", "1.5g" (binary units, as Docker's). */
int engine_parse_size(const char *arg, int64_t *out, v12n_error *err);
/* "1.5" -> 1500000000 nano-CPUs; at most 9 decimals. */
int engine_parse_cpus(const char *arg, int64_t *out, v12n_error *err);
/* An env file: KEY=VAL lines, bare KEY takes the host's value (dropped when
 * unset), blank lines and lines starting with '#' ignored.  Appends to *env. */
int engine_env_file_read(const char *path, char ***env, v12n_error *err);

/* ---- user resolution ----------------------------------------------------- */

struct engine_user {
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids; /* from /etc/group membership, malloc'd */
    size_t n_additional_gids;
    char *home; /* from /etc/passwd; "/" when unknown */
};

/* Resolve `-u uid[:gid] | name[:group]` (NULL or "": root) against the
 * image's /etc/passwd and /etc/group, read under rootfs with
 * RESOLVE_IN_ROOT (a symlink cannot leave it) and bounded in size. */
int engine_user_resolve(const char *rootfs, const char *user, struct engine_user *out,
                        v12n_error *err);
void engine_user_clear(struct engine_user *u);

/* ---- the spec ------------------------------------------------------------ */

struct engine_bundle_paths {
    const char *rootfs;       /* the mounted rootfs (root.path, passwd lookups) */
    const char *etc_dir;      /* holds hostname, hosts, resolv.conf; NULL: none mounted */
    const char *container_id; /* default hostname: its first 12 characters; may be NULL */
};

/* image_config: the OCI image config as stored (with its "config" member,
 * which may be absent).  Builds a complete config.json into *config.
 * The image's StopSignal is kept as the annotation
 * "org.opencontainers.image.stopSignal" (engine_spec_stop_signal reads it). */
int engine_spec_build(json_t *image_config, const struct engine_run_opts *opts,
                      const struct engine_bundle_paths *paths, json_t **config, v12n_error *err);

/* The signal that stops this container (SIGTERM unless the image says). */
int engine_spec_stop_signal(json_t *config);

/* The hostname engine_spec_build will use (for engine_etc_files_write):
 * --hostname, else with --network host the host's, else the container id's
 * first 12 characters. */
const char *engine_spec_hostname(const struct engine_run_opts *opts,
                                 const struct engine_bundle_paths *paths, char *buf, size_t len);

/* ---- /etc files ---------------------------------------------------------- */

/* Write dir/hostname, dir/hosts and dir/resolv.conf (dir created 0755).
 * With ENGINE_NET_HOST, hosts and resolv.conf are copies of the host's. */
int engine_etc_files_write(const char *dir, const char *hostname, enum engine_network net,
                           v12n_error *err);

/* ---- the rootfs ---------------------------------------------------------- */

/* Overlay lowers (top first, n >= 1) with upper/work on merged.  An
 * ephemeral upper (a --rm container's, deleted with it) is mounted
 * "volatile": no sync of the upper filesystem, at unmount either, which
 * otherwise waits for the host filesystem's writeback. */
int engine_rootfs_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
                        const char *merged, bool ephemeral, v12n_error *err);
int engine_rootfs_umount(const char *merged, v12n_error *err);

#endif
