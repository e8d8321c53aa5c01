#include "util/dlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

/* Loads are rare (once per library and process): one lock for all. */
static pthread_mutex_t dlib_lock = PTHREAD_MUTEX_INITIALIZER;

static void load_locked(struct v12n_dlib *lib)
{
    lib->tried = true;
    /* RTLD_LOCAL: the library's symbols must not interpose the wrappers. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(lib->why, sizeof lib->why, "%s", e != NULL ? e : "cannot load");
        return;
    }
    for (size_t i = 0; i < lib->n; i++) {
        lib->fns[i] = dlsym(h, lib->names[i]);
        if (lib->fns[i] == NULL) {
            snprintf(lib->why, sizeof lib->why, "%s: no function %s (too old?)", lib->soname,
                     lib->names[i]);
            dlclose(h);
            return;
        }
    }
    /* Published last: readers test `ready` without the lock. */
    __atomic_store_n(&lib->ready, true, __ATOMIC_RELEASE);
}

bool v12n_dlib_ready(struct v12n_dlib *lib)
{
    if (__atomic_load_n(&lib->ready, __ATOMIC_ACQUIRE))
        return true;
    pthread_mutex_lock(&dlib_lock);
    if (!lib->tried)
        load_locked(lib);
    pthread_mutex_unlock(&dlib_lock);
    return __atomic_load_n(&lib->ready, __ATOMIC_ACQUIRE);
}

int v12n_dlib_load(struct v12n_dlib *lib, v12n_error *err)
{
    if (v12n_dlib_ready(lib))
        return 0;
    return v12n_fail(err, ELIBACC, "%s: install the Debian package %s", lib->why, lib->package);
}

bool v12n_dlib_available(void)
{
    return true;
}
