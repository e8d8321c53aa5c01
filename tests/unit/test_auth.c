/* The credentials file and WWW-Authenticate challenges. */
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

#include "image/auth.h"
#include "util/fs.h"

static char dir[] = "/tmp/v12n-auth-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    v12n_error err = {0};
    return v12n_rm_rf(dir, &err);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
    v12n_error err = {0};
    unlink(path);
    assert_int_equal(v12n_write_file(path, data, strlen(data), &err), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void expect_creds(const struct image_auth *a, const char *registry, const char *user,
                         const char *password)
{
    char *u = NULL, *p = NULL;
    v12n_error err = {0};
    int r = image_auth_get(a, registry, &u, &p, &err);
    if (user == NULL) {
        assert_int_equal(r, 0);
        assert_null(u);
        return;
    }
    if (r != 1)
        fail_msg("%s: %d %s", registry, r, err.msg);
    assert_string_equal(u, user);
    assert_string_equal(p, password);
    free(u);
    free(p);
}

static void missing_file_is_empty(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/none.json", dir);
    struct image_auth *a = NULL;
    v12n_error err = {0};
    assert_int_equal(image_auth_load(path, &a, &err), 0);
    expect_creds(a, "docker.io", NULL, NULL);
    image_auth_free(a);
}

static void reads_docker_config_json(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/docker.json", dir);
    /* dXNlcjpwYTpzcw== is user:pa:ss; the password may hold ':' */
    write_file(path,
               "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
               "\"Quay.IO\":{\"username\":\"q\",\"password\":\"w\"},"
               "\"bad.example\":{\"auth\":\"***\"},"
               "\"nocolon.example\":{\"auth\":\"bm9jb2xvbg==\"}},\"credsStore\":\"desktop\"}",
               0600);
    struct image_auth *a = NULL;
    v12n_error err = {0};
    assert_int_equal(image_auth_load(path, &a, &err), 0);
    expect_creds(a, "docker.io", "user", "pa:ss");
    expect_creds(a, "registry-1.docker.io", "user", "pa:ss");
    expect_creds(a, "quay.io", "q", "w");
    expect_creds(a, "127.0.0.1:5000", NULL, NULL);
    char *u, *p;
    assert_int_equal(image_auth_get(a, "bad.example", &u, &p, &err), -1);
    assert_string_equal(err.msg, "credentials for bad.example: \"auth\" is not valid base64");
    assert_int_equal(image_auth_get(a, "nocolon.example", &u, &p, &err), -1);
    assert_string_equal(err.msg,
                        "credentials for nocolon.example: \"auth\" is not base64(user:password)");
    image_auth_free(a);
}

static void base64_padding_and_garbage(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/pad.json", dir);
    /* no, one and two '=' of padding; then '=' inside, a space, a short
     * quad, a missing '=' and non-zero padding bits ("dTp5" is u:y) */
    write_file(path,
               "{\"auths\":{\"p0\":{\"auth\":\"dTpw\"},\"p1\":{\"auth\":\"dTo=\"},"
               "\"p2\":{\"auth\":\"dTp4eQ==\"},\"b1\":{\"auth\":\"dT=w\"},"
               "\"b2\":{\"auth\":\"dTp w\"},\"b3\":{\"auth\":\"dTo\"},"
               "\"b4\":{\"auth\":\"dTp4eQ\"},\"b5\":{\"auth\":\"dTp5eR==\"}}}",
               0600);
    struct image_auth *a = NULL;
    v12n_error err = {0};
    assert_int_equal(image_auth_load(path, &a, &err), 0);
    expect_creds(a, "p0", "u", "p");
    expect_creds(a, "p1", "u", "");
    expect_creds(a, "p2", "u", "xy");
    static const char *const bad[] = {"b1", "b2", "b3", "b4", "b5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *u, *p;
        assert_int_equal(image_auth_get(a, bad[i], &u, &p, &err), -1);
        assert_non_null(strstr(err.msg, "is not valid base64"));
    }
    image_auth_free(a);
}

static void set_save_load_round_trip(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/new/dir/auth.json", dir);
    struct image_auth *a = image_auth_new();
    v12n_error err = {0};
    assert_non_null(a);
    assert_int_equal(image_auth_set(a, "127.0.0.1:5000", "alice", "s3cret", &err), 0);
    assert_int_equal(image_auth_set(a, "https://index.docker.io/v1/", "bob", "x", &err), 0);
    /* replaced, not added */
    assert_int_equal(image_auth_set(a, "docker.io", "bob", "y", &err), 0);
    assert_int_equal(image_auth_save(a, path, &err), 0);
    image_auth_free(a);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    size_t len;
    char *data = v12n_read_file(path, &len, &err);
    assert_non_null(data);
    assert_non_null(strstr(data, "\"127.0.0.1:5000\""));
    assert_non_null(strstr(data, "\"docker.io\""));
    assert_null(strstr(data, "index.docker.io"));
    assert_null(strstr(data, "s3cret")); /* base64, as Docker writes it */
    free(data);

    assert_int_equal(image_auth_load(path, &a, &err), 0);
    expect_creds(a, "127.0.0.1:5000", "alice", "s3cret");
    expect_creds(a, "docker.io", "bob", "y");
    assert_true(image_auth_remove(a, "registry-1.docker.io"));
    assert_false(image_auth_remove(a, "docker.io"));
    expect_creds(a, "docker.io", NULL, NULL);
    image_auth_free(a);
}

static void save_over_a_wide_file_narrows_it(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/wide.json", dir);
    write_file(path, "{}", 0644);
    struct image_auth *a = image_auth_new();
    v12n_error err = {0};
    assert_int_equal(image_auth_set(a, "r.example", "u", "p", &err), 0);
    assert_int_equal(image_auth_save(a, path, &err), 0);
    image_auth_free(a);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void refuses_files_others_can_read(void **state)
{
    (void)state;
    char path[256], msg[600];
    snprintf(path, sizeof path, "%s/open.json", dir);
    mode_t modes[] = {0640, 0604, 0660, 0777};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        write_file(path, "{\"auths\":{}}", modes[i]);
        struct image_auth *a = NULL;
        v12n_error err = {0};
        assert_int_equal(image_auth_load(path, &a, &err), -1);
        assert_null(a);
        snprintf(msg, sizeof msg,
                 "credentials %s: mode %04o lets others read the passwords; run chmod 600 %s", path,
                 (unsigned)modes[i], path);
        assert_string_equal(err.msg, msg);
    }
    /* 0400 is fine: narrower than 0600 */
    write_file(path, "{\"auths\":{}}", 0400);
    struct image_auth *a = NULL;
    v12n_error err = {0};
    assert_int_equal(image_auth_load(path, &a, &err), 0);
    image_auth_free(a);
    /* a symlink is not followed */
    char link[300];
    snprintf(link, sizeof link, "%s/link.json", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(image_auth_load(link, &a, &err), -1);
    write_file(path, "{\"auths\":[]}", 0600);
    assert_int_equal(image_auth_load(path, &a, &err), -1);
    snprintf(msg, sizeof msg, "credentials %s: expected {\"auths\": {...}}", path);
    assert_string_equal(err.msg, msg);
}

static void parses_challenges(void **state)
{
    (void)state;
    struct image_auth_challenge c;
    v12n_error err = {0};
    assert_int_equal(image_auth_parse_challenge(
                         "Bearer realm=\"https://auth.docker.io/token\",service="
                         "\"registry.docker.io\",scope=\"repository:library/alpine:pull\"",
                         &c, &err),
                     0);
    assert_int_equal(c.scheme, IMAGE_AUTH_BEARER);
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/alpine:pull");

    /* case, spaces, escapes, unquoted values, unknown params */
    assert_int_equal(
        image_auth_parse_challenge("bearer  Realm = \"https://a/t?x=\\\"1\\\"\" , "
                                   "foo=bar,service=svc , error=\"insufficient_scope\"",
                                   &c, &err),
        0);
    assert_int_equal(c.scheme, IMAGE_AUTH_BEARER);
    assert_string_equal(c.realm, "https://a/t?x=\"1\"");
    assert_string_equal(c.service, "svc");
    assert_string_equal(c.scope, "");

    /* several challenges: Bearer is preferred, Basic is the fallback */
    assert_int_equal(
        image_auth_parse_challenge("Basic realm=\"r\", Bearer realm=\"https://t\"", &c, &err), 0);
    assert_int_equal(c.scheme, IMAGE_AUTH_BEARER);
    assert_string_equal(c.realm, "https://t");
    assert_int_equal(
        image_auth_parse_challenge("Negotiate abc==, Basic realm=\"registry\"", &c, &err), 0);
    assert_int_equal(c.scheme, IMAGE_AUTH_BASIC);
    assert_string_equal(c.realm, "registry");

    const char *bad[] = {"",
                         "Negotiate",
                         "Bearer service=\"x\"",
                         "Bearer realm=\"unterminated",
                         "=",
                         "Bearer realm=\"x\",\"y\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (image_auth_parse_challenge(bad[i], &c, &err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err.msg, "no Basic or Bearer challenge"));
    }
    /* an over-long realm is refused, not truncated */
    char *huge = malloc(3000);
    assert_non_null(huge);
    strcpy(huge, "Bearer realm=\"");
    memset(huge + 14, 'a', 2000);
    strcpy(huge + 2014, "\"");
    assert_int_equal(image_auth_parse_challenge(huge, &c, &err), -1);
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_file_is_empty),
        cmocka_unit_test(reads_docker_config_json),
        cmocka_unit_test(base64_padding_and_garbage),
        cmocka_unit_test(set_save_load_round_trip),
        cmocka_unit_test(save_over_a_wide_file_narrows_it),
        cmocka_unit_test(refuses_files_others_can_read),
        cmocka_unit_test(parses_challenges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
