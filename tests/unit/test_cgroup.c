/* cgroup module: resources parsing, device rule semantics, and real cgroups
 * on this host (hybrid: v1 controllers plus /sys/fs/cgroup/unified), with v2
 * exercised on a private cgroup2 mount in a child's mount namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/cgroup.h"
#include "container/cgroup_internal.h"
#include "container/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define ROOT "/sys/fs/cgroup"
#define MiB  (1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static char unit_prefix[64]; /* "v12n-unit-<pid>": every test cgroup lives under it */

static json_t *json_of(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", text, jerr.text);
    return j;
}

static struct cgroup_resources *parse_ok(const char *text)
{
    json_t *j = json_of(text);
    struct cgroup_resources *res = NULL;
    v12n_error err = {0};
    if (cgroup_resources_parse(j, &res, &err) < 0)
        fail_msg("parse %s: %s", text, err.msg);
    json_decref(j);
    return res;
}

static void expect_parse_error(const char *text, const char *message)
{
    json_t *j = json_of(text);
    struct cgroup_resources *res = NULL;
    v12n_error err = {0};
    int rc = cgroup_resources_parse(j, &res, &err);
    json_decref(j);
    if (rc == 0) {
        cgroup_resources_free(res);
        fail_msg("%s: parsed, expected \"%s\"", text, message);
    }
    if (strstr(err.msg, message) == NULL)
        fail_msg("%s: got \"%s\", expected \"%s\"", text, err.msg, message);
}

static char *read_trimmed(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    v12n_error err = {0};
    char *data = v12n_read_file(path, NULL, &err);
    if (data == NULL)
        return NULL;
    cg_trim(data);
    return data;
}

static bool file_equals(const char *dir, const char *file, const char *want)
{
    auto_free char *got = read_trimmed(dir, file);
    if (got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "%s/%s: \"%s\", expected \"%s\"\n", dir, file, got ? got : "(unreadable)",
                want);
        return false;
    }
    return true;
}

static bool procs_contain(const char *dir, pid_t pid)
{
    pid_t *pids = NULL;
    size_t n = 0;
    v12n_error err = {0};
    if (cg_read_procs(dir, &pids, &n, &err) < 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || pids[i] == pid;
    free(pids);
    return found;
}

/* A child parked until a byte arrives on its pipe, then running fn. */
typedef int (*child_fn)(void);

static pid_t spawn_parked(child_fn fn, int *release_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(100);
        _exit(fn());
    }
    close(p[0]);
    *release_fd = p[1];
    return pid;
}

static int release_and_wait(pid_t pid, int release_fd)
{
    if (write(release_fd, "x", 1) != 1)
        return -1;
    close(release_fd);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

static int sleep_forever(void)
{
    for (;;)
        pause();
    return 0;
}

static pid_t spawn_sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(sleep_forever());
    return pid;
}

static void reap_killed(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* The v1 tests need v1 hierarchies (this hybrid host has them; a pure v2
 * host skips them and still runs the v2 ones). */
static void require_v1(void)
{
    enum cgroup_mode mode;
    v12n_error err = {0};
    if (cgroup_detect_mode(ROOT, &mode, &err) < 0 || mode == CGROUP_MODE_V2)
        skip();
}

/* The container's directory for a controller, from the persisted state. */
static const char *dir_in_state(json_t *state, const char *controllers)
{
    json_t *dirs = json_object_get(state, "dirs");
    for (size_t i = 0; i < json_array_size(dirs); i++) {
        json_t *d = json_array_get(dirs, i);
        if (strcmp(json_string_value(json_object_get(d, "controllers")), controllers) == 0)
            return json_string_value(json_object_get(d, "path"));
    }
    return NULL;
}

/* Destroy removes the leaves and keeps the parents (shared, like /v12n);
 * the test then removes the parents create made, which must be empty. */
static void assert_all_dirs_gone(json_t *state)
{
    json_t *dirs = json_object_get(state, "dirs");
    assert_true(json_array_size(dirs) > 0);
    for (size_t i = 0; i < json_array_size(dirs); i++) {
        json_t *d = json_array_get(dirs, i);
        const char *path = json_string_value(json_object_get(d, "path"));
        if (v12n_path_exists(path))
            fail_msg("%s left behind", path);
        const char *top = json_string_value(json_object_get(d, "created"));
        if (top == NULL || strcmp(top, path) == 0)
            continue;
        auto_free char *parent = strdup(path);
        assert_non_null(parent);
        for (char *slash = strrchr(parent, '/'); slash != NULL && strlen(parent) > strlen(top);
             slash = strrchr(parent, '/')) {
            *slash = '\0';
            if (!v12n_path_exists(parent))
                fail_msg("parent %s removed by destroy", parent);
            rmdir(parent);
        }
    }
}

static char *unit_path(const char *leaf)
{
    char *p = NULL;
    if (asprintf(&p, "/%s/%s", unit_prefix, leaf) < 0)
        return NULL;
    return p;
}

/* State of a test that holds real cgroups, cleaned up even when it fails. */
static struct cgroup *g_cg;
static pid_t g_child = -1;
static bool g_disable_unified_hugetlb; /* the test enabled it at the unified root */

static int cleanup_cgroup(void **state)
{
    (void)state;
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = -1;
    }
    if (g_cg != NULL) {
        v12n_error err = {0};
        cgroup_destroy(g_cg, &err);
        cgroup_free(g_cg);
        g_cg = NULL;
    }
    if (g_disable_unified_hugetlb) {
        /* Best effort: another user of the hierarchy may rely on it by now. */
        v12n_error err = {0};
        cg_write(ROOT "/unified", "cgroup.subtree_control", "-hugetlb", &err);
        g_disable_unified_hugetlb = false;
    }
    return 0;
}

