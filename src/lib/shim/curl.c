/* libcurl, loaded on first use (see util/dlib.h).  A new curl function in
 * the image code needs its line in CURL_FUNCTIONS. */

/* The checking macros of curl/curl.h would rename the wrappers below; call
 * sites elsewhere keep them. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include "shim/shim.h"
#include "shim/wrap.h"

/* The soname below is libcurl 7's and 8's. */
#if LIBCURL_VERSION_MAJOR < 7 || LIBCURL_VERSION_MAJOR > 8
#error "check libcurl's soname"
#endif

#define NOT_LOADED "libcurl not loaded"

#define CURL_FUNCTIONS(F, V, H)                                                                    \
    F(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                        \
    F(CURL *, curl_easy_init, (void), (), NULL)                                                    \
    V(curl_easy_cleanup, (CURL * h), (h))                                                          \
    F(CURLcode, curl_easy_perform, (CURL * h), (h), CURLE_FAILED_INIT)                             \
    F(const char *, curl_easy_strerror, (CURLcode c), (c), NOT_LOADED)                             \
    F(char *, curl_easy_escape, (CURL * h, const char *s, int n), (h, s, n), NULL)                 \
    V(curl_free, (void *p), (p))                                                                   \
    F(time_t, curl_getdate, (const char *s, const time_t *unused), (s, unused), -1)                \
    F(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),      \
      NULL)                                                                                        \
    V(curl_slist_free_all, (struct curl_slist * l), (l))                                           \
    F(CURLM *, curl_multi_init, (void), (), NULL)                                                  \
    F(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * h), (m, h), CURLM_INTERNAL_ERROR)       \
    F(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * h), (m, h), CURLM_INTERNAL_ERROR)    \
    F(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_INTERNAL_ERROR)                       \
    F(CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running),                      \
      CURLM_INTERNAL_ERROR)                                                                        \
    F(CURLMcode, curl_multi_poll,                                                                  \
      (CURLM * m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int *ready),         \
      (m, extra, n, timeout_ms, ready), CURLM_INTERNAL_ERROR)                                      \
    F(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)                    \
    F(const char *, curl_multi_strerror, (CURLMcode c), (c), NOT_LOADED)                           \
    F(CURLSH *, curl_share_init, (void), (), NULL)                                                 \
    F(CURLSHcode, curl_share_cleanup, (CURLSH * s), (s), CURLSHE_NOT_BUILT_IN)                     \
    H(curl_easy_setopt)                                                                            \
    H(curl_easy_getinfo)                                                                           \
    H(curl_share_setopt)

#define SHIM_LIB curl_lib
SHIM_DEFINE(curl_lib, CURL_FUNCTIONS, "libcurl.so.4", "libcurl4")

int v12n_curl_load(v12n_error *err)
{
    return v12n_dlib_load(&curl_lib, err);
}

/* The variadic ones take exactly one argument after the option, whose type
 * the option's number gives (CURLOPTTYPE_* in curl/curl.h): read it as that
 * type and pass it on. */
typedef void (*any_fn)(void);

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    if (!v12n_dlib_ready(&curl_lib))
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = SHIM_FN(curl_easy_setopt)(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
        rc = SHIM_FN(curl_easy_setopt)(h, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = SHIM_FN(curl_easy_setopt)(h, opt, va_arg(ap, any_fn));
    else if (opt < CURLOPTTYPE_BLOB)
        rc = SHIM_FN(curl_easy_setopt)(h, opt, va_arg(ap, curl_off_t));
    else
        rc = SHIM_FN(curl_easy_setopt)(h, opt, va_arg(ap, void *)); /* struct curl_blob * */
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    if (!v12n_dlib_ready(&curl_lib))
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = SHIM_FN(curl_easy_getinfo)(h, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLSHcode curl_share_setopt(CURLSH *s, CURLSHoption opt, ...)
{
    if (!v12n_dlib_ready(&curl_lib))
        return CURLSHE_NOT_BUILT_IN;
    va_list ap;
    va_start(ap, opt);
    CURLSHcode rc;
    switch (opt) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE: /* a curl_lock_data, promoted to int */
        rc = SHIM_FN(curl_share_setopt)(s, opt, va_arg(ap, int));
        break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
        rc = SHIM_FN(curl_share_setopt)(s, opt, va_arg(ap, any_fn));
        break;
    case CURLSHOPT_USERDATA:
        rc = SHIM_FN(curl_share_setopt)(s, opt, va_arg(ap, void *));
        break;
    default:
        rc = CURLSHE_BAD_OPTION;
        break;
    }
    va_end(ap);
    return rc;
}
