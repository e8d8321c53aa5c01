/* Programs installed beside v12n (v12n-monitor, v12n-full): see cli.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_engine.h"

/* argv[0] survives the CVE-2019-5736 re-exec, /proc/self/exe does not. */
void cli_sibling_path(const char *name, const char *env_name, char *buf, size_t len)
{
    const char *env = getenv(env_name);
    buf[0] = '\0';
    if (env != NULL) {
        snprintf(buf, len, "%s", env);
        return;
    }
    char self[PATH_MAX] = "";
    if (cli_argv0 != NULL && strchr(cli_argv0, '/') != NULL) {
        if (realpath(cli_argv0, self) == NULL)
            return;
    } else if (cli_argv0 != NULL) {
        const char *path = getenv("PATH");
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", path != NULL ? path : "/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
            char cand[PATH_MAX];
            snprintf(cand, sizeof cand, "%s/%s", d, cli_argv0);
            if (access(cand, X_OK) == 0 && realpath(cand, self) != NULL)
                break;
        }
    }
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    snprintf(buf, len, "%s/%s", self, name);
}
