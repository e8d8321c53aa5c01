/* process.capabilities: parsing, and the real sets applied in forked children. */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/caps.h"
#include "util/json.h"

#define BIT(cap) (UINT64_C(1) << (cap))

/* Numbers from linux/capability.h, spelled here so the test does not trust
 * the code under test for them. */
enum {
    T_CAP_CHOWN = 0,
    T_CAP_KILL = 5,
    T_CAP_SETPCAP = 8,
    T_CAP_NET_BIND_SERVICE = 10,
    T_CAP_NET_ADMIN = 12,
    T_CAP_NET_RAW = 13,
    T_CAP_SYS_ADMIN = 21,
};

static int kernel_last_cap(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    int last = -1;
    if (f == NULL || fscanf(f, "%d", &last) != 1)
        last = -1;
    if (f != NULL)
        fclose(f);
    return last;
}

static uint64_t all_caps(void)
{
    int last = kernel_last_cap();
    return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

/* A hex mask from /proc/self/status ("CapEff:\t0000000000000001"). */
static int status_mask(const char *field, uint64_t *out)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    size_t len = strlen(field);
    int rc = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            *out = strtoull(line + len + 1, NULL, 16);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static bool status_is(const char *field, uint64_t want)
{
    uint64_t got;
    if (status_mask(field, &got) < 0)
        return false;
    if (got != want)
        fprintf(stderr, "child: %s is %016llx, want %016llx\n", field, (unsigned long long)got,
                (unsigned long long)want);
    return got == want;
}

static json_t *json_from(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("test JSON: %s: %s", jerr.text, text);
    return j;
}

static void expect_parse_error(const char *text, const char *message)
{
    json_t *j = json_from(text);
    struct oci_capabilities caps;
    v12n_error err = {0};
    assert_int_equal(caps_parse(j, &caps, &err), -1);
    assert_string_equal(err.msg, message);
    json_decref(j);
}

static void parse_sets_by_name(void **state)
{
    (void)state;
    json_t *j = json_from("{\"bounding\": [\"CAP_CHOWN\", \"CAP_NET_RAW\", \"CAP_SYS_ADMIN\"],"
                          " \"effective\": [\"CAP_KILL\"],"
                          " \"inheritable\": [],"
                          " \"permitted\": [\"CAP_KILL\", \"CAP_NET_ADMIN\"],"
                          " \"ambient\": [\"CAP_NET_BIND_SERVICE\"]}");
    struct oci_capabilities caps;
    v12n_error err = {0};
    assert_int_equal(caps_parse(j, &caps, &err), 0);
    assert_int_equal(caps.bounding, BIT(T_CAP_CHOWN) | BIT(T_CAP_NET_RAW) | BIT(T_CAP_SYS_ADMIN));
    assert_int_equal(caps.effective, BIT(T_CAP_KILL));
    assert_int_equal(caps.inheritable, 0);
    assert_int_equal(caps.permitted, BIT(T_CAP_KILL) | BIT(T_CAP_NET_ADMIN));
    assert_int_equal(caps.ambient, BIT(T_CAP_NET_BIND_SERVICE));
    json_decref(j);

    /* Absent sets are empty. */
    j = json_from("{\"effective\": [\"CAP_CHOWN\"]}");
    assert_int_equal(caps_parse(j, &caps, &err), 0);
    assert_int_equal(caps.bounding, 0);
    assert_int_equal(caps.effective, BIT(T_CAP_CHOWN));
    json_decref(j);
}

static void parse_errors_name_the_capability(void **state)
{
    (void)state;
    expect_parse_error("[]", "process.capabilities: expected an object");
    expect_parse_error("{\"bounding\": [\"CAP_CHOWN\", \"CAP_FOO\"]}",
                       "process.capabilities.bounding: unknown capability \"CAP_FOO\"");
    expect_parse_error("{\"ambient\": [\"cap_chown\"]}",
                       "process.capabilities.ambient: unknown capability \"cap_chown\"");
    expect_parse_error("{\"permitted\": [\"CAP_CHOWN,CAP_KILL\"]}",
                       "process.capabilities.permitted: unknown capability "
                       "\"CAP_CHOWN,CAP_KILL\"");
    expect_parse_error("{\"effective\": \"CAP_CHOWN\"}",
                       "process.capabilities.effective: expected an array");
    expect_parse_error("{\"inheritable\": [\"CAP_CHOWN\", 3]}",
                       "process.capabilities.inheritable[1]: expected a string");
}

static void names_round_trip(void **state)
{
    (void)state;
    int cap = -1;
    assert_int_equal(caps_from_name("CAP_NET_ADMIN", &cap), 0);
    assert_int_equal(cap, T_CAP_NET_ADMIN);
    assert_int_equal(caps_from_name("CAP_SETPCAP", &cap), 0);
    assert_int_equal(cap, T_CAP_SETPCAP);
    assert_int_equal(caps_from_name("12", &cap), -1);
    assert_int_equal(caps_from_name("CAP_", &cap), -1);
    assert_int_equal(caps_from_name("CAP_NET_ADMINX", &cap), -1);
    assert_int_equal(caps_from_name("", &cap), -1);

    json_t *names = caps_known_names();
    assert_non_null(names);
    assert_int_equal(json_array_size(names), kernel_last_cap() + 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "CAP_CHOWN");
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        assert_int_equal(caps_from_name(json_string_value(name), &cap), 0);
        assert_int_equal(cap, (int)i);
    }
    json_decref(names);
}

