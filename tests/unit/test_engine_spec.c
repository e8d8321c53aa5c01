/* The image config + run options -> config.json conversion: the command,
 * env, workdir and user rules, Docker's capabilities and seccomp profile,
 * --privileged, resources, mounts and annotations; user resolution against
 * hostile passwd/group files.  Every config built is also fed to the
 * runtime's own parser, so the conversion cannot produce what the runtime
 * would refuse. */
#include <errno.h>
#include <fcntl.h>
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

#include "container/spec.h"
#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/fs.h"
#include "util/json.h"

static char tmp[64];     /* a scratch directory per test */
static char rootfs[128]; /* tmp/rootfs, with etc/passwd and etc/group */

static void write_at(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    snprintf(tmp, sizeof tmp, "/tmp/v12n-test-specXXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", tmp);
    char etc[160];
    snprintf(etc, sizeof etc, "%s/etc", rootfs);
    v12n_error err;
    if (v12n_mkdir_p(etc, 0755, &err) < 0)
        return -1;
    write_at("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                  "app:x:1000:1001:App:/home/app:/bin/sh\n"
                                  "nohome:x:1002:1002\n");
    write_at("rootfs/etc/group", "root:x:0:\n"
                                 "wheel:x:10:root,app\n"
                                 "app:x:1001:\n"
                                 "staff:x:50:other,app\n"
                                 "audio:x:29:other\n");
    return 0;
}

static int teardown(void **state)
{
    v12n_error err;
    return v12n_rm_rf(tmp, &err);
}

static json_t *image(const char *config_json)
{
    json_error_t jerr;
    json_t *j = json_loads(config_json, 0, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON: %s", jerr.text);
    return j;
}

/* Build, and check that the runtime's parser accepts what was built. */
static json_t *build_ok(const char *img_json, const struct engine_run_opts *opts)
{
    json_t *img = image(img_json);
    struct engine_bundle_paths paths = {
        .rootfs = rootfs, .etc_dir = "/run/v12n-test/etc", .container_id = "0123456789abcdef"};
    json_t *config = NULL;
    v12n_error err = {0};
    if (engine_spec_build(img, opts, &paths, &config, &err) < 0)
        fail_msg("engine_spec_build: %s", err.msg);
    json_decref(img);
    struct oci_spec *spec = NULL;
    if (oci_spec_parse(config, "/bundle", NULL, &spec, &err) < 0)
        fail_msg("runtime refuses the built config: %s", err.msg);
    oci_spec_free(spec);
    return config;
}

static int build_fails(const char *img_json, const struct engine_run_opts *opts, v12n_error *err)
{
    json_t *img = image(img_json);
    struct engine_bundle_paths paths = {.rootfs = rootfs};
    json_t *config = NULL;
    int rc = engine_spec_build(img, opts, &paths, &config, err);
    json_decref(img);
    json_decref(config);
    return rc < 0 ? 0 : -1;
}

static void assert_strings(json_t *arr, const char *const *want)
{
    size_t n = 0;
    while (want[n] != NULL)
        n++;
    if (json_array_size(arr) != n) {
        char *dump = json_dumps(arr, 0);
        fail_msg("expected %zu items, got %s", n, dump);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
}

static bool has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        if (strcmp(json_string_value(item), s) == 0)
            return true;
    }
    return false;
}

static const char *env_get(json_t *config, const char *key)
{
    json_t *env = json_object_get(json_object_get(config, "process"), "env");
    size_t len = strlen(key), i, count = 0;
    const char *found = NULL;
    json_t *item;
    json_array_foreach(env, i, item)
    {
        const char *kv = json_string_value(item);
        if (strncmp(kv, key, len) == 0 && kv[len] == '=') {
            found = kv + len + 1;
            count++;
        }
    }
    assert_true(count <= 1); /* never twice */
    return found;
}

static json_t *args_of(json_t *config)
{
    return json_object_get(json_object_get(config, "process"), "args");
}

/* ---- the command --------------------------------------------------------- */

