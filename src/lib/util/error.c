#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int v12n_fail(v12n_error *err, int errnum, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->errnum = errnum;
    return -1;
}

int v12n_error_wrap(v12n_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    char prefix[V12N_ERROR_MSG_MAX];
    char old[V12N_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    if (old[0] != '\0')
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    else
        snprintf(err->msg, sizeof err->msg, "%s", prefix);
    return -1;
}

const char *v12n_error_text(const v12n_error *err, char *buf, size_t len)
{
    if (err->errnum != 0)
        snprintf(buf, len, "%s: %s", err->msg, strerror(err->errnum));
    else
        snprintf(buf, len, "%s", err->msg);
    return buf;
}

void v12n_error_clear(v12n_error *err)
{
    err->errnum = 0;
    err->msg[0] = '\0';
}
