/* `cp CONTAINER:PATH HOSTPATH` and `cp HOSTPATH CONTAINER:PATH`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_engine.h"
#include "engine/copy.h"

/* "name:/path" -> name and path; NULL when arg names a host path. */
static const char *split(const char *arg, char *name, size_t len)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL || arg[0] == '/' || arg[0] == '.' || (size_t)(colon - arg) >= len)
        return NULL;
    memcpy(name, arg, (size_t)(colon - arg));
    name[colon - arg] = '\0';
    return colon + 1;
}

int cli_cp(int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error("cp", "expects SRC and DST, one of them CONTAINER:PATH");
    char sname[256], dname[256];
    const char *spath = split(argv[1], sname, sizeof sname);
    const char *dpath = split(argv[2], dname, sizeof dname);
    if ((spath == NULL) == (dpath == NULL))
        return cli_usage_error("cp", "exactly one of SRC and DST must be CONTAINER:PATH");
    struct engine e;
    v12n_error err = {0};
    struct engine_container c;
    if (cli_engine_open(&e, &err) < 0 ||
        engine_lookup(&e, spath != NULL ? sname : dname, &c, &err) < 0)
        return cli_engine_error(&err);
    char rootfs[4200];
    engine_path(&e, c.id, "rootfs", rootfs, sizeof rootfs);
    /* A stopped container's rootfs is mounted for the copy and left so. */
    int r = engine_rootfs_prepare(&e, &c, &err);
    if (r == 0)
        r = spath != NULL ? engine_copy_out(rootfs, spath, argv[2], &err)
                          : engine_copy_in(argv[1], rootfs, dpath, &err);
    if (r == 0 && c.state != ENGINE_RUNNING)
        r = engine_teardown(&e, c.id, &err);
    engine_container_clear(&c);
    return r < 0 ? cli_engine_error(&err) : 0;
}