static const char *const EP_CMD = "{\"config\":{\"Entrypoint\":[\"/ep\",\"-x\"],\"Cmd\":[\"c1\"]}}";

static void command_rules(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    json_t *c = build_ok(EP_CMD, &o);
    assert_strings(args_of(c), (const char *const[]){"/ep", "-x", "c1", NULL});
    json_decref(c);

    /* Arguments replace Cmd, keep Entrypoint. */
    char *argv[] = {"a1", "a2", NULL};
    o.argv = argv;
    c = build_ok(EP_CMD, &o);
    assert_strings(args_of(c), (const char *const[]){"/ep", "-x", "a1", "a2", NULL});
    json_decref(c);

    /* --entrypoint replaces Entrypoint and keeps the arguments. */
    o.entrypoint = "/bin/sh";
    c = build_ok(EP_CMD, &o);
    assert_strings(args_of(c), (const char *const[]){"/bin/sh", "a1", "a2", NULL});
    json_decref(c);

    /* --entrypoint without arguments drops the image's Cmd. */
    o.argv = NULL;
    c = build_ok(EP_CMD, &o);
    assert_strings(args_of(c), (const char *const[]){"/bin/sh", NULL});
    json_decref(c);

    /* --entrypoint "" removes it: the arguments are the command. */
    o.entrypoint = "";
    o.argv = argv;
    c = build_ok(EP_CMD, &o);
    assert_strings(args_of(c), (const char *const[]){"a1", "a2", NULL});
    json_decref(c);

    /* ... and with no arguments there is no command at all. */
    o.argv = NULL;
    v12n_error err = {0};
    assert_int_equal(build_fails(EP_CMD, &o, &err), 0);
    assert_non_null(strstr(err.msg, "no command"));

    /* Cmd only; empty argv means "not given". */
    o.entrypoint = NULL;
    char *empty[] = {NULL};
    o.argv = empty;
    c = build_ok("{\"config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"]}}", &o);
    assert_strings(args_of(c), (const char *const[]){"/bin/sh", "-c", "echo hi", NULL});
    json_decref(c);

    /* Null Entrypoint, no config at all. */
    o.argv = NULL;
    assert_int_equal(build_fails("{\"config\":{\"Entrypoint\":null,\"Cmd\":null}}", &o, &err), 0);
    assert_int_equal(build_fails("{}", &o, &err), 0);
    o.argv = argv;
    c = build_ok("{}", &o);
    assert_strings(args_of(c), (const char *const[]){"a1", "a2", NULL});
    json_decref(c);
}

/* ---- env, cwd -------------------------------------------------------------- */

