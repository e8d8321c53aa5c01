/* The image commands (pull, images, rmi, image inspect, tag, login, logout,
 * load, save, import, image builtin) and what they share: the store and
 * registry options, names as Docker prints them, sizes and ages. */
#ifndef V12N_CLI_IMAGE_H
#define V12N_CLI_IMAGE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "image/pull.h"
#include "image/store.h"
#include "util/error.h"

/* The credentials file unless --authfile or $V12N_AUTHFILE says otherwise:
 * $HOME/.config/v12n/auth.json (Docker's config.json shape, mode 0600). */
#define CLI_AUTHFILE_REL "/.config/v12n/auth.json"

/* The global --root (main.c), or NULL: STORE_DEFAULT_ROOT. */
extern const char *cli_root;

enum {
    CLI_OPT_ROOT = 0x1000,
    CLI_OPT_AUTHFILE,
    CLI_OPT_TLS_CA,
    CLI_OPT_INSECURE,
    CLI_OPT_PLATFORM,
};

/* Options every image command accepts (those that talk to a registry use
 * the last four). */
#define CLI_IMAGE_LONGOPTS                                                                         \
    {"root", required_argument, NULL, CLI_OPT_ROOT},                                               \
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                                   \
        {"tls-ca", required_argument, NULL, CLI_OPT_TLS_CA},                                       \
        {"insecure", no_argument, NULL, CLI_OPT_INSECURE},                                         \
    {                                                                                              \
        "platform", required_argument, NULL, CLI_OPT_PLATFORM                                      \
    }

struct cli_image_opts {
    const char *root;
    const char *authfile;
    const char *tls_ca;
    const char *platform;
    bool insecure;
};

/* getopt's answer c: true when it was one of the common options. */
bool cli_image_common_opt(struct cli_image_opts *o, int c, const char *arg);

/* Unknown option or missing argument: the usage error for command. */
int cli_image_bad_option(const char *command, int argc, char **argv);

/* For a command that takes only the common options: parses them into o and
 * leaves optind at the first operand. Returns 0, or the usage error's exit
 * status (already printed). */
int cli_image_common_opts_only(const char *command, struct cli_image_opts *o, int argc,
                               char **argv);

int cli_image_store_open(const struct cli_image_opts *o, struct store **out, v12n_error *err);
const char *cli_image_authfile(const struct cli_image_opts *o, char *buf, size_t len);

/* The pull options from o: platform parsed, credentials loaded (free them
 * with cli_image_pull_opts_clear). */
struct cli_pull_opts {
    struct image_pull_opts pull;
    struct image_platform platform;
    struct image_auth *auth;
};
int cli_image_pull_opts(const struct cli_image_opts *o, struct cli_pull_opts *out, v12n_error *err);
void cli_image_pull_opts_clear(struct cli_pull_opts *p);

/* Find an image as the user named it: a reference (normalised: "alpine"
 * is docker.io/library/alpine:latest), else an id, digest or id prefix.
 * name gets the canonical name it was found by ("" when by id). */
int cli_image_find(struct store *s, const char *ref, struct store_image *out,
                   char name[IMAGE_REF_STRING_MAX], v12n_error *err);

/* "alpine" / "latest" from "docker.io/library/alpine:latest"; "<none>" for
 * what the name lacks. */
void cli_image_repo_tag(const char *name, char *repo, size_t repo_len, char *tag, size_t tag_len);
/* "alpine:latest" */
const char *cli_image_familiar(const char *name, char *buf, size_t len);
/* The 12 hex digits Docker shows of a digest. */
const char *cli_short_id(const char *digest, char buf[13]);
/* "7.8MB", "123kB" (decimal units, 3 significant digits, as Docker). */
const char *cli_human_size(uint64_t bytes, char *buf, size_t len);
/* "2 weeks ago" for an RFC 3339 time; "N/A" when unparsable. */
const char *cli_human_age(const char *rfc3339, char *buf, size_t len);
bool cli_parse_time(const char *rfc3339, time_t *out);

int cli_pull(int argc, char **argv);
int cli_images(int argc, char **argv);
int cli_rmi(int argc, char **argv);
int cli_image_inspect(int argc, char **argv);
int cli_tag(int argc, char **argv);
int cli_login(int argc, char **argv);
int cli_logout(int argc, char **argv);
int cli_load(int argc, char **argv);
int cli_save(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_image_builtin(int argc, char **argv);
/* `v12n image SUBCOMMAND`: ls, rm, inspect, pull, tag, load, save, import, builtin. */
int cli_image(int argc, char **argv);

#endif
