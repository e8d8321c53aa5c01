/* util/dlib.h for the static v12n: a static glibc cannot safely dlopen
 * libcurl or libarchive (their libc would be a second one), so this binary
 * has no optional library.  The CLI hands the commands that need one to the
 * dynamic twin v12n-full before they start (cli/twin.c); a load here means a
 * command path the dispatch missed, and fails with an error that says so. */
#include "util/dlib.h"

#include <errno.h>

bool v12n_dlib_ready(struct v12n_dlib *lib)
{
    (void)lib;
    return false;
}

int v12n_dlib_load(struct v12n_dlib *lib, v12n_error *err)
{
    return v12n_fail(err, ENOTSUP,
                     "%s: not loadable by the static v12n (this command must run in v12n-full)",
                     lib->soname);
}

bool v12n_dlib_available(void)
{
    return false;
}
