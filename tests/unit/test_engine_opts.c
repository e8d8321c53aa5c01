/* `docker run` option parsing: sizes, CPUs, -v, --tmpfs, env files, caps,
 * network; and the resolv.conf / /etc files the engine generates. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/fs.h"
#include "util/json.h"

static void sizes(void **state)
{
    static const struct {
        const char *in;
        int64_t out;
    } ok[] = {
        {"4096", 4096},        {"100k", 102400},     {"512m", 536870912}, {"512M", 536870912},
        {"1g", 1073741824},    {"1.5g", 1610612736}, {"10mb", 10485760},  {"2GiB", 2147483648},
        {"1t", 1099511627776}, {"0.5k", 512},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        v12n_error err = {0};
        int64_t v = -1;
        assert_int_equal(engine_parse_size(ok[i].in, &v, &err), 0);
        assert_int_equal(v, ok[i].out);
    }
    static const char *const bad[] = {
        "",         "m",           "12x", "-1", "1.", ".5", "1mm", "1 g", "99999999999999999999",
        "9000000p", "1.1234567891"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v12n_error err = {0};
        int64_t v = -1;
        assert_int_equal(engine_parse_size(bad[i], &v, &err), -1);
        assert_int_equal(v, -1);
        assert_non_null(strstr(err.msg, "size"));
    }
}

static void cpus(void **state)
{
    v12n_error err = {0};
    int64_t v;
    assert_int_equal(engine_parse_cpus("1.5", &v, &err), 0);
    assert_int_equal(v, 1500000000);
    assert_int_equal(engine_parse_cpus("2", &v, &err), 0);
    assert_int_equal(v, 2000000000);
    assert_int_equal(engine_parse_cpus("0.001", &v, &err), 0);
    assert_int_equal(v, 1000000);
    static const char *const bad[] = {"0",    "0.0", "abc",          "-1",
                                      "1.5x", "",    "1.1234567891", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(engine_parse_cpus(bad[i], &v, &err), -1);
    assert_non_null(strstr(err.msg, "--cpus"));
}

static void volumes(void **state)
{
    v12n_error err = {0};
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    assert_int_equal(engine_opt_volume(&o, "/srv/data:/data", &err), 0);
    assert_int_equal(engine_opt_volume(&o, "/etc/hosts:/h:ro", &err), 0);
    assert_int_equal(engine_opt_volume(&o, "/a:/b:rw", &err), 0);
    assert_int_equal(o.n_volumes, 3);
    assert_string_equal(o.volumes[0].source, "/srv/data");
    assert_string_equal(o.volumes[0].destination, "/data");
    assert_false(o.volumes[0].readonly);
    assert_true(o.volumes[1].readonly);
    assert_false(o.volumes[2].readonly);

    assert_int_equal(engine_opt_volume(&o, "myvol:/data", &err), -1);
    assert_int_equal(err.errnum, ENOTSUP);
    assert_non_null(strstr(err.msg, "named volumes"));
    assert_int_equal(engine_opt_volume(&o, "/a:/b:xx", &err), -1);
    assert_non_null(strstr(err.msg, "xx"));
    assert_int_equal(engine_opt_volume(&o, "/a:rel", &err), -1);
    assert_non_null(strstr(err.msg, "absolute"));
    assert_int_equal(engine_opt_volume(&o, "/a:/", &err), -1);
    assert_int_equal(engine_opt_volume(&o, "/anon", &err), -1);
    assert_int_equal(engine_opt_volume(&o, ":/b", &err), -1);
    assert_int_equal(o.n_volumes, 3);
    engine_run_opts_free(&o);
}

static void tmpfs(void **state)
{
    v12n_error err = {0};
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    assert_int_equal(engine_opt_tmpfs(&o, "/run", &err), 0);
    assert_int_equal(engine_opt_tmpfs(&o, "/cache:size=64m,mode=1777", &err), 0);
    assert_int_equal(o.n_tmpfs, 2);
    assert_string_equal(o.tmpfs[0].destination, "/run");
    assert_null(o.tmpfs[0].options);
    assert_string_equal(o.tmpfs[1].destination, "/cache");
    assert_string_equal(o.tmpfs[1].options, "size=64m,mode=1777");
    assert_int_equal(engine_opt_tmpfs(&o, "run", &err), -1);
    assert_non_null(strstr(err.msg, "--tmpfs"));
    assert_int_equal(engine_opt_tmpfs(&o, "/", &err), -1);
    assert_int_equal(o.n_tmpfs, 2);
    engine_run_opts_free(&o);
}

static void env_flags(void **state)
{
    v12n_error err = {0};
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    setenv("V12N_TEST_HOSTVAR", "from host", 1);
    unsetenv("V12N_TEST_UNSET");
    assert_int_equal(engine_opt_env(&o, "A=1", &err), 0);
    assert_int_equal(engine_opt_env(&o, "B=", &err), 0);
    assert_int_equal(engine_opt_env(&o, "V12N_TEST_HOSTVAR", &err), 0);
    assert_int_equal(engine_opt_env(&o, "V12N_TEST_UNSET", &err), 0);
    assert_int_equal(engine_opt_env(&o, "=x", &err), -1);
    assert_int_equal(engine_opt_env(&o, "BAD KEY=1", &err), -1);
    assert_int_equal(v12n_strv_len(o.env), 3);
    assert_string_equal(o.env[0], "A=1");
    assert_string_equal(o.env[1], "B=");
    assert_string_equal(o.env[2], "V12N_TEST_HOSTVAR=from host");
    engine_run_opts_free(&o);
}

static void env_file(void **state)
{
    char path[] = "/tmp/v12n-test-envXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# a comment\n"
                        "\n"
                        "A=1\n"
                        "   B=two words = and more\n"
                        "C=crlf\r\n"
                        "V12N_TEST_HOSTVAR  \n"
                        "V12N_TEST_UNSET\n"
                        "EMPTY=\n"
                        "LAST=no newline";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    setenv("V12N_TEST_HOSTVAR", "hv", 1);
    unsetenv("V12N_TEST_UNSET");
    char **env = NULL;
    v12n_error err = {0};
    assert_int_equal(engine_env_file_read(path, &env, &err), 0);
    static const char *const want[] = {"A=1",    "B=two words = and more",
                                       "C=crlf", "V12N_TEST_HOSTVAR=hv",
                                       "EMPTY=", "LAST=no newline"};
    assert_int_equal(v12n_strv_len(env), 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(env[i], want[i]);
    v12n_strv_free(env);

    /* A bad line names the file and the line. */
    FILE *f = fopen(path, "w");
    fputs("OK=1\nBAD KEY=2\n", f);
    fclose(f);
    env = NULL;
    assert_int_equal(engine_env_file_read(path, &env, &err), -1);
    assert_non_null(strstr(err.msg, ":2:"));
    v12n_strv_free(env);
    unlink(path);

    assert_int_equal(engine_env_file_read("/nonexistent/env", &env, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
}

static void caps_and_network(void **state)
{
    v12n_error err = {0};
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    assert_int_equal(engine_opt_cap(&o, true, "net_admin", &err), 0);
    assert_int_equal(engine_opt_cap(&o, true, "CAP_SYS_TIME", &err), 0);
    assert_int_equal(engine_opt_cap(&o, false, "all", &err), 0);
    assert_int_equal(engine_opt_cap(&o, true, "bogus", &err), -1);
    assert_non_null(strstr(err.msg, "--cap-add bogus"));
    assert_int_equal(engine_opt_cap(&o, false, "CAP_", &err), -1);
    assert_string_equal(o.cap_add[0], "CAP_NET_ADMIN");
    assert_string_equal(o.cap_add[1], "CAP_SYS_TIME");
    assert_null(o.cap_add[2]);
    assert_string_equal(o.cap_drop[0], "ALL");

    assert_int_equal(o.network, ENGINE_NET_NONE);
    assert_int_equal(engine_opt_network(&o, "host", &err), 0);
    assert_int_equal(o.network, ENGINE_NET_HOST);
    assert_int_equal(engine_opt_network(&o, "bridge", &err), -1);
    assert_int_equal(err.errnum, ENOTSUP);
    engine_run_opts_free(&o);
}

static void resolv_conf(void **state)
{
    char *s = engine_resolv_conf("nameserver 127.0.0.53\noptions edns0\nsearch lan\n", false);
    assert_non_null(s);
    assert_null(strstr(s, "127.0.0.53"));
    assert_non_null(strstr(s, "search lan\n"));
    assert_non_null(strstr(s, "options edns0\n"));
    assert_non_null(strstr(s, "nameserver 8.8.8.8\n"));
    free(s);

    s = engine_resolv_conf("nameserver 10.0.0.1\nnameserver 127.0.0.1\nnameserver ::1\n"
                           "nameserver\t::1%lo\n",
                           false);
    assert_string_equal(s, "nameserver 10.0.0.1\n");
    free(s);

    s = engine_resolv_conf("nameserver 127.0.0.53\n", true);
    assert_string_equal(s, "nameserver 127.0.0.53\n");
    free(s);

    s = engine_resolv_conf(NULL, false);
    assert_string_equal(s, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    free(s);
}

static void etc_files(void **state)
{
    char dir[] = "/tmp/v12n-test-etcXXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/etc", dir);
    v12n_error err = {0};
    assert_int_equal(engine_etc_files_write(sub, "web1", ENGINE_NET_NONE, &err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/hostname", sub);
    char *text = v12n_read_file(path, NULL, &err);
    assert_string_equal(text, "web1\n");
    free(text);
    snprintf(path, sizeof path, "%s/hosts", sub);
    text = v12n_read_file(path, NULL, &err);
    assert_non_null(strstr(text, "127.0.0.1\tlocalhost\n"));
    assert_non_null(strstr(text, "::1\tlocalhost"));
    assert_non_null(strstr(text, "\tweb1\n"));
    free(text);
    snprintf(path, sizeof path, "%s/resolv.conf", sub);
    text = v12n_read_file(path, NULL, &err);
    assert_non_null(strstr(text, "nameserver"));
    assert_null(strstr(text, "nameserver 127."));
    free(text);
    assert_int_equal(engine_etc_files_write(sub, "bad\nname", ENGINE_NET_NONE, &err), -1);
    assert_int_equal(v12n_rm_rf(dir, &err), 0);
}

/* The host's file, "" when it has none. */
static char *host_text(const char *path)
{
    v12n_error err = {0};
    if (access(path, F_OK) < 0)
        return strdup("");
    char *t = v12n_read_file(path, NULL, &err);
    assert_non_null(t);
    return t;
}

/* --network host: Docker copies the host's hosts and resolv.conf, and the
 * container is named as the host. */
static void etc_files_host_network(void **state)
{
    char dir[] = "/tmp/v12n-test-etcXXXXXX";
    assert_non_null(mkdtemp(dir));
    v12n_error err = {0};
    assert_int_equal(engine_etc_files_write(dir, "web1", ENGINE_NET_HOST, &err), 0);
    static const char *const files[][2] = {{"hosts", "/etc/hosts"},
                                           {"resolv.conf", "/etc/resolv.conf"}};
    for (size_t i = 0; i < 2; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        char *got = v12n_read_file(path, NULL, &err);
        assert_non_null(got);
        char *want = host_text(files[i][1]);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    /* Not the generated file: that one names the container. */
    char path[256];
    snprintf(path, sizeof path, "%s/hosts", dir);
    char *hosts = v12n_read_file(path, NULL, &err);
    assert_null(strstr(hosts, "\tweb1\n"));
    free(hosts);
    assert_int_equal(v12n_rm_rf(dir, &err), 0);

    struct engine_run_opts o;
    engine_run_opts_init(&o);
    struct engine_bundle_paths paths = {.container_id = "0123456789abcdef"};
    char buf[128], host[128];
    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_string_equal(engine_spec_hostname(&o, &paths, buf, sizeof buf), "0123456789ab");
    o.network = ENGINE_NET_HOST;
    assert_string_equal(engine_spec_hostname(&o, &paths, buf, sizeof buf), host);
    char name[] = "given";
    o.hostname = name;
    assert_string_equal(engine_spec_hostname(&o, &paths, buf, sizeof buf), "given");
    o.hostname = NULL;
    engine_run_opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes),
        cmocka_unit_test(cpus),
        cmocka_unit_test(volumes),
        cmocka_unit_test(tmpfs),
        cmocka_unit_test(env_flags),
        cmocka_unit_test(env_file),
        cmocka_unit_test(caps_and_network),
        cmocka_unit_test(resolv_conf),
        cmocka_unit_test(etc_files),
        cmocka_unit_test(etc_files_host_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
