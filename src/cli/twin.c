/* The static v12n and its dynamic twin v12n-full (docs/design.md, "Optional
 * libraries"): commands that need libcurl or libarchive run in the twin, as
 * git runs git-remote-https, so the static binary never loads them. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_engine.h"
#include "cli_image.h"
#include "image/pull.h"
#include "image/store.h"
#include "util/dlib.h"

#define TWIN_NAME "v12n-full"

/* main's argv before it consumes global options (it rewrites the array) */
static char **twin_argv;

void cli_twin_init(int argc, char **argv)
{
    if (v12n_dlib_available())
        return;
    twin_argv = calloc((size_t)argc + 1, sizeof *twin_argv);
    if (twin_argv != NULL)
        memcpy(twin_argv, argv, (size_t)argc * sizeof *argv);
}

/* `v12n [--root DIR] CMD ...` as the user typed it, in the twin. */
static int twin_exec(const char *what, v12n_error *err)
{
    char path[PATH_MAX];
    cli_sibling_path(TWIN_NAME, "V12N_FULL", path, sizeof path);
    if (path[0] == '\0')
        return v12n_fail(err, ENOENT, "%s needs %s: cannot find the directory of %s", what,
                         TWIN_NAME, cli_argv0 != NULL ? cli_argv0 : "v12n");
    if (twin_argv == NULL)
        return v12n_fail(err, ENOMEM, "%s needs %s: out of memory", what, TWIN_NAME);
    fflush(stdout);
    execv(path, twin_argv);
    return v12n_fail_errno(err, "%s needs %s: exec %s", what, TWIN_NAME, path);
}

/* The commands whose every run reaches libcurl or libarchive. */
static bool needs_libraries(const char *cmd, const char *sub)
{
    static const char *const cmds[] = {"pull", "load", "save", "import"};
    if (strcmp(cmd, "image") == 0 && sub != NULL) {
        if (strcmp(sub, "builtin") == 0)
            return true;
        cmd = sub;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(cmd, cmds[i]) == 0)
            return true;
    }
    return false;
}

int cli_twin_dispatch(int argc, char **argv, v12n_error *err)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;
    if (v12n_dlib_available() || argc < 1 || !needs_libraries(argv[0], sub))
        return 0;
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", argv[0], strcmp(argv[0], "image") == 0 ? " " : "",
             strcmp(argv[0], "image") == 0 ? sub : "");
    return twin_exec(what, err);
}

int cli_twin_unless_local(const char *image_ref, v12n_error *err)
{
    if (v12n_dlib_available())
        return 0;
    /* Any failure to find it locally (absent, a bad name, the store) is the
     * twin's to report, exactly as it would without this check. */
    struct cli_image_opts io = {0};
    struct store *s = NULL;
    struct image_pull_result res;
    v12n_error ignored = {0};
    bool local = cli_image_store_open(&io, &s, &ignored) == 0 &&
                 image_find_local(s, image_ref, &res, &ignored) == 0;
    if (s != NULL)
        store_close(s);
    return local ? 0 : twin_exec("run", err);
}
