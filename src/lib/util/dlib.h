/* Optional libraries, loaded with dlopen on first use.
 *
 * v12n is one binary, and its OCI runtime starts in a few milliseconds: it
 * must not map libcurl or libarchive (and their ~30 dependencies)
 * at every start only because `pull` or `load` need them.  So the binary is
 * not linked against them.  Each such library has one shim file in
 * src/lib/shim/ that defines wrappers with the library's own names and
 * prototypes (from its own headers): call sites stay unchanged, and a call to
 * a function that has no wrapper yet is a link error; add the wrapper to the
 * library's shim (see docs/design.md, "Optional libraries").
 *
 * A wrapper loads the library on first use.  If it cannot, the wrapper returns
 * the library's own failure value (NULL, an error code); entry points call the
 * shim's load function first to get an error naming the library and the
 * Debian package that ships it. */
#ifndef V12N_UTIL_DLIB_H
#define V12N_UTIL_DLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct v12n_dlib {
    const char *soname;       /* "libcurl.so.4" */
    const char *package;      /* Debian package that ships it: "libcurl4" */
    const char *const *names; /* the functions the shim wraps */
    void **fns;               /* their addresses, filled by the load */
    size_t n;
    /* filled by v12n_dlib_load */
    bool tried;
    bool ready;
    char why[256]; /* dlerror of a failed load, kept for later callers */
};

/* Load the library and resolve every function, once (thread-safe); all or
 * nothing.  Error: "libcurl.so.4: cannot open ...: install the Debian
 * package libcurl4". */
int v12n_dlib_load(struct v12n_dlib *lib, v12n_error *err);

/* For wrappers: true once loaded (loads on first call, quietly). */
bool v12n_dlib_ready(struct v12n_dlib *lib);

/* False in the static v12n (util/dlib_none.c), which cannot dlopen: the
 * commands that need an optional library run in its dynamic twin v12n-full
 * (cli/twin.c, docs/design.md "Optional libraries"). */
bool v12n_dlib_available(void);

#endif