static void env_merge(void **state)
{
    char envfile[160];
    snprintf(envfile, sizeof envfile, "%s/env", tmp);
    write_at("env", "FROM_FILE=1\nFOO=file\n");
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    v12n_error err = {0};
    assert_int_equal(engine_opt_env_file(&o, envfile, &err), 0);
    assert_int_equal(engine_opt_env(&o, "FOO=cli", &err), 0);
    assert_int_equal(engine_opt_env(&o, "NEW=x=y", &err), 0);
    o.tty = true;
    o.hostname = strdup("web");
    o.argv = calloc(2, sizeof(char *));
    o.argv[0] = strdup("true");
    json_t *c = build_ok("{\"config\":{\"Env\":[\"PATH=/custom/bin\",\"FOO=image\","
                         "\"KEEP=k\",\"HOME=/img\"]}}",
                         &o);
    assert_string_equal(env_get(c, "PATH"), "/custom/bin");
    assert_string_equal(env_get(c, "FOO"), "cli");
    assert_string_equal(env_get(c, "KEEP"), "k");
    assert_string_equal(env_get(c, "FROM_FILE"), "1");
    assert_string_equal(env_get(c, "NEW"), "x=y");
    assert_string_equal(env_get(c, "HOSTNAME"), "web");
    assert_string_equal(env_get(c, "TERM"), "xterm");
    assert_string_equal(env_get(c, "HOME"), "/img");
    assert_string_equal(json_string_value(json_object_get(c, "hostname")), "web");
    json_decref(c);

    /* No PATH in the image: Docker's default; HOME from passwd (root). */
    o.tty = false;
    free(o.hostname);
    o.hostname = NULL;
    c = build_ok("{\"config\":{\"Env\":[\"A=1\"]}}", &o);
    assert_string_equal(env_get(c, "PATH"),
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    assert_null(env_get(c, "TERM"));
    assert_string_equal(env_get(c, "HOME"), "/root");
    /* No --hostname: the container id's first 12 characters. */
    assert_string_equal(env_get(c, "HOSTNAME"), "0123456789ab");
    json_decref(c);

    /* Malformed image Env is refused, not guessed at. */
    assert_int_equal(build_fails("{\"config\":{\"Env\":[\"NOEQUALS\"]}}", &o, &err), 0);
    assert_non_null(strstr(err.msg, "Env[0]"));
    assert_int_equal(build_fails("{\"config\":{\"Env\":[1]}}", &o, &err), 0);
    assert_int_equal(build_fails("{\"config\":{\"Env\":\"A=1\"}}", &o, &err), 0);
    engine_run_opts_free(&o);
}

static void working_dir(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    json_t *c = build_ok("{\"config\":{\"WorkingDir\":\"/app\"}}", &o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "process"), "cwd")),
                        "/app");
    json_decref(c);
    c = build_ok("{\"config\":{\"WorkingDir\":\"rel/dir\"}}", &o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "process"), "cwd")),
                        "/rel/dir");
    json_decref(c);
    c = build_ok("{\"config\":{}}", &o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "process"), "cwd")),
                        "/");
    json_decref(c);
    o.workdir = "/override";
    c = build_ok("{\"config\":{\"WorkingDir\":\"/app\"}}", &o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "process"), "cwd")),
                        "/override");
    json_decref(c);
    o.workdir = "relative";
    v12n_error err = {0};
    assert_int_equal(build_fails("{}", &o, &err), 0);
    assert_non_null(strstr(err.msg, "-w relative"));
}

/* ---- users ----------------------------------------------------------------- */

static void resolve(const char *spec, uint32_t uid, uint32_t gid, const char *home,
                    const gid_t *gids, size_t n)
{
    struct engine_user u;
    v12n_error err = {0};
    if (engine_user_resolve(rootfs, spec, &u, &err) < 0)
        fail_msg("user %s: %s", spec, err.msg);
    assert_int_equal(u.uid, uid);
    assert_int_equal(u.gid, gid);
    assert_string_equal(u.home, home);
    assert_int_equal(u.n_additional_gids, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(u.additional_gids[i], gids[i]);
    engine_user_clear(&u);
}

static int resolve_fails(const char *spec, v12n_error *err)
{
    struct engine_user u;
    int rc = engine_user_resolve(rootfs, spec, &u, err);
    if (rc == 0)
        engine_user_clear(&u);
    return rc < 0 ? 0 : -1;
}

static void user_resolution(void **state)
{
    resolve(NULL, 0, 0, "/root", (gid_t[]){10}, 1);
    resolve("app", 1000, 1001, "/home/app", (gid_t[]){10, 50}, 2);
    resolve("1000", 1000, 1001, "/home/app", (gid_t[]){10, 50}, 2);
    resolve("app:staff", 1000, 50, "/home/app", (gid_t[]){10, 50}, 2);
    resolve("app:777", 1000, 777, "/home/app", (gid_t[]){10, 50}, 2);
    resolve("4242", 4242, 0, "/", NULL, 0); /* unknown uid: fine, gid 0 */
    resolve("4242:4243", 4242, 4243, "/", NULL, 0);
    resolve("nohome", 1002, 1002, "/", NULL, 0); /* missing fields after gid */
    v12n_error err = {0};
    assert_int_equal(resolve_fails("nobody", &err), 0);
    assert_non_null(strstr(err.msg, "unable to find user nobody"));
    assert_int_equal(resolve_fails("app:nogroup", &err), 0);
    assert_non_null(strstr(err.msg, "unable to find group nogroup"));
    assert_int_equal(resolve_fails("99999999999", &err), 0);
    assert_int_equal(resolve_fails("1:4294967295", &err), 0);
    assert_int_equal(resolve_fails("app:", &err), 0);

    /* The spec carries the result, HOME included. */
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"id", NULL};
    o.argv = argv;
    json_t *c = build_ok("{\"config\":{\"User\":\"app\"}}", &o);
    json_t *user = json_object_get(json_object_get(c, "process"), "user");
    assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1000);
    assert_int_equal(json_integer_value(json_object_get(user, "gid")), 1001);
    assert_int_equal(json_array_size(json_object_get(user, "additionalGids")), 2);
    assert_string_equal(env_get(c, "HOME"), "/home/app");
    json_decref(c);
    o.user = "0:0"; /* -u overrides the image's User */
    c = build_ok("{\"config\":{\"User\":\"app\"}}", &o);
    user = json_object_get(json_object_get(c, "process"), "user");
    assert_int_equal(json_integer_value(json_object_get(user, "uid")), 0);
    json_decref(c);
}