static struct cgroup *create_or_fail(const char *leaf, const char *resources, pid_t pid)
{
    auto_free char *path = unit_path(leaf);
    struct cgroup_resources *res = resources != NULL ? parse_ok(resources) : NULL;
    struct cgroup_create_args args = {
        .root = ROOT, .cgroups_path = path, .id = "unused", .resources = res, .pid = pid};
    struct cgroup *cg = NULL;
    v12n_error err = {0};
    int rc = cgroup_create(&args, &cg, &err);
    cgroup_resources_free(res);
    if (rc < 0)
        fail_msg("create %s: %s (%s)", path, err.msg, strerror(err.errnum));
    return cg;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */

static const char *full_example =
    "{"
    " \"memory\": {\"limit\": 536870912, \"reservation\": 268435456, \"swap\": 536870912,"
    "   \"kernel\": -1, \"kernelTCP\": -1, \"swappiness\": 0, \"disableOOMKiller\": false,"
    "   \"useHierarchy\": true, \"checkBeforeUpdate\": true},"
    " \"cpu\": {\"shares\": 1024, \"quota\": 1000000, \"burst\": 10000, \"period\": 500000,"
    "   \"realtimeRuntime\": 950000, \"realtimePeriod\": 1000000, \"cpus\": \"2-3\","
    "   \"mems\": \"0-7\", \"idle\": 0},"
    " \"pids\": {\"limit\": 32771},"
    " \"blockIO\": {\"weight\": 10, \"leafWeight\": 10,"
    "   \"weightDevice\": [{\"major\": 8, \"minor\": 0, \"weight\": 500, \"leafWeight\": 300},"
    "                      {\"major\": 8, \"minor\": 16, \"weight\": 500}],"
    "   \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 600}],"
    "   \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 16, \"rate\": 300}]},"
    " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 9223372036854772000}],"
    " \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
    "   {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 229, \"access\": \"rw\"},"
    "   {\"allow\": true, \"type\": \"b\", \"major\": 8, \"minor\": -1, \"access\": \"r\"}],"
    " \"network\": {\"classID\": 1048577, \"priorities\": [{\"name\": \"eth0\", \"priority\": 500},"
    "   {\"name\": \"eth1\", \"priority\": 1000}]},"
    " \"unified\": {\"memory.high\": \"1073741824\", \"io.weight\": \"default 100\"}"
    "}";

static void parse_full_example(void **state)
{
    (void)state;
    struct cgroup_resources *r = parse_ok(full_example);
    assert_true(r->memory.limit.set);
    assert_int_equal(r->memory.limit.v, 536870912);
    assert_int_equal(r->memory.reservation.v, 268435456);
    assert_int_equal(r->memory.swap.v, 536870912);
    assert_true(r->memory.kernel.set && r->memory.kernel_tcp.set);
    assert_true(r->memory.swappiness.set);
    assert_int_equal(r->memory.swappiness.v, 0);
    assert_true(r->memory.disable_oom_killer.set && !r->memory.disable_oom_killer.v);
    assert_true(r->memory.use_hierarchy.v && r->memory.check_before_update);
    assert_int_equal(r->cpu.shares.v, 1024);
    assert_int_equal(r->cpu.quota.v, 1000000);
    assert_int_equal(r->cpu.burst.v, 10000);
    assert_int_equal(r->cpu.period.v, 500000);
    assert_int_equal(r->cpu.rt_runtime.v, 950000);
    assert_int_equal(r->cpu.rt_period.v, 1000000);
    assert_string_equal(r->cpu.cpus, "2-3");
    assert_string_equal(r->cpu.mems, "0-7");
    assert_true(r->cpu.idle.set);
    assert_int_equal(r->pids_limit.v, 32771);
    assert_int_equal(r->blkio.weight.v, 10);
    assert_int_equal(r->blkio.n_weight_devices, 2);
    assert_int_equal(r->blkio.weight_devices[0].leaf_weight.v, 300);
    assert_false(r->blkio.weight_devices[1].leaf_weight.set);
    assert_int_equal(r->blkio.n_throttle[CG_THROTTLE_READ_BPS], 1);
    assert_int_equal(r->blkio.throttle[CG_THROTTLE_READ_BPS][0].rate, 600);
    assert_int_equal(r->blkio.n_throttle[CG_THROTTLE_WRITE_IOPS], 1);
    assert_int_equal(r->blkio.throttle[CG_THROTTLE_WRITE_IOPS][0].minor, 16);
    assert_int_equal(r->n_hugepages, 1);
    assert_string_equal(r->hugepages[0].page_size, "2MB");
    assert_int_equal(r->n_devices, 3);
    assert_false(r->devices[0].allow);
    assert_int_equal(r->devices[0].type, 'a');
    assert_int_equal(r->devices[0].major, CG_DEV_WILDCARD);
    assert_int_equal(r->devices[0].access, CG_DEV_ALL);
    assert_int_equal(r->devices[1].type, 'c');
    assert_int_equal(r->devices[1].minor, 229);
    assert_int_equal(r->devices[1].access, CG_DEV_READ | CG_DEV_WRITE);
    assert_int_equal(r->devices[2].minor, CG_DEV_WILDCARD);
    assert_int_equal(r->net_class_id.v, 1048577);
    assert_int_equal(r->n_net_prios, 2);
    assert_string_equal(r->net_prios[1].name, "eth1");
    assert_int_equal(r->n_unified, 2);
    assert_true(cg_wants_memory(r) && cg_wants_cpu(r) && cg_wants_cpuset(r) && cg_wants_pids(r) &&
                cg_wants_blkio(r));
    cgroup_resources_free(r);

    /* Nothing at all is fine too. */
    r = parse_ok("{}");
    assert_false(cg_wants_memory(r) || cg_wants_cpu(r) || cg_wants_pids(r));
    cgroup_resources_free(r);
    struct cgroup_resources *none = NULL;
    v12n_error err = {0};
    assert_int_equal(cgroup_resources_parse(NULL, &none, &err), 0);
    assert_non_null(none);
    cgroup_resources_free(none);
}

static void parse_errors_name_the_field(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"[]", "linux.resources: expected an object"},
        {"{\"memory\": 1}", "linux.resources.memory: expected an object"},
        {"{\"memory\": {\"limit\": \"1g\"}}", "linux.resources.memory.limit: expected an integer"},
        {"{\"memory\": {\"swap\": 1.5}}", "linux.resources.memory.swap: expected an integer"},
        {"{\"memory\": {\"swappiness\": -1}}",
         "linux.resources.memory.swappiness: expected a non-negative integer"},
        {"{\"memory\": {\"swappiness\": 101}}",
         "linux.resources.memory.swappiness: expected 0 to 100"},
        {"{\"memory\": {\"disableOOMKiller\": 1}}",
         "linux.resources.memory.disableOOMKiller: expected a boolean"},
        {"{\"memory\": {\"checkBeforeUpdate\": \"yes\"}}",
         "linux.resources.memory.checkBeforeUpdate: expected a boolean"},
        {"{\"cpu\": {\"shares\": -2}}",
         "linux.resources.cpu.shares: expected a non-negative integer"},
        {"{\"cpu\": {\"quota\": \"max\"}}", "linux.resources.cpu.quota: expected an integer"},
        {"{\"cpu\": {\"cpus\": 3}}", "linux.resources.cpu.cpus: expected a string"},
        {"{\"cpu\": {\"idle\": true}}", "linux.resources.cpu.idle: expected an integer"},
        {"{\"pids\": {\"limit\": \"10\"}}", "linux.resources.pids.limit: expected an integer"},
        {"{\"blockIO\": {\"weight\": 5}}", "linux.resources.blockIO.weight: expected a weight"},
        {"{\"blockIO\": {\"weightDevice\": [{\"major\": 8}]}}",
         "linux.resources.blockIO.weightDevice[0].minor: required"},
        {"{\"blockIO\": {\"weightDevice\": [7]}}",
         "linux.resources.blockIO.weightDevice[0]: expected an object"},
        {"{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": "
         "\"1\"}]}}",
         "linux.resources.blockIO.throttleReadBpsDevice[0].rate: expected a non-negative integer"},
        {"{\"hugepageLimits\": [{\"pageSize\": \"2XB\", \"limit\": 1}]}",
         "linux.resources.hugepageLimits[0].pageSize: expected a size like"},
        {"{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": -1}]}",
         "linux.resources.hugepageLimits[0].limit: expected a non-negative integer"},
        {"{\"devices\": {}}", "linux.resources.devices: expected an array"},
        {"{\"devices\": [{\"access\": \"rwm\"}]}", "linux.resources.devices[0].allow: required"},
        {"{\"devices\": [{\"allow\": \"no\"}]}",
         "linux.resources.devices[0].allow: expected a boolean"},
        {"{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}", "linux.resources.devices[0].type:"},
        {"{\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}",
         "linux.resources.devices[0].access:"},
        {"{\"devices\": [{\"allow\": true, \"major\": \"1\"}]}",
         "linux.resources.devices[0].major: expected an integer"},
        {"{\"devices\": [{\"allow\": true, \"minor\": -2}]}", "linux.resources.devices[0].minor:"},
        {"{\"network\": {\"classID\": -1}}", "linux.resources.network.classID:"},
        {"{\"network\": {\"priorities\": [{\"name\": \"eth0\", \"priority\": \"1\"}]}}",
         "linux.resources.network.priorities[0].priority:"},
        {"{\"unified\": {\"memory.high\": 5}}",
         "linux.resources.unified.memory.high: expected a string"},
        {"{\"unified\": {\"../cgroup.procs\": \"1\"}}",
         "linux.resources.unified: invalid file name"},
        {"{\"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}}}", "linux.resources.rdma: not supported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_parse_error(cases[i][0], cases[i][1]);
}

