/* linux.seccomp: parse errors, and real filters loaded in forked children. */
#include <errno.h>
#include <linux/personality.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/seccomp.h"
#include "util/fs.h"
#include "util/json.h"

static json_t *json_from(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("test JSON: %s at line %d: %s", jerr.text, jerr.line, text);
    return j;
}

static struct seccomp_profile *compile_ok(const char *text)
{
    json_t *j = json_from(text);
    struct seccomp_profile *p = NULL;
    v12n_error err = {0};
    int rc = seccomp_profile_parse(j, &p, &err);
    json_decref(j);
    if (rc != 0)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(p);
    return p;
}

static void expect_parse_error(const char *text, const char *message)
{
    json_t *j = json_from(text);
    struct seccomp_profile *p = NULL;
    v12n_error err = {0};
    assert_int_equal(seccomp_profile_parse(j, &p, &err), -1);
    assert_null(p);
    assert_string_equal(err.msg, message);
    json_decref(j);
}

static double ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* Child exit codes: 0 = all checks passed, 100 = load failed, others name the
 * failing check. */
#define LOAD_FAILED 100

typedef int (*child_checks)(void);

/* Straight to the kernel: under ASan, _exit runs the leak checker and any
 * noreturn call probes sigaltstack -- syscalls a strict filter refuses.  So
 * nothing here may look noreturn to the compiler (exit_group never returns). */
static void child_exit(int code)
{
    syscall(SYS_exit_group, code);
}

/* Loads the profile in a forked child, runs checks there, returns the raw
 * wait status. */
static int run_filtered(const struct seccomp_profile *p, child_checks checks)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* KILL actions dump core by default; no core files from tests. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        v12n_error err = {0};
        if (seccomp_profile_load(p, &err) < 0) {
            fprintf(stderr, "child: %s (errno %d)\n", err.msg, err.errnum);
            child_exit(LOAD_FAILED);
        }
        child_exit(checks());
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_child_passed(const struct seccomp_profile *p, child_checks checks)
{
    int status = run_filtered(p, checks);
    if (!WIFEXITED(status))
        fail_msg("child killed by signal %d", WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A raw syscall that is expected to fail with `want`. */
static bool fails_with(long rc, int want)
{
    return rc == -1 && errno == want;
}

static void parse_errors_name_the_field(void **state)
{
    (void)state;
    expect_parse_error("[]", "linux.seccomp: expected an object");
    expect_parse_error("{}", "linux.seccomp.defaultAction: required");
    expect_parse_error("{\"defaultAction\": 3}", "linux.seccomp.defaultAction: expected a string");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_FOO\"}",
                       "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 70000}",
                       "linux.seccomp.defaultErrnoRet: 70000 does not fit in 16 bits");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
                       "[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
                       "linux.seccomp.flags[0]: unsupported flag "
                       "\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
    expect_parse_error(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
        "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\"");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
                       "linux.seccomp.syscalls: expected an array");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\"}, 7]}",
                       "linux.seccomp.syscalls[1]: expected an object");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\"},"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_KILL\"},"
                       "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_TRAP\"},"
                       "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_FOO\"}]}",
                       "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"getcwd\"]}]}",
                       "linux.seccomp.syscalls[0].action: required");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"action\": \"SCMP_ACT_ERRNO\"}]}",
                       "linux.seccomp.syscalls[0].names: required");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": \"getcwd\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
                       "linux.seccomp.syscalls[0].names: expected an array");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"getcwd\", 5], \"action\": \"SCMP_ACT_ERRNO\"}]}",
                       "linux.seccomp.syscalls[0].names[1]: expected a string");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", "
                       "\"errnoRet\": \"EPERM\"}]}",
                       "linux.seccomp.syscalls[0].errnoRet: expected a non-negative integer");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                       "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY (seccomp listener) "
                       "is not supported yet");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                       "{\"index\": 6, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                       "{\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"},"
                       "{\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_XX\"}]}]}",
                       "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_XX\"");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                       "{\"index\": 0, \"value\": -2, \"op\": \"SCMP_CMP_EQ\"}]}]}",
                       "linux.seccomp.syscalls[0].args[0].value: expected a non-negative integer");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
                       "{\"index\": 0, \"value\": 2}]}]}",
                       "linux.seccomp.syscalls[0].args[0].op: required");
    expect_parse_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                       "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [1]}]}",
                       "linux.seccomp.syscalls[0].args[0]: expected an object");
}

static int getcwd_is_enosys(void)
{
    char buf[256];
    if (!fails_with(syscall(SYS_getcwd, buf, sizeof buf), ENOSYS))
        return 1;
    if (syscall(SYS_getpid) != getpid())
        return 2;
    return 0;
}

static void errno_rule_returns_errno_ret(void **state)
{
    (void)state;
    struct seccomp_profile *p =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}");
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
}

static void unknown_syscall_names_are_skipped(void **state)
{
    (void)state;
    struct seccomp_profile *p =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"v12n_no_such_syscall\", \"getcwd\", \"another_fake\"], "
                   "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38},"
                   "{\"names\": [\"v12n_only_fakes\"], \"action\": \"SCMP_ACT_KILL\"}]}");
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
}