static void hostile_passwd(void **state)
{
    /* Long lines, missing fields, junk numbers, a NUL, comments: skipped;
     * the good entry after them is still found. */
    size_t junk = 200000;
    char *text = malloc(junk + 512);
    memset(text, 'A', junk);
    snprintf(text + junk, 512,
             "\n"
             "short\n"
             "two:x\n"
             "nouid:x::1\n"
             "neg:x:-1:0::/\n"
             "big:x:4294967296:0::/\n"
             "hex:x:0x10:0::/\n"
             "#comment:x:5:5::/\n"
             ":x:6:6::/\n"
             "relhome:x:7:7::home:/bin/sh\n"
             "good:x:2000:2000::/home/good:/bin/sh:extra:fields:beyond:eight:x\n");
    write_at("rootfs/etc/passwd", text);
    free(text);
    resolve("good", 2000, 2000, "/home/good", NULL, 0);
    resolve("relhome", 7, 7, "/", NULL, 0); /* a relative home is not used */
    v12n_error err = {0};
    static const char *const bad[] = {"short", "two", "nouid", "neg", "big", "hex", "#comment"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(resolve_fails(bad[i], &err), 0);

    /* Everything after a NUL byte is ignored. */
    char path[200];
    snprintf(path, sizeof path, "%s/etc/passwd", rootfs);
    static const char with_nul[] = "a:x:1:1::/:/bin/sh\n\0b:x:2:2::/:/bin/sh\n";
    assert_int_equal(v12n_write_file(path, with_nul, sizeof with_nul - 1, &err), 0);
    resolve("a", 1, 1, "/", NULL, 0);
    assert_int_equal(resolve_fails("b", &err), 0);

    /* A FIFO is refused, without blocking. */
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(resolve_fails("a", &err), 0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    unlink(path);

    /* Too large: refused before reading. */
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 64 << 20), 0);
    close(fd);
    assert_int_equal(resolve_fails("a", &err), 0);
    assert_int_equal(err.errnum, EFBIG);
    unlink(path);

    /* No passwd at all: numeric users still work, names do not. */
    resolve("5", 5, 0, "/", (gid_t[]){0}, 0);
    assert_int_equal(resolve_fails("root", &err), 0);
}

