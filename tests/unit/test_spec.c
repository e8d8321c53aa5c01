/* config.json parsing: the defaults runc writes, every derived field, and a
 * clear, field-naming error for each kind of bad input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/caps.h"
#include "container/spec.h"

static struct oci_spec *parse_ok(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    struct oci_spec *s = NULL;
    v12n_error err = {0};
    int r = oci_spec_parse(j, "/bundle", NULL, &s, &err);
    if (r < 0)
        fail_msg("unexpected error: %s", err.msg);
    json_decref(j);
    return s;
}

static void expect_error(const char *text, const char *needle)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    struct oci_spec *s = NULL;
    v12n_error err = {0};
    assert_int_equal(oci_spec_parse(j, "/bundle", NULL, &s, &err), -1);
    assert_null(s);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
    json_decref(j);
}

static void default_spec_parses(void **state)
{
    (void)state;
    json_t *def = oci_spec_default(false);
    struct oci_spec *s = NULL;
    v12n_error err = {0};
    assert_int_equal(oci_spec_parse(def, "/b", NULL, &s, &err), 0);
    assert_string_equal(s->root_path, "/b/rootfs");
    assert_true(s->root_readonly);
    assert_true(s->has_process);
    assert_string_equal(s->process.args[0], "sh");
    assert_true(s->process.terminal);
    assert_true(s->namespaces[OCI_NS_PID].wanted);
    assert_false(s->namespaces[OCI_NS_USER].wanted);
    assert_int_equal(s->n_mounts, 7);
    assert_int_equal(s->process.n_rlimits, 1);
    assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
    assert_non_null(s->process.caps);
    int kill_cap;
    assert_int_equal(caps_from_name("CAP_KILL", &kill_cap), 0);
    assert_true(s->process.caps->bounding & (1ULL << kill_cap));
    assert_non_null(s->resources);
    oci_spec_free(s);
    json_decref(def);
}

static void rootless_default_has_user_namespace(void **state)
{
    (void)state;
    json_t *def = oci_spec_default(true);
    struct oci_spec *s = NULL;
    v12n_error err = {0};
    assert_int_equal(oci_spec_parse(def, "/b", NULL, &s, &err), 0);
    assert_true(s->namespaces[OCI_NS_USER].wanted);
    assert_false(s->namespaces[OCI_NS_NETWORK].wanted);
    assert_int_equal(s->n_uid_mappings, 1);
    oci_spec_free(s);
    json_decref(def);
}

#define MINIMAL_HEAD    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/r\"},"
#define MINIMAL_PROCESS "\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"}"

static void mount_options_split_into_flags_and_data(void **state)
{
    (void)state;
    struct oci_spec *s =
        parse_ok(MINIMAL_HEAD MINIMAL_PROCESS
                 ",\"mounts\":[{\"destination\":\"/t\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
                 "\"options\":[\"nosuid\",\"ro\",\"rw\",\"mode=1777\",\"size=64k\",\"rslave\"]},"
                 "{\"destination\":\"/b\",\"source\":\"data\",\"options\":[\"rbind\",\"ro\"]}]}");
    struct oci_mount *t = &s->mounts[0];
    assert_true(t->flags & MS_NOSUID);
    assert_false(t->flags & MS_RDONLY); /* rw came last */
    assert_true(t->clear_flags & MS_RDONLY);
    assert_string_equal(t->data, "mode=1777,size=64k");
    assert_int_equal(t->propagation, MS_SLAVE | MS_REC);
    assert_false(t->bind);
    struct oci_mount *b = &s->mounts[1];
    assert_true(b->bind);
    assert_true(b->flags & MS_REC);
    assert_true(b->flags & MS_RDONLY);
    assert_string_equal(b->source, "/bundle/data"); /* relative to the bundle */
    assert_null(b->data);
    oci_spec_free(s);
}

