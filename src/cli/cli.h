/* The CLI: one file per command, each parsing its own flags, calling the
 * library and printing.  The only layer that prints to the user or exits. */
#ifndef V12N_CLI_H
#define V12N_CLI_H

#include <stdbool.h>

#include "container/container.h"
#include "util/error.h"

#define V12N_VERSION "0.1.0"

/* Print "v12n: <message>: <cause>" on stderr (and to --log); returns 1. */
int cli_error(const v12n_error *err);
/* Usage problems: "v12n: <command>: <what>" and 1. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The OCI runtime commands (`v12n oci CMD` or `v12n-runc CMD`). */
int cli_oci_main(int argc, char **argv);

typedef int (*oci_command_fn)(const struct runtime_ctx *ctx, int argc, char **argv);

int cli_oci_spec(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_create(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_run(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_start(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_state(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_kill(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_delete(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_exec(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_list(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_ps(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_pause(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_resume(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_update(const struct runtime_ctx *ctx, int argc, char **argv);
int cli_oci_features(const struct runtime_ctx *ctx, int argc, char **argv);

/* `v12n vm run ...`: the KVM VMM. */
int cli_vm_main(int argc, char **argv);
/* `v12n info`: what kinds of virtualization this host offers. */
int cli_info(int argc, char **argv);

/* The program name installed beside the v12n the user ran (the directory of
 * argv[0], resolved), or $env_name when set; "" when not found. */
void cli_sibling_path(const char *name, const char *env_name, char *buf, size_t len);

/* The static v12n has no libcurl or libarchive (util/dlib.h): it runs the
 * commands that need them in its dynamic twin v12n-full, found with
 * cli_sibling_path ($V12N_FULL).  Elsewhere these return 0 at once.
 * cli_twin_init keeps main's argv (before any option is consumed);
 * cli_twin_dispatch execs the twin for pull, load, save, import and
 * `image builtin`; cli_twin_unless_local for `run IMAGE` when the store does
 * not have the image.  They return only on a failed exec (-1), or 0 when
 * this binary runs the command. */
void cli_twin_init(int argc, char **argv);
int cli_twin_dispatch(int argc, char **argv, v12n_error *err);
int cli_twin_unless_local(const char *image_ref, v12n_error *err);

/* Print a JSON value on stdout (indented when pretty). */
int cli_print_json(json_t *j, bool pretty);

/* Exactly one positional argument (the container id) after the options. */
const char *cli_one_id(const char *command, int argc, char **argv, int optind_now);

/* For commands without options: the single container id, or NULL (reported). */
const char *cli_only_id(const char *command, int argc, char **argv);

#endif