static int socket_errno(int domain, int type)
{
    int fd = socket(domain, type, 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

static int socket_conditions_hold(void)
{
    /* Same index twice: OR. */
    if (socket_errno(AF_INET, SOCK_STREAM) != EACCES)
        return 1;
    if (socket_errno(AF_INET6, SOCK_DGRAM) != EACCES)
        return 2;
    /* Different indices: AND -- only AF_UNIX datagram sockets are refused. */
    if (socket_errno(AF_UNIX, SOCK_DGRAM) != EPROTONOSUPPORT)
        return 3;
    if (socket_errno(AF_UNIX, SOCK_STREAM) != 0)
        return 4;
    /* MASKED_EQ on the type: close-on-exec netlink sockets are refused. */
    if (socket_errno(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC) != EBADMSG)
        return 5;
    if (socket_errno(AF_NETLINK, SOCK_RAW) != 0)
        return 6;
    return 0;
}

static void argument_conditions_follow_runc(void **state)
{
    (void)state;
    char profile[2048];
    snprintf(profile, sizeof profile,
             "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
             "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": %d,"
             " \"args\": [{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"},"
             "            {\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}]},"
             "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": %d,"
             " \"args\": [{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"},"
             "            {\"index\": 1, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}]},"
             "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": %d,"
             " \"args\": [{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"},"
             "            {\"index\": 1, \"value\": %d, \"valueTwo\": %d,"
             "             \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}",
             EACCES, AF_INET, AF_INET6, EPROTONOSUPPORT, AF_UNIX, SOCK_DGRAM, EBADMSG, AF_NETLINK,
             SOCK_CLOEXEC, SOCK_CLOEXEC);
    struct seccomp_profile *p = compile_ok(profile);
    expect_child_passed(p, socket_conditions_hold);
    seccomp_profile_free(p);
}

static int only_personality_query_allowed(void)
{
    /* 0xffffffff queries the persona without changing it. */
    if (syscall(SYS_personality, 0xffffffffUL) < 0)
        return 1;
    if (!fails_with(syscall(SYS_personality, PER_LINUX), EPERM))
        return 2;
    return 0;
}

static void personality_query_with_ne(void **state)
{
    (void)state;
    struct seccomp_profile *p = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
        "{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\","
        " \"args\": [{\"index\": 0, \"value\": 4294967295, \"op\": \"SCMP_CMP_NE\"}]}]}");
    expect_child_passed(p, only_personality_query_allowed);
    seccomp_profile_free(p);
}

static int call_getcwd(void)
{
    char buf[256];
    syscall(SYS_getcwd, buf, sizeof buf);
    return 0;
}

static void kill_process_sends_sigsys(void **state)
{
    (void)state;
    struct seccomp_profile *p =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}");
    int status = run_filtered(p, call_getcwd);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    seccomp_profile_free(p);
}

static int allow_list_holds(void)
{
    char buf[256];
    if (syscall(SYS_getpid) != getpid())
        return 1;
    /* Not listed: the default errno. */
    if (!fails_with(syscall(SYS_getppid), EACCES))
        return 2;
    /* Listed with ERRNO and no errnoRet: EPERM, as runc does. */
    if (!fails_with(syscall(SYS_getuid), EPERM))
        return 3;
    /* Listed with the default action itself: skipped, so the default applies. */
    if (!fails_with(syscall(SYS_getcwd, buf, sizeof buf), EACCES))
        return 4;
    return 0;
}

static void default_errno_with_allow_list(void **state)
{
    (void)state;
    struct seccomp_profile *p = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 13,"
        " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\","
        "                     \"SCMP_ARCH_AARCH64\"],"
        " \"syscalls\": ["
        "{\"names\": [\"getpid\", \"exit\", \"exit_group\", \"write\", \"rt_sigreturn\"],"
        " \"action\": \"SCMP_ACT_ALLOW\"},"
        "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
        "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}");
    expect_child_passed(p, allow_list_holds);
    seccomp_profile_free(p);
}

static void filter_flags_are_accepted_by_the_kernel(void **state)
{
    (void)state;
    struct seccomp_profile *p =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
                   " \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_LOG\","
                   "             \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
                   " \"syscalls\": [{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\","
                   "                \"errnoRet\": 38}]}");
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
}

/* The one file in dir (the cache holds one profile in these tests). */
static void only_cache_file(const char *dir, char *path, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        files++;
    }
    closedir(d);
    assert_int_equal(files, 1);
}

