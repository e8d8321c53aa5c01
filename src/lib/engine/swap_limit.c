/* Whether the host can limit a container's swap: Docker's SwapLimit.  With
 * it, `--memory M` also gets memory+swap = 2M; without it (a v1 memory
 * controller without memsw accounting, e.g. swapaccount=0, or a cgroup2
 * without memory.swap.max), Docker sets no swap limit at all. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"

#define SELF_CGROUP "/proc/self/cgroup"

/* Our own cgroup2 path ("0::/path" in /proc/self/cgroup), as Docker looks
 * at its own cgroup: the root cgroup has no memory.swap.max. */
static bool own_unified_path(char *out, size_t len)
{
    FILE *f auto_fclose = fopen(SELF_CGROUP, "re");
    if (f == NULL)
        return false;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        return (size_t)snprintf(out, len, "%s", line + 3) < len;
    }
    return false;
}

bool engine_swap_limit_supported(const char *cgroup_root)
{
    enum cgroup_mode mode;
    v12n_error err;
    if (cgroup_detect_mode(cgroup_root, &mode, &err) < 0)
        return false;
    char path[4096];
    if (mode != CGROUP_MODE_V2) {
        snprintf(path, sizeof path, "%s/memory/memory.memsw.limit_in_bytes", cgroup_root);
        return access(path, F_OK) == 0;
    }
    char own[2048];
    if (!own_unified_path(own, sizeof own))
        return false;
    if ((size_t)snprintf(path, sizeof path, "%s%s/memory.swap.max", cgroup_root, own) >=
        sizeof path)
        return false;
    return access(path, F_OK) == 0;
}
