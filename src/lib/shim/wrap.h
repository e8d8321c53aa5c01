/* Macros that turn a shim's function list into the table of names, the
 * indices and the wrappers.  A shim defines SHIM_LIB (its struct v12n_dlib)
 * and a list macro LIST(F, V, H) with one entry per function:
 *   F(return type, name, (parameters), (arguments), value on failure)
 *   V(name, (parameters), (arguments))        a function returning void
 *   H(name)                                   variadic: wrapper written by hand
 * The wrappers' definitions must match the library's own prototypes (the
 * compiler checks them against its header), and call the library through a
 * pointer of exactly that type. */
#ifndef V12N_SHIM_WRAP_H
#define V12N_SHIM_WRAP_H

#include "util/dlib.h"

#define SHIM_NAME_F(ret, name, params, args, fail) #name,
#define SHIM_NAME_V(name, params, args)            #name,
#define SHIM_NAME_H(name)                          #name,

#define SHIM_INDEX_F(ret, name, params, args, fail) SHIM_##name,
#define SHIM_INDEX_V(name, params, args)            SHIM_##name,
#define SHIM_INDEX_H(name)                          SHIM_##name,

/* The library's function, typed as its header declares it. */
#define SHIM_FN(name) ((__typeof__(&name))SHIM_LIB.fns[SHIM_##name])

#define SHIM_WRAP_F(ret, name, params, args, fail)                                                 \
    ret name params                                                                                \
    {                                                                                              \
        if (!v12n_dlib_ready(&SHIM_LIB))                                                           \
            return fail;                                                                           \
        return SHIM_FN(name) args;                                                                 \
    }
#define SHIM_WRAP_V(name, params, args)                                                            \
    void name params                                                                               \
    {                                                                                              \
        if (v12n_dlib_ready(&SHIM_LIB))                                                            \
            SHIM_FN(name) args;                                                                    \
    }
#define SHIM_WRAP_H(name)

/* Names, indices, the library's descriptor and the generated wrappers. */
#define SHIM_DEFINE(var, LIST, soname, package)                                                    \
    static const char *const var##_names[] = {LIST(SHIM_NAME_F, SHIM_NAME_V, SHIM_NAME_H)};        \
    enum { LIST(SHIM_INDEX_F, SHIM_INDEX_V, SHIM_INDEX_H) var##_count };                           \
    static void *var##_fns[var##_count];                                                           \
    static struct v12n_dlib var = {soname,      package, var##_names, var##_fns,                   \
                                   var##_count, false,   false,       ""};                         \
    LIST(SHIM_WRAP_F, SHIM_WRAP_V, SHIM_WRAP_H)

#endif