static struct seccomp_profile *parse_cached_ok(const char *text, const char *dir)
{
    json_t *j = json_from(text);
    struct seccomp_profile *p = NULL;
    v12n_error err = {0};
    if (seccomp_profile_parse_cached(j, dir, &p, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
    json_decref(j);
    return p;
}

/* Docker's default profile allows about 300 syscalls on three x86 ABIs. */
static json_t *allow_list_profile(size_t n_names, const char *left_out)
{
    json_t *names = json_array();
    for (int nr = 0; nr < 1024 && json_array_size(names) < n_names; nr++) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (name != NULL && strcmp(name, left_out) != 0)
            json_array_append_new(names, json_string(name));
        free(name);
    }
    assert_int_equal(json_array_size(names), n_names);
    return json_pack("{s:s, s:[s,s,s], s:[{s:o, s:s}]}", "defaultAction", "SCMP_ACT_ERRNO",
                     "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                     "syscalls", "names", names, "action", "SCMP_ACT_ALLOW");
}

static int getcwd_is_eperm(void)
{
    char buf[256];
    if (!fails_with(syscall(SYS_getcwd, buf, sizeof buf), EPERM))
        return 1;
    return 0;
}

/* Time of a cache hit: one parse to fill the cache, then a timed one. */
static double cached_parse_ms(const char *text)
{
    char dir[] = "/tmp/v12n-seccomp-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    seccomp_profile_free(parse_cached_ok(text, dir));
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct seccomp_profile *p = parse_cached_ok(text, dir);
    double ms = ms_since(&start);
    seccomp_profile_free(p);
    v12n_error err = {0};
    assert_int_equal(v12n_rm_rf(dir, &err), 0);
    return ms;
}

static void large_allow_list_filters(void **state)
{
    (void)state;
    json_t *profile = allow_list_profile(300, "getcwd");
    char *profile_text = json_dumps(profile, 0);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct seccomp_profile *p = NULL;
    v12n_error err = {0};
    assert_int_equal(seccomp_profile_parse(profile, &p, &err), 0);
    double parse_ms = ms_since(&start);
    json_decref(profile);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (seccomp_profile_load(p, &err) < 0)
            child_exit(LOAD_FAILED);
        double load_ms = ms_since(&t);
        if (write(fds[1], &load_ms, sizeof load_ms) != sizeof load_ms)
            child_exit(99);
        child_exit(getcwd_is_eperm());
    }
    close(fds[1]);
    double load_ms = -1;
    assert_int_equal(read(fds[0], &load_ms, sizeof load_ms), sizeof load_ms);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    double hit_ms = cached_parse_ms(profile_text);
    printf("seccomp: 300-syscall allow list on 3 ABIs: parse+compile %.2f ms, load %.3f ms, "
           "parse from cache %.3f ms\n",
           parse_ms, load_ms, hit_ms);
    free(profile_text);
    /* Timings are printed for information only: speed is judged in bench/,
     * never by a timed assertion in a test. */
    seccomp_profile_free(p);
}

static void cache_reuses_compiled_filters(void **state)
{
    (void)state;
    static const char profile[] =
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
        "{\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}";
    char dir[] = "/tmp/v12n-seccomp-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cache[256];
    snprintf(cache, sizeof cache, "%s/cache", dir);

    /* Miss: compiled and stored. */
    struct seccomp_profile *p = parse_cached_ok(profile, cache);
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
    char path[512];
    only_cache_file(cache, path, sizeof path);
    struct stat first, again;
    assert_int_equal(stat(path, &first), 0);
    assert_int_equal(first.st_mode & 0777, 0600);

    /* Hit: the same file, not rewritten (a store would replace the inode);
     * key order does not matter. */
    p = parse_cached_ok("{\"syscalls\": [{\"errnoRet\": 38, \"action\": \"SCMP_ACT_ERRNO\","
                        " \"names\": [\"getcwd\"]}], \"defaultAction\": \"SCMP_ACT_ALLOW\"}",
                        cache);
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
    assert_int_equal(stat(path, &again), 0);
    assert_int_equal(again.st_ino, first.st_ino);

    /* A damaged entry is a miss, and gets replaced. */
    assert_int_equal(truncate(path, 20), 0);
    p = parse_cached_ok(profile, cache);
    expect_child_passed(p, getcwd_is_enosys);
    seccomp_profile_free(p);
    assert_int_equal(stat(path, &again), 0);
    assert_int_equal(again.st_size, first.st_size);

    /* Errors still name the field, and nothing is stored for them. */
    json_t *bad = json_from("{\"defaultAction\": \"SCMP_ACT_FOO\"}");
    v12n_error err = {0};
    assert_int_equal(seccomp_profile_parse_cached(bad, cache, &p, &err), -1);
    assert_string_equal(err.msg, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
    json_decref(bad);
    only_cache_file(cache, path, sizeof path);

    assert_int_equal(v12n_rm_rf(dir, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_errors_name_the_field),
        cmocka_unit_test(errno_rule_returns_errno_ret),
        cmocka_unit_test(unknown_syscall_names_are_skipped),
        cmocka_unit_test(argument_conditions_follow_runc),
        cmocka_unit_test(personality_query_with_ne),
        cmocka_unit_test(kill_process_sends_sigsys),
        cmocka_unit_test(default_errno_with_allow_list),
        cmocka_unit_test(filter_flags_are_accepted_by_the_kernel),
        cmocka_unit_test(large_allow_list_filters),
        cmocka_unit_test(cache_reuses_compiled_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
