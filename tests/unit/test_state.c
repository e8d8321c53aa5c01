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

#include "container/state.h"
#include "util/error.h"

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
}

static void make_state(const char *root, const char *id, char *dir, size_t len)
{
    v12n_error err = {0};
    assert_int_equal(state_dir_create(root, id, &err), 0);
    assert_int_equal(state_path(root, id, NULL, dir, len, &err), 0);
    touch(dir, STATE_FILE);
    touch(dir, STATE_CONFIG);
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/%s", dir, STATE_FIFO);
    assert_int_equal(mkfifo(fifo, 0600), 0);
}

/* The usual directory: removed by name, without walking it. */
static void remove_known_state(void **state)
{
    (void)state;
    char root[] = "/tmp/v12n-unit-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[512];
    make_state(root, "web", dir, sizeof dir);
    v12n_error err = {0};
    assert_int_equal(state_remove(root, "web", &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    /* Removing it again is not an error. */
    assert_int_equal(state_remove(root, "web", &err), 0);
    assert_int_equal(rmdir(root), 0);
}

/* Anything else in it (a file, a directory with files) still goes. */
static void remove_state_with_extra_entries(void **state)
{
    (void)state;
    char root[] = "/tmp/v12n-unit-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[512];
    make_state(root, "db", dir, sizeof dir);
    touch(dir, "left-by-another-version");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/%s", dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    touch(sub, "file");
    v12n_error err = {0};
    assert_int_equal(state_remove(root, "db", &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(rmdir(root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(remove_known_state),
        cmocka_unit_test(remove_state_with_extra_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