static int wait_child(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("child killed by signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int report(const v12n_error *err)
{
    fprintf(stderr, "child: %s (errno %d)\n", err->msg, err->errnum);
    return 1;
}

static int bounding_and_sets_in_child(void)
{
    /* Start from what we have: a sandbox may have trimmed it already. */
    uint64_t bounding;
    if (status_mask("CapBnd", &bounding) < 0)
        return 6;
    struct oci_capabilities caps = {
        .bounding = bounding & ~BIT(T_CAP_NET_RAW),
        .effective = BIT(T_CAP_CHOWN),
        .permitted = BIT(T_CAP_CHOWN),
    };
    v12n_error err = {0};
    if (caps_apply_bounding(&caps, &err) < 0 || caps_apply_sets(&caps, &err) < 0)
        return report(&err);
    if (!status_is("CapBnd", caps.bounding))
        return 2;
    if (!status_is("CapEff", BIT(T_CAP_CHOWN)) || !status_is("CapPrm", BIT(T_CAP_CHOWN)))
        return 3;
    if (!status_is("CapInh", 0) || !status_is("CapAmb", 0))
        return 4;
    /* Raw sockets need CAP_NET_RAW, which is neither effective nor bounded. */
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd >= 0 || errno != EPERM)
        return 5;
    return 0;
}

static void bounding_and_sets_apply(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(bounding_and_sets_in_child());
    assert_int_equal(wait_child(pid), 0);
}

static int keepcaps_across_setuid_in_child(void)
{
    const uint64_t bind_cap = BIT(T_CAP_NET_BIND_SERVICE);
    struct oci_capabilities caps = {
        .bounding = all_caps(),
        .effective = bind_cap | BIT(T_CAP_CHOWN),
        .permitted = bind_cap | BIT(T_CAP_CHOWN),
        .inheritable = bind_cap,
        .ambient = bind_cap,
    };
    v12n_error err = {0};
    /* A private network namespace, so port 80 is surely free. */
    if (unshare(CLONE_NEWNET) < 0)
        return 10;
    if (caps_prepare_for_setuid(&err) < 0 || caps_apply_bounding(&caps, &err) < 0)
        return report(&err);
    if (setuid(1000) < 0)
        return 11;
    if (caps_apply_sets(&caps, &err) < 0)
        return report(&err);
    if (getuid() != 1000 || geteuid() != 1000)
        return 12;
    if (!status_is("CapAmb", bind_cap) || !status_is("CapEff", caps.effective) ||
        !status_is("CapPrm", caps.permitted))
        return 13;
    if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
        return 14;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(80)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        return 15;
    close(fd);
    /* Ambient is what survives execve for a non-root user: CAP_CHOWN goes. */
    execl("/bin/sh", "sh", "-c",
          "grep -q '^CapEff:[[:space:]]*0000000000000400$' /proc/self/status", (char *)NULL);
    return 16;
}

static void keepcaps_and_ambient_across_setuid(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(keepcaps_across_setuid_in_child());
    assert_int_equal(wait_child(pid), 0);
}

static int ambient_without_inheritable_in_child(void)
{
    struct oci_capabilities caps = {
        .effective = BIT(T_CAP_NET_BIND_SERVICE),
        .permitted = BIT(T_CAP_NET_BIND_SERVICE),
        .ambient = BIT(T_CAP_NET_BIND_SERVICE),
    };
    v12n_error err = {0};
    if (caps_apply_sets(&caps, &err) == 0)
        return 1;
    const char *want = "capabilities: raise ambient CAP_NET_BIND_SERVICE (it must be permitted "
                       "and inheritable)";
    if (strcmp(err.msg, want) != 0 || err.errnum != EPERM) {
        fprintf(stderr, "child: got \"%s\" (errno %d)\n", err.msg, err.errnum);
        return 2;
    }
    return 0;
}

static void ambient_error_names_the_capability(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(ambient_without_inheritable_in_child());
    assert_int_equal(wait_child(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_sets_by_name),
        cmocka_unit_test(parse_errors_name_the_capability),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(bounding_and_sets_apply),
        cmocka_unit_test(keepcaps_and_ambient_across_setuid),
        cmocka_unit_test(ambient_error_names_the_capability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
