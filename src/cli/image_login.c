/* `login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]` and
 * `logout [REGISTRY]`: the credentials file (cli_image_authfile(): --authfile,
 * else $V12N_AUTHFILE, else ~/.config/v12n/auth.json; mode 0600, Docker's
 * config.json shape).  REGISTRY defaults to docker.io.  The credentials are
 * stored, not tried: a wrong password shows at the next pull (401). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_image.h"
#include "image/auth.h"
#include "util/cleanup.h"

/* One line from stdin, without its newline. */
static char *read_password(v12n_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        v12n_fail(err, 0, "login: no password on stdin");
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static const char *registry_arg(int argc, char **argv, char *buf, size_t len)
{
    image_auth_normalize_host(argc - optind == 1 ? argv[optind] : IMAGE_DOCKER_HUB, buf, len);
    return buf;
}

static int save_login(const struct cli_image_opts *o, const char *registry, const char *user,
                      const char *password, v12n_error *err)
{
    char path[4096];
    struct image_auth *auth = NULL;
    cli_image_authfile(o, path, sizeof path);
    int r = image_auth_load(path, &auth, err);
    if (r == 0)
        r = image_auth_set(auth, registry, user, password, err);
    if (r == 0)
        r = image_auth_save(auth, path, err);
    image_auth_free(auth);
    return r;
}

int cli_login(int argc, char **argv)
{
    static const struct option opts[] = {{"username", required_argument, NULL, 'u'},
                                         {"password", required_argument, NULL, 'p'},
                                         {"password-stdin", no_argument, NULL, 'P'},
                                         CLI_IMAGE_LONGOPTS,
                                         {0}};
    struct cli_image_opts o = {0};
    const char *user = NULL, *password = NULL;
    bool from_stdin = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+u:p:", opts, NULL)) != -1) {
        if (c == 'u')
            user = optarg;
        else if (c == 'p')
            password = optarg;
        else if (c == 'P')
            from_stdin = true;
        else if (!cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("login", argc, argv);
    }
    if (argc - optind > 1)
        return cli_usage_error("login", "expects at most one registry");
    if (user == NULL)
        return cli_usage_error("login", "needs -u USER");
    if (password != NULL && from_stdin)
        return cli_usage_error("login", "--password and --password-stdin are exclusive");
    if (password == NULL && !from_stdin)
        return cli_usage_error("login", "needs --password-stdin (or -p PASSWORD)");
    char registry[512];
    registry_arg(argc, argv, registry, sizeof registry);
    v12n_error err = {0};
    auto_free char *line = from_stdin ? read_password(&err) : NULL;
    if (from_stdin && line == NULL)
        return cli_error(&err);
    if (save_login(&o, registry, user, from_stdin ? line : password, &err) < 0)
        return cli_error(&err);
    printf("Login Succeeded\n");
    return 0;
}

int cli_logout(int argc, char **argv)
{
    struct cli_image_opts o = {0};
    int rc = cli_image_common_opts_only("logout", &o, argc, argv);
    if (rc != 0)
        return rc;
    if (argc - optind > 1)
        return cli_usage_error("logout", "expects at most one registry");
    char registry[512], path[4096];
    registry_arg(argc, argv, registry, sizeof registry);
    cli_image_authfile(&o, path, sizeof path);
    v12n_error err = {0};
    struct image_auth *auth = NULL;
    if (image_auth_load(path, &auth, &err) < 0)
        return cli_error(&err);
    int r = 0;
    if (!image_auth_remove(auth, registry))
        printf("Not logged in to %s\n", registry);
    else if ((r = image_auth_save(auth, path, &err)) == 0)
        printf("Removing login credentials for %s\n", registry);
    image_auth_free(auth);
    return r < 0 ? cli_error(&err) : 0;
}
