/* The cgroup layout, from the mount table. */
#include "host/host.h"

#include <string.h>

/* The filesystem type of one mountinfo line: the field after " - ". */
static bool line_fstype(const char *line, const char *eol, char *out, size_t len)
{
    const char *sep = NULL;
    for (const char *p = line; p + 3 <= eol; p++)
        if (p[0] == ' ' && p[1] == '-' && p[2] == ' ') {
            sep = p + 3;
            break;
        }
    if (sep == NULL)
        return false;
    size_t n = strcspn(sep, " \n");
    if (sep + n > eol || n >= len)
        return false;
    memcpy(out, sep, n);
    out[n] = '\0';
    return true;
}

enum host_cgroup_mode host_cgroup_mode_from_mountinfo(const char *mountinfo)
{
    bool v1 = false, v2 = false;
    for (const char *line = mountinfo; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        char type[32];
        if (line_fstype(line, eol, type, sizeof type)) {
            if (strcmp(type, "cgroup") == 0)
                v1 = true;
            else if (strcmp(type, "cgroup2") == 0)
                v2 = true;
        }
        line = *eol != '\0' ? eol + 1 : NULL;
    }
    if (v1 && v2)
        return HOST_CGROUP_HYBRID;
    if (v1)
        return HOST_CGROUP_V1;
    if (v2)
        return HOST_CGROUP_V2;
    return HOST_CGROUP_NONE;
}

const char *host_cgroup_mode_name(enum host_cgroup_mode m)
{
    switch (m) {
    case HOST_CGROUP_V1:
        return "v1";
    case HOST_CGROUP_V2:
        return "v2";
    case HOST_CGROUP_HYBRID:
        return "hybrid";
    case HOST_CGROUP_NONE:
        break;
    }
    return "none";
}