/* ------------------------------------------------------------------------ */
/* Device rules                                                              */

static struct cg_device_state emulate(const struct cg_device_rule *rules, size_t n)
{
    struct cg_device_state st;
    v12n_error err = {0};
    assert_int_equal(cg_devices_emulate(rules, n, &st, &err), 0);
    return st;
}

static void device_rules_follow_v1_semantics(void **state)
{
    (void)state;
    const int64_t W = CG_DEV_WILDCARD;
    /* deny all, allow null rw, allow null m, allow pts. */
    struct cg_device_rule rules[] = {
        {false, 'a', W, W, CG_DEV_ALL},  {true, 'c', 1, 3, CG_DEV_READ | CG_DEV_WRITE},
        {true, 'c', 1, 3, CG_DEV_MKNOD}, {true, 'c', 136, W, CG_DEV_ALL},
        {true, 'c', 1, 5, CG_DEV_ALL},   {false, 'c', 1, 5, CG_DEV_WRITE}, /* narrows zero to rm */
    };
    struct cg_device_state st = emulate(rules, 6);
    assert_false(st.default_allow);
    assert_int_equal(st.n, 3);
    assert_int_equal(st.exceptions[0].access, CG_DEV_ALL); /* merged */
    assert_true(cg_devices_allowed(&st, 'c', 1, 3, CG_DEV_READ | CG_DEV_WRITE));
    assert_true(cg_devices_allowed(&st, 'c', 136, 7, CG_DEV_READ));
    assert_false(cg_devices_allowed(&st, 'b', 136, 7, CG_DEV_READ));
    assert_false(cg_devices_allowed(&st, 'c', 1, 11, CG_DEV_READ));
    assert_true(cg_devices_allowed(&st, 'c', 1, 5, CG_DEV_READ));
    assert_false(cg_devices_allowed(&st, 'c', 1, 5, CG_DEV_READ | CG_DEV_WRITE));
    cg_device_state_clear(&st);

    /* No "a" rule: everything allowed but what is denied; a denial bites
     * as soon as it overlaps the access asked for. */
    struct cg_device_rule deny_some[] = {
        {false, 'c', 1, 3, CG_DEV_WRITE},
        {false, 'b', W, W, CG_DEV_ALL},
        {true, 'b', W, W, CG_DEV_ALL}, /* and undone again */
    };
    st = emulate(deny_some, 3);
    assert_true(st.default_allow);
    assert_int_equal(st.n, 1);
    assert_true(cg_devices_allowed(&st, 'c', 1, 3, CG_DEV_READ));
    assert_false(cg_devices_allowed(&st, 'c', 1, 3, CG_DEV_READ | CG_DEV_WRITE));
    assert_true(cg_devices_allowed(&st, 'b', 8, 0, CG_DEV_ALL));
    cg_device_state_clear(&st);

    /* A later "a" wipes everything before it. */
    struct cg_device_rule reset[] = {
        {false, 'a', W, W, CG_DEV_ALL},
        {true, 'c', 1, 3, CG_DEV_ALL},
        {true, 'a', W, W, CG_DEV_ALL},
    };
    st = emulate(reset, 3);
    assert_true(st.default_allow);
    assert_int_equal(st.n, 0);
    cg_device_state_clear(&st);
}

