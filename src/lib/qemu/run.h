/* Running QEMU's tools: find them, run them, capture their output. */
#ifndef V12N_QEMU_RUN_H
#define V12N_QEMU_RUN_H

#include <stddef.h>

#include "util/error.h"

#define QEMU_SYSTEM_BINARY "qemu-system-x86_64"
#define QEMU_IMG_BINARY    "qemu-img"

/* Search $PATH (/usr/bin when unset) for name; 0 and the path, or -1 with an
 * error naming the Debian package that provides it. */
int qemu_find_binary(const char *name, char *out, size_t len, v12n_error *err);

/* The Debian package that ships a QEMU binary ("qemu-utils" for qemu-img). */
const char *qemu_debian_package(const char *binary);

struct qemu_output {
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr, NUL-terminated */
    int status; /* exit code; 128+signal when killed */
};
void qemu_output_free(struct qemu_output *o);

/* Run argv (argv[0] a path) to completion with stdin from /dev/null. */
int qemu_run_capture(char *const argv[], struct qemu_output *o, v12n_error *err);

/* "7.2.19" from `<binary> --version`. */
int qemu_version(const char *binary, char *out, size_t len, v12n_error *err);

/* Parse the version out of a --version text (unit-tested). */
int qemu_parse_version(const char *text, char *out, size_t len);

#endif
