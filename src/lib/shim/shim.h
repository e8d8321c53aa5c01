/* Load functions of the optional libraries (see util/dlib.h): an entry point
 * of the image code calls the one it needs before the library's functions,
 * to fail with one clear error if the library is not installed. */
#ifndef V12N_SHIM_SHIM_H
#define V12N_SHIM_SHIM_H

#include "util/error.h"

int v12n_curl_load(v12n_error *err);    /* libcurl.so.4 (libcurl4) */
int v12n_archive_load(v12n_error *err); /* libarchive.so.13 (libarchive13) */

#endif
