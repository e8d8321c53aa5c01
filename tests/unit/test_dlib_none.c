/* The static v12n's util/dlib_none.c behind the real shims: every load fails
 * with an error naming the library and the twin, every wrapper returns the
 * library's own failure value (cli/twin.c keeps the commands away). */
#include <archive.h>
#include <curl/curl.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "shim/shim.h"
#include "util/dlib.h"

static void loads_fail_naming_the_twin(void **state)
{
    (void)state;
    assert_false(v12n_dlib_available());
    v12n_error err = {0};
    assert_int_equal(v12n_curl_load(&err), -1);
    assert_int_equal(err.errnum, ENOTSUP);
    assert_non_null(strstr(err.msg, "libcurl.so.4"));
    assert_non_null(strstr(err.msg, "v12n-full"));
    v12n_error_clear(&err);
    assert_int_equal(v12n_archive_load(&err), -1);
    assert_non_null(strstr(err.msg, "libarchive.so.13"));
    assert_non_null(strstr(err.msg, "v12n-full"));
}

static void wrappers_return_the_failure_value(void **state)
{
    (void)state;
    assert_null(curl_easy_init());
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
    assert_null(archive_read_new());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_fail_naming_the_twin),
        cmocka_unit_test(wrappers_return_the_failure_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