static void symlink_escape(void **state)
{
    /* A passwd outside the rootfs that a symlink in the image points at. */
    write_at("outside", "escapee:x:3000:3000::/:/bin/sh\n");
    char path[200], target[256];
    snprintf(path, sizeof path, "%s/etc/passwd", rootfs);
    unlink(path);
    assert_int_equal(symlink("../../outside", path), 0);
    v12n_error err = {0};
    assert_int_equal(resolve_fails("escapee", &err), 0);
    unlink(path);
    snprintf(target, sizeof target, "%s/outside", tmp);
    assert_int_equal(symlink(target, path), 0); /* absolute: resolved inside rootfs */
    assert_int_equal(resolve_fails("escapee", &err), 0);
    unlink(path);
    /* /etc itself a symlink to the host's /etc. */
    char etc[160];
    snprintf(etc, sizeof etc, "%s/etc", rootfs);
    assert_int_equal(v12n_rm_rf(etc, &err), 0);
    assert_int_equal(symlink("/etc", etc), 0);
    assert_int_equal(resolve_fails("root", &err), 0); /* the host's root is not found */
    /* A link that stays inside the rootfs is followed. */
    unlink(etc);
    char real[160];
    snprintf(real, sizeof real, "%s/real-etc", rootfs);
    assert_int_equal(mkdir(real, 0755), 0);
    assert_int_equal(symlink("real-etc", etc), 0);
    write_at("rootfs/real-etc/passwd", "inside:x:12:13::/home/in:/bin/sh\n");
    resolve("inside", 12, 13, "/home/in", NULL, 0);
}

/* ---- capabilities, seccomp, privileged ------------------------------------- */

static json_t *caps_of(json_t *config, const char *set)
{
    return json_object_get(json_object_get(json_object_get(config, "process"), "capabilities"),
                           set);
}

static const char *const DOCKER_CAPS[] = {
    "CAP_CHOWN",      "CAP_DAC_OVERRIDE", "CAP_FOWNER",      "CAP_FSETID",           "CAP_KILL",
    "CAP_SETGID",     "CAP_SETUID",       "CAP_SETPCAP",     "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
    "CAP_SYS_CHROOT", "CAP_MKNOD",        "CAP_AUDIT_WRITE", "CAP_SETFCAP",          NULL,
};

/* Whether the seccomp profile allows name without argument conditions. */
static bool seccomp_allows(json_t *config, const char *name)
{
    json_t *sc = json_object_get(json_object_get(config, "linux"), "seccomp");
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(sc, "syscalls"), i, rule)
    {
        if (strcmp(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ALLOW") == 0 &&
            json_object_get(rule, "args") == NULL &&
            has_string(json_object_get(rule, "names"), name))
            return true;
    }
    return false;
}

static void default_caps_and_seccomp(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    json_t *c = build_ok("{}", &o);
    for (const char *set[] = {"bounding", "effective", "permitted"}, **s = set; s < set + 3; s++) {
        json_t *names = caps_of(c, *s);
        assert_int_equal(json_array_size(names), 14);
        for (size_t i = 0; DOCKER_CAPS[i] != NULL; i++)
            assert_true(has_string(names, DOCKER_CAPS[i]));
    }
    assert_null(caps_of(c, "inheritable"));
    assert_null(caps_of(c, "ambient"));
    json_t *lin = json_object_get(c, "linux");
    json_t *sc = json_object_get(lin, "seccomp");
    assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
    assert_true(seccomp_allows(c, "read"));
    assert_true(seccomp_allows(c, "chroot")); /* CAP_SYS_CHROOT is in the set */
    assert_false(seccomp_allows(c, "mount"));
    assert_false(seccomp_allows(c, "unshare"));
    assert_false(seccomp_allows(c, "clone")); /* only with the namespace-flag rule */
    assert_false(seccomp_allows(c, "keyctl"));
    assert_true(seccomp_allows(c, "ptrace")); /* allowed since 4.8 */
    assert_true(json_array_size(json_object_get(lin, "maskedPaths")) >= 10);
    assert_true(has_string(json_object_get(lin, "maskedPaths"), "/proc/kcore"));
    assert_true(has_string(json_object_get(lin, "readonlyPaths"), "/proc/sys"));
    json_decref(c);
}