static void device_rules_add_defaults_and_linux_devices(void **state)
{
    (void)state;
    struct cgroup_resources *res =
        parse_ok("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}");
    struct oci_device devs[] = {
        {.type = 'c', .path = "/dev/fuse", .major = 10, .minor = 229},
        {.type = 'p', .path = "/dev/fifo"},
        {.type = 'b', .path = "/dev/sda", .major = 8, .minor = 0},
    };
    struct cg_device_rule *rules = NULL;
    size_t n = 0;
    v12n_error err = {0};
    assert_int_equal(cg_device_rules(res, devs, 3, &rules, &n, &err), 0);
    assert_int_equal(rules[0].type, 'a'); /* the spec's rules come first */
    assert_int_equal(rules[n - 1].type, 'b');
    assert_int_equal(rules[n - 1].major, 8);
    struct cg_device_state st = emulate(rules, n);
    static const int64_t allowed[][2] = {{1, 3}, {1, 5}, {1, 7},   {5, 0}, {1, 8},
                                         {1, 9}, {5, 2}, {136, 4}, {5, 1}, {10, 229}};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        assert_true(cg_devices_allowed(&st, 'c', allowed[i][0], allowed[i][1], CG_DEV_ALL));
    assert_true(cg_devices_allowed(&st, 'b', 8, 0, CG_DEV_READ | CG_DEV_WRITE));
    assert_false(cg_devices_allowed(&st, 'c', 1, 11, CG_DEV_READ)); /* /dev/kmsg */
    assert_false(cg_devices_allowed(&st, 'b', 8, 1, CG_DEV_READ));
    assert_true(cg_devices_allowed(&st, 'b', 8, 1, CG_DEV_MKNOD)); /* runc allows mknod */
    cg_device_state_clear(&st);
    free(rules);
    cgroup_resources_free(res);

    /* A default the spec denies by number stays denied; a wildcard denial
     * does not take the defaults away. */
    res = parse_ok("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                   " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"minor\": 5},"
                   " {\"allow\": false, \"type\": \"c\", \"major\": 1, \"access\": \"rwm\"}]}");
    assert_int_equal(cg_device_rules(res, NULL, 0, &rules, &n, &err), 0);
    st = emulate(rules, n);
    assert_false(cg_devices_allowed(&st, 'c', 1, 5, CG_DEV_READ));
    assert_true(cg_devices_allowed(&st, 'c', 1, 3, CG_DEV_READ | CG_DEV_WRITE));
    assert_true(cg_devices_allowed(&st, 'c', 1, 9, CG_DEV_READ));
    cg_device_state_clear(&st);
    free(rules);
    cgroup_resources_free(res);
}

/* ------------------------------------------------------------------------ */
/* Mode and paths                                                            */

