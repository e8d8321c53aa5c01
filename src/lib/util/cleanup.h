/* Scope-bound cleanup (GCC/Clang `cleanup` attribute): every early return
 * releases what the function holds, without goto ladders. */
#ifndef V12N_UTIL_CLEANUP_H
#define V12N_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void v12n_freep(void *p)
{
    free(*(void **)p);
}

static inline void v12n_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void v12n_fclosep(FILE **f)
{
    if (*f != NULL)
        fclose(*f);
}

static inline void v12n_closedirp(DIR **d)
{
    if (*d != NULL)
        closedir(*d);
}

#define auto_free     __attribute__((cleanup(v12n_freep)))
#define auto_close    __attribute__((cleanup(v12n_closep)))
#define auto_fclose   __attribute__((cleanup(v12n_fclosep)))
#define auto_closedir __attribute__((cleanup(v12n_closedirp)))

/* Hand ownership out of a cleanup-managed variable. */
static inline int v12n_take_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

static inline void *v12n_take_ptr(void *p)
{
    void *r = *(void **)p;
    *(void **)p = NULL;
    return r;
}

#endif