static void cap_add_drop(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    v12n_error err = {0};
    assert_int_equal(engine_opt_cap(&o, false, "NET_RAW", &err), 0);
    assert_int_equal(engine_opt_cap(&o, true, "SYS_ADMIN", &err), 0);
    json_t *c = build_ok("{}", &o);
    json_t *names = caps_of(c, "bounding");
    assert_int_equal(json_array_size(names), 14);
    assert_false(has_string(names, "CAP_NET_RAW"));
    assert_true(has_string(names, "CAP_SYS_ADMIN"));
    assert_true(seccomp_allows(c, "mount")); /* unlocked by CAP_SYS_ADMIN */
    assert_true(seccomp_allows(c, "clone"));
    json_decref(c);
    o.argv = NULL; /* not the heap's */
    engine_run_opts_free(&o);

    engine_run_opts_init(&o);
    o.argv = argv;
    assert_int_equal(engine_opt_cap(&o, false, "ALL", &err), 0);
    assert_int_equal(engine_opt_cap(&o, true, "chown", &err), 0);
    c = build_ok("{}", &o);
    assert_strings(caps_of(c, "bounding"), (const char *const[]){"CAP_CHOWN", NULL});
    json_decref(c);
    o.argv = NULL;
    engine_run_opts_free(&o);

    engine_run_opts_init(&o);
    o.argv = argv;
    assert_int_equal(engine_opt_cap(&o, true, "ALL", &err), 0);
    assert_int_equal(engine_opt_cap(&o, false, "SYS_MODULE", &err), 0);
    c = build_ok("{}", &o);
    json_t *all = caps_of(c, "bounding");
    assert_true(json_array_size(all) > 30);
    assert_false(has_string(all, "CAP_SYS_MODULE"));
    assert_true(has_string(all, "CAP_SYS_ADMIN"));
    /* Still confined by seccomp and masks: ALL caps is not --privileged. */
    assert_non_null(json_object_get(json_object_get(c, "linux"), "seccomp"));
    assert_false(seccomp_allows(c, "init_module"));
    json_decref(c);
    o.argv = NULL;
    engine_run_opts_free(&o);
}

