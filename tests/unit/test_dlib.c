/* The optional-library loader (util/dlib.h) and the shims over libcurl,
 * libarchive (src/lib/shim). */
#define CURL_DISABLE_TYPECHECK /* the wrappers are called as plain functions */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/dlib.h"
#include "util/fs.h"

static bool mapped(const char *name)
{
    v12n_error err = {0};
    auto_free char *maps = v12n_read_file("/proc/self/maps", NULL, &err);
    assert_non_null(maps);
    return strstr(maps, name) != NULL;
}

static void missing_library_names_the_package(void **state)
{
    (void)state;
    static const char *const names[] = {"f"};
    void *fns[1];
    struct v12n_dlib lib = {
        "libv12n-absent.so.9", "v12n-absent-pkg", names, fns, 1, false, false, ""};
    v12n_error err = {0};
    assert_int_equal(v12n_dlib_load(&lib, &err), -1);
    assert_int_equal(err.errnum, ELIBACC);
    assert_non_null(strstr(err.msg, "libv12n-absent.so.9"));
    assert_non_null(strstr(err.msg, "install the Debian package v12n-absent-pkg"));
    /* Tried once; later calls give the same answer without retrying. */
    assert_false(v12n_dlib_ready(&lib));
    v12n_error again = {0};
    assert_int_equal(v12n_dlib_load(&lib, &again), -1);
    assert_string_equal(again.msg, err.msg);
}

static void missing_function_is_named(void **state)
{
    (void)state;
    static const char *const names[] = {"cos", "v12n_no_such_function"};
    void *fns[2];
    struct v12n_dlib lib = {"libm.so.6", "libc6", names, fns, 2, false, false, ""};
    v12n_error err = {0};
    assert_int_equal(v12n_dlib_load(&lib, &err), -1);
    assert_non_null(strstr(err.msg, "no function v12n_no_such_function"));
    assert_non_null(strstr(err.msg, "libc6"));
}

static void resolves_every_function(void **state)
{
    (void)state;
    static const char *const names[] = {"cos", "sqrt"};
    void *fns[2];
    struct v12n_dlib lib = {"libm.so.6", "libc6", names, fns, 2, false, false, ""};
    v12n_error err = {0};
    assert_int_equal(v12n_dlib_load(&lib, &err), 0);
    assert_true(v12n_dlib_ready(&lib));
    double (*sq)(double) = (double (*)(double))fns[1];
    assert_true(sq(16.0) == 4.0);
}

/* libcurl is not linked into this test: the shim maps it on first use. */
static void curl_is_loaded_on_first_use(void **state)
{
    (void)state;
    assert_false(mapped("libcurl"));
    v12n_error err = {0};
    assert_int_equal(v12n_curl_load(&err), 0);
    assert_true(mapped("libcurl"));
    char *s = curl_easy_escape(NULL, "a b/c", 0);
    assert_non_null(s);
    assert_string_equal(s, "a%20b%2Fc");
    curl_free(s);
}

static size_t ignore_body(char *p, size_t size, size_t n, void *data)
{
    (void)p;
    (void)data;
    return size * n;
}

/* One option of each argument type goes through the variadic wrapper, and
 * a transfer of a file:// URL reads them back. */
static void curl_setopt_passes_each_type(void **state)
{
    (void)state;
    char path[] = "/tmp/v12n-unit-dlib-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "12345", 5), 5);
    close(fd);
    char url[512];
    snprintf(url, sizeof url, "file://%s", path);

    CURL *h = curl_easy_init();
    assert_non_null(h);
    assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);       /* char * */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L), CURLE_OK); /* long */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ignore_body), CURLE_OK); /* fn */
    assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)2), CURLE_OK);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_off_t got = -1;
    assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got), CURLE_OK);
    assert_int_equal(got, 3); /* the offset arrived as a curl_off_t */
    curl_easy_cleanup(h);
    unlink(path);

    CURLSH *sh = curl_share_init();
    assert_non_null(sh);
    assert_int_equal(curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK);
    assert_int_equal(curl_share_setopt(sh, CURLSHOPT_USERDATA, NULL), CURLSHE_OK);
    assert_int_equal(curl_share_cleanup(sh), CURLSHE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_library_names_the_package),
        cmocka_unit_test(missing_function_is_named),
        cmocka_unit_test(resolves_every_function),
        cmocka_unit_test(curl_is_loaded_on_first_use),
        cmocka_unit_test(curl_setopt_passes_each_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
