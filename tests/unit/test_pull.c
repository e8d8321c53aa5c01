/* image_ensure() and the built-in busybox image, without a registry: the
 * image is built from the host's busybox-static into a store in /tmp, found
 * again by name and id, and built by the fallback when every connection is
 * refused (a proxy on a closed port). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/builtin.h"
#include "image/pull.h"
#include "image/store.h"
#include "image/unpack.h"
#include "image_layers.h"

struct fixture {
    char dir[64];
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/v12n-pull-XXXXXX");
    if (fx == NULL || mkdtemp(fx->dir) == NULL)
        return -1;
    v12n_error err = {0};
    if (store_open(fx->dir, STORE_NO_SYNC, &fx->s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    /* every registry connection is refused, fast */
    setenv("https_proxy", "http://127.0.0.1:1", 1);
    setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    store_close(fx->s);
    remove_tmp_dir(fx->dir);
    free(fx);
    return 0;
}

static const struct image_pull_opts fast = {.registry = {.tries = 1, .backoff_ms = 1}};

static void builtin_is_a_real_reproducible_image(void **state)
{
    struct fixture *fx = *state;
    if (access(IMAGE_BUILTIN_BUSYBOX_BIN, X_OK) != 0)
        skip();
    v12n_error err = {0};
    char id[IMAGE_DIGEST_SIZE], again[IMAGE_DIGEST_SIZE];
    if (image_builtin_busybox(fx->s, NULL, NULL, id, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(image_builtin_busybox(fx->s, "localhost/bb:1", NULL, again, &err), 0);
    assert_string_equal(id, again);

    struct store_image img;
    assert_int_equal(store_image_resolve(fx->s, IMAGE_BUILTIN_BUSYBOX_NAME, &img, &err), 0);
    assert_string_equal(img.id, id);
    assert_int_equal(img.n_layers, 1);
    assert_non_null(img.manifest);
    assert_string_equal(img.layers[0].digest, img.layers[0].diff_id); /* uncompressed */
    char path[PATH_MAX], sh[PATH_MAX + 16], bb[PATH_MAX + 16], tmp[PATH_MAX + 16];
    assert_int_equal(store_layer_path(fx->s, img.layers[0].diff_id, path, sizeof path, &err), 0);
    snprintf(sh, sizeof sh, "%s/bin/sh", path);
    snprintf(bb, sizeof bb, "%s/bin/busybox", path);
    snprintf(tmp, sizeof tmp, "%s/tmp", path);
    struct stat a, b, t;
    assert_int_equal(stat(sh, &a), 0);
    assert_int_equal(stat(bb, &b), 0);
    assert_int_equal(stat(tmp, &t), 0);
    assert_true(a.st_ino == b.st_ino);
    assert_int_equal(t.st_mode & 07777, 01777);
    store_image_clear(&img);

    assert_int_equal(image_builtin_busybox(fx->s, NULL, "/nonexistent/busybox", id, &err), -1);
    assert_non_null(strstr(err.msg, "busybox-static"));
}

static void ensure_finds_local_images(void **state)
{
    struct fixture *fx = *state;
    if (access(IMAGE_BUILTIN_BUSYBOX_BIN, X_OK) != 0)
        skip();
    v12n_error err = {0};
    char id[IMAGE_DIGEST_SIZE];
    assert_int_equal(image_builtin_busybox(fx->s, NULL, NULL, id, &err), 0);
    char prefix[13];
    snprintf(prefix, sizeof prefix, "%.12s", id + 7);
    const char *refs[] = {"busybox", "busybox:latest", "docker.io/library/busybox", id, prefix};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        struct image_pull_result res;
        if (image_ensure(fx->s, refs[i], &fast, NULL, NULL, &res, &err) < 0)
            fail_msg("%s: %s", refs[i], err.msg);
        assert_string_equal(res.id, id);
        assert_false(res.pulled);
        assert_string_equal(res.name, IMAGE_BUILTIN_BUSYBOX_NAME);
    }
}

/* What the static v12n asks before `run` (cli/twin.c): no network, ENOENT
 * only for an image that is not there. */
static void find_local_needs_no_network(void **state)
{
    struct fixture *fx = *state;
    if (access(IMAGE_BUILTIN_BUSYBOX_BIN, X_OK) != 0)
        skip();
    v12n_error err = {0};
    struct image_pull_result res;
    assert_int_equal(image_find_local(fx->s, "busybox", &res, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    v12n_error_clear(&err);
    char id[IMAGE_DIGEST_SIZE];
    assert_int_equal(image_builtin_busybox(fx->s, NULL, NULL, id, &err), 0);
    if (image_find_local(fx->s, "busybox", &res, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(res.id, id);
    assert_int_equal(image_find_local(fx->s, "alpine", &res, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    v12n_error_clear(&err);
    assert_int_equal(image_find_local(fx->s, "Bad//Ref", &res, &err), -1);
    assert_int_not_equal(err.errnum, ENOENT);
    assert_non_null(strstr(err.msg, "invalid reference"));
}

static void ensure_pulls_and_falls_back_offline(void **state)
{
    struct fixture *fx = *state;
    if (access(IMAGE_BUILTIN_BUSYBOX_BIN, X_OK) != 0)
        skip();
    v12n_error err = {0};
    struct image_pull_result res;

    /* without the fallback: the network error, nothing listed */
    assert_int_equal(image_ensure(fx->s, "busybox", &fast, NULL, NULL, &res, &err), -1);
    assert_true(image_pull_error_is_network(&err));
    assert_non_null(strstr(err.msg, "pull docker.io/library/busybox:latest"));
    struct store_image *list;
    size_t n;
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    store_images_free(list, n);

    /* with it: busybox is built, other images still fail */
    struct image_pull_opts o = fast;
    o.builtin_fallback = true;
    if (image_ensure(fx->s, "busybox", &o, NULL, NULL, &res, &err) < 0)
        fail_msg("%s", err.msg);
    assert_true(res.builtin);
    assert_true(image_pull_error_is_network(&res.fallback_reason));
    assert_string_equal(res.name, IMAGE_BUILTIN_BUSYBOX_NAME);
    assert_int_equal(image_ensure(fx->s, "busybox:1.36", &o, NULL, NULL, &res, &err), -1);
    assert_int_equal(image_ensure(fx->s, "alpine", &o, NULL, NULL, &res, &err), -1);
    assert_true(image_pull_error_is_network(&err));

    /* a malformed reference is refused before any network */
    assert_int_equal(image_ensure(fx->s, "Bad//Ref", &o, NULL, NULL, &res, &err), -1);
    assert_non_null(strstr(err.msg, "invalid reference"));
    assert_false(image_pull_error_is_network(&err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(builtin_is_a_real_reproducible_image, setup, teardown),
        cmocka_unit_test_setup_teardown(ensure_finds_local_images, setup, teardown),
        cmocka_unit_test_setup_teardown(find_local_needs_no_network, setup, teardown),
        cmocka_unit_test_setup_teardown(ensure_pulls_and_falls_back_offline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