static void namespaces_hooks_and_devices(void **state)
{
    (void)state;
    struct oci_spec *s = parse_ok(
        MINIMAL_HEAD MINIMAL_PROCESS
        ",\"hostname\":\"h\","
        "\"hooks\":{\"prestart\":[{\"path\":\"/bin/a\",\"args\":[\"a\",\"1\"],\"timeout\":3}],"
        "\"poststop\":[{\"path\":\"/bin/b\"}]},"
        "\"linux\":{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"mount\"},"
        "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"user\"}],"
        "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
        "\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":1,\"minor\":3,"
        "\"fileMode\":384}],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
        "\"rootfsPropagation\":\"rshared\"}}");
    assert_string_equal(s->hostname, "h");
    assert_int_equal(s->hooks[OCI_HOOK_PRESTART].n, 1);
    assert_int_equal(s->hooks[OCI_HOOK_PRESTART].hooks[0].timeout, 3);
    assert_string_equal(s->hooks[OCI_HOOK_PRESTART].hooks[0].args[1], "1");
    assert_int_equal(s->hooks[OCI_HOOK_POSTSTOP].n, 1);
    assert_string_equal(s->namespaces[OCI_NS_NETWORK].path, "/proc/1/ns/net");
    assert_null(s->namespaces[OCI_NS_UTS].path);
    assert_int_equal(s->uid_mappings[0].host_id, 1000);
    assert_int_equal(s->devices[0].type, 'c');
    assert_int_equal(s->devices[0].file_mode, 0600);
    assert_string_equal(s->sysctls[0].key, "net.ipv4.ip_forward");
    assert_int_equal(s->rootfs_propagation, MS_SHARED | MS_REC);
    oci_spec_free(s);
}

static void process_fields(void **state)
{
    (void)state;
    struct oci_spec *s = parse_ok(
        MINIMAL_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/w\",\"env\":[\"A=1\"],"
                     "\"user\":{\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[5,6]},"
                     "\"oomScoreAdj\":-500,\"noNewPrivileges\":true,"
                     "\"consoleSize\":{\"height\":24,\"width\":80}}}");
    struct oci_process *p = &s->process;
    assert_int_equal(p->uid, 1);
    assert_int_equal(p->gid, 2);
    assert_true(p->has_umask);
    assert_int_equal(p->umask, 022);
    assert_int_equal(p->n_additional_gids, 2);
    assert_int_equal(p->additional_gids[1], 6);
    assert_true(p->has_oom_score_adj);
    assert_int_equal(p->oom_score_adj, -500);
    assert_true(p->no_new_privileges);
    assert_int_equal(p->console_width, 80);
    assert_string_equal(p->env[0], "A=1");
    oci_spec_free(s);
}

static void bad_configs_name_the_field(void **state)
{
    (void)state;
    expect_error("{\"root\":{\"path\":\"r\"}}", "ociVersion");
    expect_error("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "unsupported version");
    expect_error("{\"ociVersion\":\"1.0.0\"}", "\"root\" is missing");
    expect_error(MINIMAL_HEAD "\"process\":{\"cwd\":\"/\"}}", "process.args");
    expect_error(MINIMAL_HEAD "\"process\":{\"args\":\"sh\"}}", "process.args: expected an array");
    expect_error(MINIMAL_HEAD "\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"}}",
                 "not an absolute path");
    expect_error(MINIMAL_HEAD "\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":"
                              "\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}",
                 "unknown rlimit \"RLIMIT_BOGUS\"");
    expect_error(MINIMAL_HEAD "\"process\":{\"args\":[\"sh\"],\"rlimits\":[{\"type\":"
                              "\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":1}]}}",
                 "soft limit 10 above hard limit 1");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}",
                 "unknown namespace \"bogus\"");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}",
                 "needs uidMappings");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\"mounts\":[{\"destination\":\"rel\"}]}",
                 "mounts[0].destination");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\"hostname\":\"h\"}", "uts namespace");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS ",\"hooks\":{\"prestart\":[{\"path\":\"x\"}]}}",
                 "hooks.prestart[0].path");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS
                 ",\"linux\":{\"devices\":[{\"type\":\"q\",\"path\":\"/dev/x\"}]}}",
                 "linux.devices[0].type");
    expect_error(MINIMAL_HEAD MINIMAL_PROCESS
                 ",\"process\":{\"args\":[\"a\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}}",
                 "CAP_NOPE");
}

static void load_reports_invalid_json_with_position(void **state)
{
    (void)state;
    char dir[] = "/tmp/v12n-spec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}\n", f);
    fclose(f);
    struct oci_spec *s = NULL;
    v12n_error err = {0};
    assert_int_equal(oci_spec_load(dir, NULL, &s, &err), -1);
    assert_non_null(strstr(err.msg, "invalid JSON at line 3"));
    unlink(path);
    assert_int_equal(oci_spec_load(dir, NULL, &s, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_spec_parses),
        cmocka_unit_test(rootless_default_has_user_namespace),
        cmocka_unit_test(mount_options_split_into_flags_and_data),
        cmocka_unit_test(namespaces_hooks_and_devices),
        cmocka_unit_test(process_fields),
        cmocka_unit_test(bad_configs_name_the_field),
        cmocka_unit_test(load_reports_invalid_json_with_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