static json_t *mount_at(json_t *config, const char *dst)
{
    size_t i;
    json_t *m, *found = NULL;
    json_array_foreach(json_object_get(config, "mounts"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
            found = m;
    }
    return found;
}

static void privileged(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    o.privileged = true;
    json_t *c = build_ok("{}", &o);
    json_t *lin = json_object_get(c, "linux");
    assert_null(json_object_get(lin, "seccomp"));
    assert_null(json_object_get(lin, "maskedPaths"));
    assert_null(json_object_get(lin, "readonlyPaths"));
    assert_true(json_array_size(caps_of(c, "bounding")) > 30);
    assert_true(json_array_size(json_object_get(lin, "devices")) > 0); /* the host's /dev */
    json_t *rules = json_object_get(json_object_get(lin, "resources"), "devices");
    assert_int_equal(json_array_size(rules), 1);
    assert_true(json_is_true(json_object_get(json_array_get(rules, 0), "allow")));
    assert_true(has_string(json_object_get(mount_at(c, "/sys"), "options"), "rw"));
    json_decref(c);
}

/* ---- namespaces, resources, mounts, annotations ---------------------------- */

static bool has_ns(json_t *config, const char *type)
{
    size_t i;
    json_t *ns;
    json_array_foreach(json_object_get(json_object_get(config, "linux"), "namespaces"), i, ns)
    {
        if (strcmp(json_string_value(json_object_get(ns, "type")), type) == 0)
            return true;
    }
    return false;
}

/* SwapLimit on a v1 layout: memsw accounting or not.  (A scratch directory
 * is not a cgroup2 mount, so it reads as v1.) */
static void swap_limit(void **state)
{
    char memory[160], memsw[200];
    snprintf(memory, sizeof memory, "%s/cg/memory", tmp);
    snprintf(memsw, sizeof memsw, "%s/memory.memsw.limit_in_bytes", memory);
    v12n_error err;
    assert_int_equal(v12n_mkdir_p(memory, 0755, &err), 0);
    char root[140];
    snprintf(root, sizeof root, "%s/cg", tmp);
    assert_false(engine_swap_limit_supported(root));
    write_at("cg/memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    assert_true(engine_swap_limit_supported(root));
    assert_false(engine_swap_limit_supported("/nonexistent-v12n"));
    /* This host: the answer follows its memory controller. */
    if (access("/sys/fs/cgroup/memory", F_OK) == 0)
        assert_int_equal(engine_swap_limit_supported("/sys/fs/cgroup"),
                         access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0);
}

static void namespaces_and_resources(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    o.memory = 512 << 20;
    o.nano_cpus = 1500000000;
    o.pids_limit = 100;
    json_t *c = build_ok("{}", &o);
    for (const char *ns[] = {"pid", "ipc", "uts", "mount", "cgroup", "network"}, **n = ns;
         n < ns + 6; n++)
        assert_true(has_ns(c, *n));
    assert_false(has_ns(c, "user"));
    /* Docker >= 29.5: a time namespace where the kernel has them. */
    assert_int_equal(has_ns(c, "time"), access("/proc/self/ns/time", F_OK) == 0);
    json_t *res = json_object_get(json_object_get(c, "linux"), "resources");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")),
                     512 << 20);
    /* Docker's default swap: memory+swap = 2x memory, where it can be limited. */
    json_t *swap = json_object_get(json_object_get(res, "memory"), "swap");
    if (engine_swap_limit_supported("/sys/fs/cgroup"))
        assert_int_equal(json_integer_value(swap), 2 * (512 << 20));
    else
        assert_null(swap);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")),
                     150000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "period")),
                     100000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")),
                     100);
    json_decref(c);

    o.network = ENGINE_NET_HOST;
    o.memory = 0;
    o.nano_cpus = 0;
    o.pids_limit = -1;
    c = build_ok("{}", &o);
    assert_false(has_ns(c, "network"));
    res = json_object_get(json_object_get(c, "linux"), "resources");
    assert_null(json_object_get(res, "memory"));
    assert_null(json_object_get(res, "cpu"));
    assert_null(json_object_get(res, "pids"));
    json_decref(c);

    o.memory = 1024; /* below Docker's 6 MiB floor */
    v12n_error err = {0};
    assert_int_equal(build_fails("{}", &o, &err), 0);
    assert_non_null(strstr(err.msg, "--memory"));
    o.memory = 0;
    o.hostname = "bad/host";
    assert_int_equal(build_fails("{}", &o, &err), 0);
    assert_non_null(strstr(err.msg, "--hostname"));
}