static void detects_this_hosts_hybrid_layout(void **state)
{
    (void)state;
    enum cgroup_mode mode;
    v12n_error err = {0};
    assert_int_equal(cgroup_detect_mode(ROOT, &mode, &err), 0);
    bool unified = v12n_path_exists(ROOT "/unified/cgroup.controllers");
    bool v2 = v12n_path_exists(ROOT "/cgroup.controllers");
    assert_int_equal(mode, v2 ? CGROUP_MODE_V2 : unified ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1);
    assert_string_equal(cgroup_mode_name(mode), v2 ? "v2" : unified ? "hybrid" : "v1");
    /* A directory that is no cgroup mount at all reads as (empty) v1. */
    assert_int_equal(cgroup_detect_mode("/proc", &mode, &err), 0);
    assert_int_equal(mode, CGROUP_MODE_V1);
    assert_int_equal(cgroup_detect_mode("/nonexistent-v12n", &mode, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-v12n"));
}

static void rejects_dot_dot_and_root_paths(void **state)
{
    (void)state;
    static const char *const bad[] = {"/v12n/../etc", "../x", "a/../../b", "/", "//./"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cgroup_create_args args = {.root = ROOT, .cgroups_path = bad[i], .id = "x"};
        struct cgroup *cg = NULL;
        v12n_error err = {0};
        assert_int_equal(cgroup_create(&args, &cg, &err), -1);
        assert_non_null(strstr(err.msg, "cgroupsPath"));
    }
    struct cgroup_create_args no_id = {.root = ROOT};
    struct cgroup *cg = NULL;
    v12n_error err = {0};
    assert_int_equal(cgroup_create(&no_id, &cg, &err), -1);
}

static void default_path_is_v12n_slash_id(void **state)
{
    (void)state;
    require_v1();
    char id[64];
    snprintf(id, sizeof id, "%s-default", unit_prefix);
    struct cgroup_create_args args = {.root = ROOT, .id = id};
    v12n_error err = {0};
    assert_int_equal(cgroup_create(&args, &g_cg, &err), 0);
    json_t *j = cgroup_to_json(g_cg);
    char want[128];
    snprintf(want, sizeof want, "/v12n/%s", id);
    assert_string_equal(json_string_value(json_object_get(j, "path")), want);
    snprintf(want, sizeof want, ROOT "/pids/v12n/%s", id);
    assert_string_equal(dir_in_state(j, "pids"), want);
    assert_true(v12n_path_exists(want));
    assert_int_equal(cgroup_destroy(g_cg, &err), 0);
    assert_all_dirs_gone(j);
    json_decref(j);
    cgroup_free(g_cg);
    g_cg = NULL;
}

/* runc: a relative cgroupsPath hangs under the runtime's own cgroup. */
static void relative_path_is_under_own_cgroup(void **state)
{
    (void)state;
    require_v1();
    char rel[96];
    snprintf(rel, sizeof rel, "%s-rel/leaf", unit_prefix);
    struct cgroup_create_args args = {.root = ROOT, .cgroups_path = rel, .id = "x"};
    v12n_error err = {0};
    assert_int_equal(cgroup_create(&args, &g_cg, &err), 0);
    json_t *j = cgroup_to_json(g_cg);
    /* Our own memory cgroup, from /proc/self/cgroup. */
    auto_free char *self = v12n_read_file("/proc/self/cgroup", NULL, &err);
    assert_non_null(self);
    char *line = strstr(self, ":memory:");
    assert_non_null(line);
    line += strlen(":memory:");
    line[strcspn(line, "\n")] = '\0';
    char want[512];
    snprintf(want, sizeof want, ROOT "/memory%s/%s", strcmp(line, "/") == 0 ? "" : line, rel);
    assert_string_equal(dir_in_state(j, "memory"), want);
    assert_true(v12n_path_exists(want));
    assert_int_equal(cgroup_destroy(g_cg, &err), 0);
    assert_all_dirs_gone(j);
    json_decref(j);
    cgroup_free(g_cg);
    g_cg = NULL;
}

/* ------------------------------------------------------------------------ */
/* Hybrid / v1, for real                                                     */

static void v1_limits_enter_freeze_signal_destroy(void **state)
{
    (void)state;
    require_v1();
    g_child = spawn_sleeper();
    assert_true(g_child > 0);
    g_cg = create_or_fail("life",
                          "{\"memory\": {\"limit\": 67108864},"
                          " \"pids\": {\"limit\": 20},"
                          " \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000},"
                          " \"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}",
                          g_child);
    json_t *j = cgroup_to_json(g_cg);
    const char *mem = dir_in_state(j, "memory");
    const char *pids = dir_in_state(j, "pids");
    const char *cpu = dir_in_state(j, "cpu");
    const char *devices = dir_in_state(j, "devices");
    const char *freezer = dir_in_state(j, "freezer");
    assert_non_null(mem);
    assert_non_null(pids);
    assert_non_null(cpu);
    assert_non_null(devices);
    assert_non_null(freezer);
    assert_true(file_equals(mem, "memory.limit_in_bytes", "67108864"));
    assert_true(file_equals(pids, "pids.max", "20"));
    assert_true(file_equals(cpu, "cpu.shares", "512"));
    assert_true(file_equals(cpu, "cpu.cfs_quota_us", "50000"));
    assert_true(file_equals(cpu, "cpu.cfs_period_us", "100000"));
    auto_free char *list = read_trimmed(devices, "devices.list");
    assert_non_null(list);
    assert_null(strstr(list, "a *:* rwm"));
    assert_non_null(strstr(list, "c 1:3 rwm"));
    assert_non_null(strstr(list, "c 136:* rwm"));
    assert_non_null(strstr(list, "c 5:1 rwm"));

    /* In every hierarchy, the unified one included. */
    json_t *dirs = json_object_get(j, "dirs");
    for (size_t i = 0; i < json_array_size(dirs); i++) {
        const char *p = json_string_value(json_object_get(json_array_get(dirs, i), "path"));
        if (!procs_contain(p, g_child))
            fail_msg("pid %d not in %s", (int)g_child, p);
    }
    pid_t *listed = NULL;
    size_t n = 0;
    v12n_error err = {0};
    assert_int_equal(cgroup_pids(g_cg, &listed, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(listed[0], g_child);
    free(listed);

    assert_int_equal(cgroup_freeze(g_cg, true, &err), 0);
    assert_true(file_equals(freezer, "freezer.state", "FROZEN"));
    assert_int_equal(cgroup_freeze(g_cg, false, &err), 0);
    assert_true(file_equals(freezer, "freezer.state", "THAWED"));

    /* Later commands work from the persisted state. */
    struct cgroup *loaded = NULL;
    assert_int_equal(cgroup_from_json(j, &loaded, &err), 0);
    bool oom = true;
    assert_int_equal(cgroup_oom_killed(loaded, &oom, &err), 0);
    assert_false(oom);
    assert_int_equal(cgroup_signal_all(loaded, SIGKILL, &err), 0);
    reap_killed(g_child);
    g_child = -1;
    assert_true(file_equals(freezer, "freezer.state", "THAWED"));
    assert_int_equal(cgroup_destroy(loaded, &err), 0);
    assert_all_dirs_gone(j);
    /* Idempotent: delete --force on what is already gone. */
    assert_int_equal(cgroup_destroy(loaded, &err), 0);
    cgroup_free(loaded);
    json_decref(j);
    cgroup_free(g_cg);
    g_cg = NULL;
}

static void v1_update_moves_limits_both_ways(void **state)
{
    (void)state;
    require_v1();
    g_cg = create_or_fail("update", "{\"memory\": {\"limit\": 67108864, \"swap\": 67108864}}", 0);
    json_t *j = cgroup_to_json(g_cg);
    const char *mem = dir_in_state(j, "memory");
    bool memsw = cg_has_file(mem, "memory.memsw.limit_in_bytes");
    if (memsw)
        assert_true(file_equals(mem, "memory.memsw.limit_in_bytes", "67108864"));
    /* Up: memsw must move first; down: memory must. */
    static const char *const steps[][2] = {
        {"{\"memory\": {\"limit\": 134217728, \"swap\": 268435456}, \"pids\": {\"limit\": -1}}",
         "134217728"},
        {"{\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}", "33554432"},
    };
    for (size_t i = 0; i < 2; i++) {
        struct cgroup_resources *res = parse_ok(steps[i][0]);
        v12n_error err = {0};
        if (cgroup_update(g_cg, res, &err) < 0)
            fail_msg("update %zu: %s", i, err.msg);
        cgroup_resources_free(res);
        assert_true(file_equals(mem, "memory.limit_in_bytes", steps[i][1]));
    }
    assert_true(file_equals(dir_in_state(j, "pids"), "pids.max", "max"));
    json_decref(j);
}

static int probe_devices(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 10;
    close(fd);
    fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 11;
    close(fd);
    fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        return 12;
    return errno == EPERM ? 0 : 13;
}

static void v1_devices_deny_what_is_not_allowed(void **state)
{
    (void)state;
    require_v1();
    int release = -1;
    g_child = spawn_parked(probe_devices, &release);
    assert_true(g_child > 0);
    g_cg = create_or_fail("devices", "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}",
                          g_child);
    int status = release_and_wait(g_child, release);
    g_child = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int allocate_200_mib(void)
{
    size_t size = 200 * MiB;
    volatile char *p = malloc(size);
    if (p == NULL)
        return 20;
    for (size_t i = 0; i < size; i += 4096)
        p[i] = 1;
    return 21; /* should have been killed */
}

static void v1_memory_limit_oom_kills(void **state)
{
    (void)state;
    require_v1();
    int release = -1;
    g_child = spawn_parked(allocate_200_mib, &release);
    assert_true(g_child > 0);
    g_cg =
        create_or_fail("oom", "{\"memory\": {\"limit\": 33554432, \"swap\": 33554432}}", g_child);
    int status = release_and_wait(g_child, release);
    g_child = -1;
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    bool oom = false;
    v12n_error err = {0};
    assert_int_equal(cgroup_oom_killed(g_cg, &oom, &err), 0);
    assert_true(oom);
}

static void refuses_a_leaf_that_holds_processes(void **state)
{
    (void)state;
    require_v1();
    g_child = spawn_sleeper();
    g_cg = create_or_fail("shared", NULL, g_child);
    auto_free char *path = unit_path("shared");
    struct cgroup_create_args args = {.root = ROOT, .cgroups_path = path, .id = "x"};
    struct cgroup *second = NULL;
    v12n_error err = {0};
    assert_int_equal(cgroup_create(&args, &second, &err), -1);
    assert_non_null(strstr(err.msg, "not empty"));
    /* The first container's cgroup is untouched. */
    json_t *j = cgroup_to_json(g_cg);
    assert_true(procs_contain(dir_in_state(j, "memory"), g_child));
    json_decref(j);
}

static void failed_create_leaves_nothing(void **state)
{
    (void)state;
    require_v1();
    static const char *const cases[][2] = {
        {"{\"unified\": {\"memory.high\": \"1000000\"}}", "memory controller not available"},
        {"{\"network\": {\"classID\": 1}}", "net_cls controller not mounted"},
        {"{\"memory\": {\"swappiness\": 10}, \"cpu\": {\"cpus\": \"999\"}}", "cpuset.cpus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        g_child = spawn_sleeper();
        /* A parent of its own: the run's shared parent outlives a destroy. */
        auto_free char *path = unit_path("failing-parent/failing");
        struct cgroup_resources *res = parse_ok(cases[i][0]);
        struct cgroup_create_args args = {
            .root = ROOT, .cgroups_path = path, .id = "x", .resources = res, .pid = g_child};
        struct cgroup *cg = NULL;
        v12n_error err = {0};
        assert_int_equal(cgroup_create(&args, &cg, &err), -1);
        cgroup_resources_free(res);
        if (strstr(err.msg, cases[i][1]) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i][1]);
        char dir[512];
        snprintf(dir, sizeof dir, ROOT "/memory/%s/failing-parent", unit_prefix);
        assert_false(v12n_path_exists(dir));
        snprintf(dir, sizeof dir, ROOT "/unified/%s/failing-parent", unit_prefix);
        assert_false(v12n_path_exists(dir));
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = -1;
    }
}

/* hugetlb is not bound to v1 here: the unified hierarchy takes the limit. */
static void hybrid_hugetlb_goes_to_unified(void **state)
{
    (void)state;
    require_v1();
    v12n_error err = {0};
    auto_free char *avail = read_trimmed(ROOT "/unified", "cgroup.controllers");
    if (v12n_path_exists(ROOT "/hugetlb") || avail == NULL || !cg_word_in_list(avail, "hugetlb") ||
        !v12n_path_exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
        skip();
    auto_free char *before = read_trimmed(ROOT "/unified", "cgroup.subtree_control");
    assert_non_null(before);
    g_disable_unified_hugetlb = !cg_word_in_list(before, "hugetlb");
    g_cg = create_or_fail("huge",
                          "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}", 0);
    json_t *j = cgroup_to_json(g_cg);
    const char *u = dir_in_state(j, "");
    assert_true(file_equals(u, "hugetlb.2MB.max", "4194304"));
    assert_int_equal(cgroup_destroy(g_cg, &err), 0);
    cgroup_free(g_cg);
    g_cg = NULL;
    assert_all_dirs_gone(j);
    json_decref(j);
}

/* ------------------------------------------------------------------------ */
/* v2 on a private cgroup2 mount                                             */

static int child_failed_line;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "v2 child: %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            child_failed_line = __LINE__;                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            fprintf(stderr, "v2 child: %s:%d: %s\n", __FILE__, __LINE__, err.msg);                 \
            child_failed_line = __LINE__;                                                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static struct cgroup *v2_cg;
static pid_t v2_grandchild = -1;

static void v2_cleanup(void)
{
    if (v2_grandchild > 0) {
        kill(v2_grandchild, SIGKILL);
        waitpid(v2_grandchild, NULL, 0);
        v2_grandchild = -1;
    }
    if (v2_cg != NULL) {
        v12n_error ignored = {0};
        cgroup_destroy(v2_cg, &ignored);
        cgroup_free(v2_cg);
        v2_cg = NULL;
    }
}

static int v2_create(const char *root, const char *leaf, const char *resources, pid_t pid,
                     struct cgroup **out, v12n_error *err)
{
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", unit_prefix, leaf);
    struct cgroup_resources *res = NULL;
    if (resources != NULL) {
        json_t *j = json_loads(resources, 0, NULL);
        int rc = cgroup_resources_parse(j, &res, err);
        json_decref(j);
        if (rc < 0)
            return -1;
    }
    struct cgroup_create_args args = {
        .root = root, .cgroups_path = path, .id = "x", .resources = res, .pid = pid};
    int rc = cgroup_create(&args, out, err);
    cgroup_resources_free(res);
    return rc;
}

static int v2_lifecycle(const char *root)
{
    v12n_error err = {0};
    enum cgroup_mode mode;
    CHECK_OK(cgroup_detect_mode(root, &mode, &err));
    CHECK(mode == CGROUP_MODE_V2);

    v2_grandchild = spawn_sleeper();
    CHECK(v2_grandchild > 0);
    CHECK_OK(v2_create(root, "life", NULL, v2_grandchild, &v2_cg, &err));
    json_t *j = cgroup_to_json(v2_cg);
    CHECK(json_array_size(json_object_get(j, "dirs")) == 1);
    CHECK(strcmp(json_string_value(json_object_get(j, "mode")), "v2") == 0);
    const char *dir = dir_in_state(j, "");
    CHECK(dir != NULL && procs_contain(dir, v2_grandchild));
    pid_t *pids = NULL;
    size_t n = 0;
    CHECK_OK(cgroup_pids(v2_cg, &pids, &n, &err));
    CHECK(n == 1 && pids[0] == v2_grandchild);
    free(pids);

    CHECK_OK(cgroup_freeze(v2_cg, true, &err));
    uint64_t frozen = 0;
    bool found = false;
    CHECK_OK(cg_read_keyed(dir, "cgroup.events", "frozen", &frozen, &found, &err));
    CHECK(found && frozen == 1);
    CHECK_OK(cgroup_freeze(v2_cg, false, &err));
    CHECK_OK(cg_read_keyed(dir, "cgroup.events", "frozen", &frozen, &found, &err));
    CHECK(frozen == 0);

    bool oom = true;
    CHECK_OK(cgroup_oom_killed(v2_cg, &oom, &err));
    CHECK(!oom);
    CHECK_OK(cgroup_signal_all(v2_cg, SIGKILL, &err));
    int status = 0;
    CHECK(waitpid(v2_grandchild, &status, 0) == v2_grandchild);
    v2_grandchild = -1;
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK_OK(cgroup_destroy(v2_cg, &err));
    cgroup_free(v2_cg);
    v2_cg = NULL;
    CHECK(!v12n_path_exists(dir));
    json_decref(j);
    return 0;
}

/* The memory controller is bound to v1 on this host: asking for a limit
 * must fail and say so, never pass silently. */
static int v2_unavailable_controller_fails(const char *root)
{
    v12n_error err = {0};
    auto_free char *avail = read_trimmed(root, "cgroup.controllers");
    CHECK(avail != NULL);
    if (cg_word_in_list(avail, "memory"))
        return 0; /* a pure v2 host: nothing to check here */
    struct cgroup *cg = NULL;
    CHECK(v2_create(root, "nomem-parent/nomem", "{\"memory\": {\"limit\": 67108864}}", 0, &cg,
                    &err) < 0);
    char want[512];
    snprintf(
        want, sizeof want,
        "cgroup %s/%s/nomem-parent/nomem: memory controller not available (cgroup.controllers: %s)",
        root, unit_prefix, avail[0] ? avail : "none");
    if (strcmp(err.msg, want) != 0)
        fprintf(stderr, "got  \"%s\"\nwant \"%s\"\n", err.msg, want);
    CHECK(strcmp(err.msg, want) == 0);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s/nomem-parent", root, unit_prefix);
    CHECK(!v12n_path_exists(dir));
    return 0;
}

static int v2_devices_program(const char *root)
{
    v12n_error err = {0};
    int release = -1;
    v2_grandchild = spawn_parked(probe_devices, &release);
    CHECK(v2_grandchild > 0);
    CHECK_OK(v2_create(root, "devices", "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}",
                       v2_grandchild, &v2_cg, &err));
    int status = release_and_wait(v2_grandchild, release);
    v2_grandchild = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "device probe status %#x\n", status);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(cgroup_destroy(v2_cg, &err));
    cgroup_free(v2_cg);
    v2_cg = NULL;
    return 0;
}

/* 0 when opening path with flags gives what is expected (0 or an errno). */
static int open_gives(const char *path, int flags, int expected)
{
    int fd = open(path, flags | O_CLOEXEC);
    int got = fd >= 0 ? 0 : errno;
    if (fd >= 0)
        close(fd);
    if (got != expected)
        fprintf(stderr, "open %s %#x: %s, expected %s\n", path, flags, strerror(got),
                strerror(expected));
    return got == expected ? 0 : 1;
}

/* deny all; allow null; allow random read-only. */
static int probe_deny_default(void)
{
    return open_gives("/dev/null", O_RDWR, 0) | open_gives("/dev/zero", O_RDONLY, EPERM) |
           open_gives("/dev/random", O_RDONLY, 0) | open_gives("/dev/random", O_RDWR, EPERM) |
           open_gives("/dev/random", O_WRONLY, EPERM);
}

/* allow all; deny writing zero; deny full. */
static int probe_allow_default(void)
{
    return open_gives("/dev/null", O_RDWR, 0) | open_gives("/dev/zero", O_RDONLY, 0) |
           open_gives("/dev/zero", O_RDWR, EPERM) | open_gives("/dev/full", O_RDONLY, EPERM);
}

/* The program alone, without the runtime's default devices. */
static int bpf_case(const char *root, const struct cg_device_rule *rules, size_t n_rules,
                    child_fn probe)
{
    v12n_error err = {0};
    int release = -1;
    v2_grandchild = spawn_parked(probe, &release);
    CHECK(v2_grandchild > 0);
    CHECK_OK(v2_create(root, "bpf", NULL, 0, &v2_cg, &err));
    json_t *j = cgroup_to_json(v2_cg);
    const char *dir = dir_in_state(j, "");
    struct cg_device_state st;
    CHECK_OK(cg_devices_emulate(rules, n_rules, &st, &err));
    struct bpf_insn *insns = NULL;
    size_t n = 0;
    CHECK_OK(cg_bpf_devices_program(&st, &insns, &n, &err));
    CHECK(n > 6 && insns[n - 1].code == (BPF_JMP | BPF_EXIT));
    free(insns);
    CHECK_OK(cg_bpf_devices_attach(dir, &st, &err));
    cg_device_state_clear(&st);
    CHECK_OK(cgroup_enter(v2_cg, v2_grandchild, &err));
    int status = release_and_wait(v2_grandchild, release);
    v2_grandchild = -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(cgroup_destroy(v2_cg, &err));
    cgroup_free(v2_cg);
    v2_cg = NULL;
    CHECK(!v12n_path_exists(dir));
    json_decref(j);
    return 0;
}

static int v2_bpf_program_alone(const char *root)
{
    const int64_t W = CG_DEV_WILDCARD;
    const struct cg_device_rule deny_default[] = {
        {false, 'a', W, W, CG_DEV_ALL},
        {true, 'c', 1, 3, CG_DEV_ALL},
        {true, 'c', 1, 8, CG_DEV_READ},
    };
    const struct cg_device_rule allow_default[] = {
        {false, 'c', 1, 5, CG_DEV_WRITE},
        {false, 'c', 1, 7, CG_DEV_ALL},
    };
    if (bpf_case(root, deny_default, 3, probe_deny_default) < 0 ||
        bpf_case(root, allow_default, 2, probe_allow_default) < 0)
        return -1;
    return 0;
}

typedef int (*v2_case)(const char *root);

/* In a child: private mount namespace, cgroup2 on a temp dir. */
static int run_v2_case(v2_case fn)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("v2 child: unshare/mount");
        return 2;
    }
    char root[] = "/tmp/v12n-cg2-XXXXXX";
    if (mkdtemp(root) == NULL || mount("cgroup2", root, "cgroup2", 0, NULL) < 0) {
        perror("v2 child: mount cgroup2");
        return 3;
    }
    int rc = fn(root);
    v2_cleanup();
    umount2(root, MNT_DETACH);
    rmdir(root);
    return rc == 0 ? 0 : 1;
}

static void in_v2_child(v2_case fn)
{
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(run_v2_case(fn));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void v2_create_enter_freeze_kill_destroy(void **state)
{
    (void)state;
    in_v2_child(v2_lifecycle);
}

static void v2_missing_controller_is_an_error(void **state)
{
    (void)state;
    in_v2_child(v2_unavailable_controller_fails);
}

static void v2_device_rules_via_bpf(void **state)
{
    (void)state;
    in_v2_child(v2_devices_program);
}

static void v2_bpf_denies_zero_allows_null(void **state)
{
    (void)state;
    in_v2_child(v2_bpf_program_alone);
}

/* ------------------------------------------------------------------------ */

static void state_round_trips(void **state)
{
    (void)state;
    json_t *j = json_of(
        "{\"mode\": \"hybrid\", \"root\": \"/sys/fs/cgroup\", \"path\": \"/v12n/a\","
        " \"dirs\": [{\"controllers\": \"cpu,cpuacct\", \"mount\": \"/sys/fs/cgroup/cpu,cpuacct\","
        "   \"path\": \"/sys/fs/cgroup/cpu,cpuacct/v12n/a\", \"created\": null},"
        "  {\"controllers\": \"\", \"mount\": \"/sys/fs/cgroup/unified\","
        "   \"path\": \"/sys/fs/cgroup/unified/v12n/a\","
        "   \"created\": \"/sys/fs/cgroup/unified/v12n\"}]}");
    struct cgroup *cg = NULL;
    v12n_error err = {0};
    assert_int_equal(cgroup_from_json(j, &cg, &err), 0);
    assert_int_equal(cg->mode, CGROUP_MODE_HYBRID);
    assert_non_null(cg_v1_dir(cg, "cpuacct"));
    assert_null(cg_v1_dir(cg, "cpuset"));
    assert_string_equal(cg_unified_dir(cg)->created_top, "/sys/fs/cgroup/unified/v12n");
    json_t *back = cgroup_to_json(cg);
    assert_true(json_equal(j, back));
    json_decref(back);
    cgroup_free(cg);
    json_decref(j);

    j = json_of("{\"mode\": \"v3\", \"root\": \"/\", \"path\": \"/a\", \"dirs\": []}");
    assert_int_equal(cgroup_from_json(j, &cg, &err), -1);
    assert_non_null(strstr(err.msg, "cgroup.mode"));
    json_decref(j);
}

/* Nothing named after this run is left in any hierarchy.  The tests' shared
 * parent is kept by destroy (as /v12n is); it must be empty. */
static void no_leftovers(void **state)
{
    (void)state;
    auto_closedir DIR *root = opendir(ROOT);
    assert_non_null(root);
    struct dirent *e;
    while ((e = readdir(root)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, ROOT "/%s/%s", e->d_name, unit_prefix);
        if (rmdir(path) < 0 && errno != ENOENT && errno != ENOTDIR)
            fail_msg("%s: %s", path, strerror(errno));
        snprintf(path, sizeof path, ROOT "/%s", e->d_name);
        auto_closedir DIR *h = opendir(path);
        if (h == NULL)
            continue;
        struct dirent *c;
        while ((c = readdir(h)) != NULL) {
            if (strncmp(c->d_name, unit_prefix, strlen(unit_prefix)) == 0)
                fail_msg("left behind: %s/%s", path, c->d_name);
        }
        snprintf(path, sizeof path, ROOT "/%s/v12n/%s-default", e->d_name, unit_prefix);
        assert_false(v12n_path_exists(path));
    }
}

int main(void)
{
    snprintf(unit_prefix, sizeof unit_prefix, "v12n-unit-%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_full_example),
        cmocka_unit_test(parse_errors_name_the_field),
        cmocka_unit_test(device_rules_follow_v1_semantics),
        cmocka_unit_test(device_rules_add_defaults_and_linux_devices),
        cmocka_unit_test(state_round_trips),
        cmocka_unit_test(detects_this_hosts_hybrid_layout),
        cmocka_unit_test(rejects_dot_dot_and_root_paths),
        cmocka_unit_test_teardown(default_path_is_v12n_slash_id, cleanup_cgroup),
        cmocka_unit_test_teardown(relative_path_is_under_own_cgroup, cleanup_cgroup),
        cmocka_unit_test_teardown(v1_limits_enter_freeze_signal_destroy, cleanup_cgroup),
        cmocka_unit_test_teardown(v1_update_moves_limits_both_ways, cleanup_cgroup),
        cmocka_unit_test_teardown(v1_devices_deny_what_is_not_allowed, cleanup_cgroup),
        cmocka_unit_test_teardown(v1_memory_limit_oom_kills, cleanup_cgroup),
        cmocka_unit_test_teardown(refuses_a_leaf_that_holds_processes, cleanup_cgroup),
        cmocka_unit_test_teardown(failed_create_leaves_nothing, cleanup_cgroup),
        cmocka_unit_test_teardown(hybrid_hugetlb_goes_to_unified, cleanup_cgroup),
        cmocka_unit_test(v2_create_enter_freeze_kill_destroy),
        cmocka_unit_test(v2_missing_controller_is_an_error),
        cmocka_unit_test(v2_device_rules_via_bpf),
        cmocka_unit_test(v2_bpf_denies_zero_allows_null),
        cmocka_unit_test(no_leftovers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
