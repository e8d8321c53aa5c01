/* Errors travel up as values: a function that fails fills a v12n_error with
 * the errno and a message naming the object, returns -1, and the CLI prints
 * it once.  Nothing below src/cli prints to the terminal or exits. */
#ifndef V12N_UTIL_ERROR_H
#define V12N_UTIL_ERROR_H

#include <stddef.h>

#define V12N_ERROR_MSG_MAX 1024

typedef struct v12n_error {
    int errnum;                   /* errno of the cause, 0 when none */
    char msg[V12N_ERROR_MSG_MAX]; /* "container web: mount /proc" */
} v12n_error;

/* Record an error; always returns -1 so callers can `return v12n_fail(...)`. */
int v12n_fail(v12n_error *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, taking errno. */
#define v12n_fail_errno(err, ...) v12n_fail((err), errno, __VA_ARGS__)

/* Prepend context to an existing error: "create web" + ": " + old message. */
int v12n_error_wrap(v12n_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "msg: strerror(errnum)" (or just msg) into buf. */
const char *v12n_error_text(const v12n_error *err, char *buf, size_t len);

void v12n_error_clear(v12n_error *err);

#endif
