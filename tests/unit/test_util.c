#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"

static void error_wrap_prefixes_context(void **state)
{
    (void)state;
    v12n_error err = {0};
    assert_int_equal(v12n_fail(&err, ENOENT, "open %s", "/x"), -1);
    v12n_error_wrap(&err, "container %s", "web");
    char buf[256];
    assert_string_equal(v12n_error_text(&err, buf, sizeof buf),
                        "container web: open /x: No such file or directory");
}

static void atomic_write_then_read_back(void **state)
{
    (void)state;
    char dir[] = "/tmp/v12n-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/file", dir);
    v12n_error err = {0};
    char parent[512];
    snprintf(parent, sizeof parent, "%s/a/b", dir);
    assert_int_equal(v12n_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(v12n_write_file_atomic(path, "hello", 5, 0600, &err), 0);
    size_t len = 0;
    char *data = v12n_read_file(path, &len, &err);
    assert_non_null(data);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(v12n_rm_rf(dir, &err), 0);
    assert_false(v12n_path_exists(dir));
}

/* The swap: the first write creates, later ones replace the content and
 * leave no temporary behind; a reader that holds the old file keeps it. */
static void swap_write_replaces_and_leaves_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/v12n-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/state.json", dir);
    v12n_error err = {0};
    assert_int_equal(v12n_write_file_swap(path, "one", 3, 0600, &err), 0);
    int old = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(old >= 0);
    assert_int_equal(v12n_write_file_swap(path, "second", 6, 0600, &err), 0);
    char *data = v12n_read_file(path, NULL, &err);
    assert_string_equal(data, "second");
    free(data);
    char buf[8] = {0};
    assert_int_equal(read(old, buf, sizeof buf - 1), 3);
    assert_string_equal(buf, "one");
    close(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    snprintf(path, sizeof path, "%s/missing/state.json", dir);
    assert_int_equal(v12n_write_file_swap(path, "x", 1, 0600, &err), -1);
    assert_int_equal(v12n_rm_rf(dir, &err), 0);
}

static void json_getters_name_the_field(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *obj = json_loads("{\"a\": \"s\", \"n\": -1, \"b\": true}", 0, &jerr);
    assert_non_null(obj);
    v12n_error err = {0};
    uint64_t u = 7;
    assert_int_equal(v12n_json_get_uint64(obj, "n", &u, "process", &err), -1);
    assert_string_equal(err.msg, "process.n: expected a non-negative integer");
    assert_int_equal(u, 7);
    bool b = false;
    assert_int_equal(v12n_json_get_bool(obj, "b", &b, "x", &err), 0);
    assert_true(b);
    const char *s = NULL;
    assert_int_equal(v12n_json_get_string(obj, "missing", &s, "x", &err), 0);
    assert_null(s);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_wrap_prefixes_context),
        cmocka_unit_test(atomic_write_then_read_back),
        cmocka_unit_test(swap_write_replaces_and_leaves_nothing),
        cmocka_unit_test(json_getters_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