static void mounts(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    v12n_error err = {0};
    o.argv = calloc(2, sizeof(char *));
    o.argv[0] = strdup("true");
    assert_int_equal(engine_opt_volume(&o, "/srv:/a/b/c:ro", &err), 0);
    assert_int_equal(engine_opt_tmpfs(&o, "/a:size=1m,exec", &err), 0);
    o.read_only = true;
    json_t *c = build_ok("{\"config\":{\"Volumes\":{\"/data\":{},\"/a\":{}}}}", &o);
    assert_true(json_is_true(json_object_get(json_object_get(c, "root"), "readonly")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "root"), "path")),
                        rootfs);
    /* Docker's standard set. */
    assert_string_equal(json_string_value(json_object_get(mount_at(c, "/proc"), "type")), "proc");
    assert_true(has_string(json_object_get(mount_at(c, "/dev/shm"), "options"), "size=67108864"));
    assert_true(has_string(json_object_get(mount_at(c, "/sys"), "options"), "ro"));
    assert_true(has_string(json_object_get(mount_at(c, "/sys/fs/cgroup"), "options"), "ro"));
    assert_non_null(mount_at(c, "/dev/pts"));
    assert_non_null(mount_at(c, "/dev/mqueue"));
    /* The generated /etc files. */
    assert_string_equal(json_string_value(json_object_get(mount_at(c, "/etc/hosts"), "source")),
                        "/run/v12n-test/etc/hosts");
    assert_non_null(mount_at(c, "/etc/resolv.conf"));
    assert_non_null(mount_at(c, "/etc/hostname"));
    /* -v and --tmpfs, the parent first whatever the order given. */
    json_t *all = json_object_get(c, "mounts");
    size_t i_a = SIZE_MAX, i_abc = SIZE_MAX, i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        const char *dst = json_string_value(json_object_get(m, "destination"));
        if (strcmp(dst, "/a") == 0) {
            assert_int_equal(i_a, SIZE_MAX); /* once: the image's /a yields to --tmpfs */
            i_a = i;
        }
        if (strcmp(dst, "/a/b/c") == 0)
            i_abc = i;
    }
    assert_true(i_a < i_abc);
    json_t *abc = mount_at(c, "/a/b/c");
    assert_string_equal(json_string_value(json_object_get(abc, "source")), "/srv");
    assert_true(has_string(json_object_get(abc, "options"), "ro"));
    json_t *a = mount_at(c, "/a");
    assert_string_equal(json_string_value(json_object_get(a, "type")), "tmpfs");
    assert_true(has_string(json_object_get(a, "options"), "size=1m"));
    assert_true(has_string(json_object_get(a, "options"), "nosuid"));
    /* The image's volume on a read-only rootfs: a writable tmpfs. */
    assert_string_equal(json_string_value(json_object_get(mount_at(c, "/data"), "type")), "tmpfs");
    json_decref(c);

    /* Writable rootfs: the volume stays in the container's upper layer. */
    o.read_only = false;
    c = build_ok("{\"config\":{\"Volumes\":{\"/data\":{}}}}", &o);
    assert_null(mount_at(c, "/data"));
    json_decref(c);
    assert_int_equal(build_fails("{\"config\":{\"Volumes\":{\"../../x\":{}}}}", &o, &err), 0);
    assert_int_equal(build_fails("{\"config\":{\"Volumes\":{\"/a/../../x\":{}}}}", &o, &err), 0);
    engine_run_opts_free(&o);
}

static void annotations_and_stop_signal(void **state)
{
    struct engine_run_opts o;
    engine_run_opts_init(&o);
    char *argv[] = {"true", NULL};
    o.argv = argv;
    json_t *c = build_ok("{\"config\":{\"Labels\":{\"maintainer\":\"me\",\"a.b\":\"c\"},"
                         "\"StopSignal\":\"SIGQUIT\",\"ExposedPorts\":{\"80/tcp\":{}}}}",
                         &o);
    json_t *ann = json_object_get(c, "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "maintainer")), "me");
    assert_string_equal(json_string_value(json_object_get(ann, "a.b")), "c");
    assert_string_equal(
        json_string_value(json_object_get(ann, "org.opencontainers.image.exposedPorts")), "80/tcp");
    assert_int_equal(engine_spec_stop_signal(c), 3);
    json_decref(c);
    c = build_ok("{}", &o);
    assert_int_equal(engine_spec_stop_signal(c), 15);
    json_decref(c);
    v12n_error err = {0};
    assert_int_equal(build_fails("{\"config\":{\"StopSignal\":\"SIGNOPE\"}}", &o, &err), 0);
    assert_non_null(strstr(err.msg, "StopSignal"));
    assert_int_equal(build_fails("{\"config\":{\"Labels\":{\"x\":1}}}", &o, &err), 0);
    assert_int_equal(build_fails("[]", &o, &err), 0);
    assert_int_equal(build_fails("{\"config\":[]}", &o, &err), 0);
    assert_int_equal(build_fails("{\"config\":{\"User\":7}}", &o, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(command_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(env_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(working_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(user_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_passwd, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(default_caps_and_seccomp, setup, teardown),
        cmocka_unit_test_setup_teardown(cap_add_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(privileged, setup, teardown),
        cmocka_unit_test_setup_teardown(namespaces_and_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(swap_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(mounts, setup, teardown),
        cmocka_unit_test_setup_teardown(annotations_and_stop_signal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
