/* The bundle for real: an overlay of three layer directories and an upper
 * one, the generated /etc files, the config built from an image config, run
 * by `v12n oci run` (busybox from Debian's busybox-static).  Inside, the
 * container must see the layers in order, hold exactly Docker's capability
 * set, chroot allowed, memory+swap at twice --memory, and have
 * unshare(CLONE_NEWUSER) refused -- which the same config
 * without linux.seccomp allows, so the refusal is the profile's doing.
 * Needs root, /bin/busybox and $V12N (set by meson); skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/fs.h"
#include "util/json.h"

#define BUSYBOX "/bin/busybox"

/* Docker's 14 default capabilities as the kernel shows them. */
#define DOCKER_CAP_MASK "00000000a80425fb"

static char dir[64];

static void path_of(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", dir, rel);
}

static void mkdirs(const char *rel)
{
    char p[256];
    path_of(p, sizeof p, rel);
    v12n_error err;
    if (v12n_mkdir_p(p, 0755, &err) < 0)
        fail_msg("mkdir %s: %s", p, err.msg);
}

static void put(const char *rel, const char *text)
{
    char p[256];
    path_of(p, sizeof p, rel);
    v12n_error err;
    if (v12n_write_file_atomic(p, text, strlen(text), 0644, &err) < 0)
        fail_msg("%s", err.msg);
}

static void copy_busybox(const char *rel)
{
    size_t len;
    v12n_error err;
    char *data = v12n_read_file(BUSYBOX, &len, &err);
    assert_non_null(data);
    char p[256];
    path_of(p, sizeof p, rel);
    assert_int_equal(v12n_write_file_atomic(p, data, len, 0755, &err), 0);
    free(data);
}

/* Three layers: the base with busybox, one with accounts, one that
 * overrides a file of the base. */
static void make_layers(void)
{
    static const char *const dirs[] = {"l1/bin", "l1/etc", "l1/proc", "l1/sys", "l1/dev",
                                       "l1/tmp", "l2/etc", "l3/etc",  "upper",  "work",
                                       "merged", "etc",    "bundle",  "state"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        mkdirs(dirs[i]);
    copy_busybox("l1/bin/busybox");
    char p[256];
    path_of(p, sizeof p, "l1/bin/sh");
    assert_int_equal(symlink("busybox", p), 0);
    put("l1/etc/motd", "from layer one\n");
    put("l2/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    put("l2/etc/group", "root:x:0:\n");
    put("l3/etc/motd", "from layer three\n");
    put("l3/marker", "3\n");
}

static const char SCRIPT[] = "busybox cat /etc/motd; busybox cat /marker;"
                             "busybox grep -E '^Cap(Eff|Bnd):' /proc/self/status;"
                             "busybox hostname;"
                             "if busybox unshare -U busybox true 2>/dev/null; then echo unshare-ok;"
                             "else echo unshare-denied; fi;"
                             "busybox chroot / busybox true && echo chroot-ok;"
                             "echo memsw=$(busybox cat "
                             "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null);"
                             "echo written > /written";

/* `v12n oci --root state run --bundle bundle id`; its stdout into out. */
static int run_bundle(const char *id, char *out, size_t out_len)
{
    const char *v12n = getenv("V12N");
    char state[128], bundle[128];
    path_of(state, sizeof state, "state");
    path_of(bundle, sizeof bundle, "bundle");
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        execl(v12n, v12n, "oci", "--root", state, "run", "--bundle", bundle, id, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < out_len && (n = read(fds[0], out + used, out_len - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void write_config(json_t *config)
{
    char p[256];
    path_of(p, sizeof p, "bundle/config.json");
    assert_int_equal(json_dump_file(config, p, JSON_INDENT(1)), 0);
}

static void overlay_spec_run(void **state)
{
    if (geteuid() != 0 || access(BUSYBOX, X_OK) != 0 || getenv("V12N") == NULL)
        skip();
    make_layers();
    char l1[128], l2[128], l3[128], upper[128], work[128], merged[128], etc[128];
    path_of(l1, sizeof l1, "l1");
    path_of(l2, sizeof l2, "l2");
    path_of(l3, sizeof l3, "l3");
    path_of(upper, sizeof upper, "upper");
    path_of(work, sizeof work, "work");
    path_of(merged, sizeof merged, "merged");
    path_of(etc, sizeof etc, "etc");
    const char *const lowers[] = {l3, l2, l1}; /* top first */
    v12n_error err = {0};
    if (engine_rootfs_mount(lowers, 3, upper, work, merged, false, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(engine_etc_files_write(etc, "engtest", ENGINE_NET_NONE, &err), 0);

    struct engine_run_opts opts;
    engine_run_opts_init(&opts);
    opts.hostname = strdup("engtest");
    opts.memory = 64 << 20;
    assert_int_equal(engine_opt_env(&opts, "FROM_CLI=1", &err), 0);
    struct engine_bundle_paths paths = {.rootfs = merged, .etc_dir = etc};
    json_t *image = json_pack("{s:{s:[s,s,s],s:[s]}}", "config", "Entrypoint", "/bin/sh", "-c",
                              SCRIPT, "Env", "PATH=/bin");
    json_t *config = NULL;
    if (engine_spec_build(image, &opts, &paths, &config, &err) < 0)
        fail_msg("%s", err.msg);
    json_decref(image);

    char out[4096];
    char id[64];
    snprintf(id, sizeof id, "engine-spec-%d", (int)getpid());
    write_config(config);
    int rc = run_bundle(id, out, sizeof out);
    print_message("container output:\n%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "from layer three\n"));
    assert_null(strstr(out, "from layer one"));
    assert_non_null(strstr(out, "3\n"));
    assert_non_null(strstr(out, "CapEff:\t" DOCKER_CAP_MASK "\n"));
    assert_non_null(strstr(out, "CapBnd:\t" DOCKER_CAP_MASK "\n"));
    assert_non_null(strstr(out, "engtest\n"));
    assert_non_null(strstr(out, "unshare-denied\n"));
    assert_non_null(strstr(out, "chroot-ok\n")); /* allowed: CAP_SYS_CHROOT is a default */
    /* Docker's default swap: memory+swap = 2x --memory, where the host has memsw. */
    if (engine_swap_limit_supported("/sys/fs/cgroup") && access("/sys/fs/cgroup/memory", F_OK) == 0)
        assert_non_null(strstr(out, "memsw=134217728\n"));
    /* Writes land in the upper directory, not in a layer. */
    char written[160];
    path_of(written, sizeof written, "upper/written");
    assert_true(v12n_path_exists(written));
    path_of(written, sizeof written, "l1/written");
    assert_false(v12n_path_exists(written));

    /* The control: the same config without the profile lets unshare through. */
    json_object_del(json_object_get(config, "linux"), "seccomp");
    write_config(config);
    rc = run_bundle(id, out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "unshare-ok\n"));

    json_decref(config);
    engine_run_opts_free(&opts);
    assert_int_equal(engine_rootfs_umount(merged, &err), 0);
}

/* 120 layers with long paths: 12 KB of lowerdir, three times what one
 * mount(2) option page holds, so only the per-layer lowerdir+ can mount it.
 * The bottom layer's file shows through; the top one's wins. */
static void many_layers(void **state)
{
    if (geteuid() != 0)
        skip();
    enum { N = 120 };
    static char names[N][160];
    const char *lowers[N];
    for (int i = 0; i < N; i++) {
        char rel[128];
        snprintf(rel, sizeof rel,
                 "layers/%03d-a-rather-long-directory-name-as-a-content-store-would-"
                 "make-it/diff",
                 i);
        mkdirs(rel);
        path_of(names[i], sizeof names[i], rel);
        lowers[i] = names[i];
    }
    char file[200];
    snprintf(file, sizeof file, "%s/bottom", names[N - 1]);
    assert_int_equal(v12n_write_file(file, "b", 1, &(v12n_error){0}), 0);
    snprintf(file, sizeof file, "%s/which", names[N - 1]);
    assert_int_equal(v12n_write_file(file, "bottom", 6, &(v12n_error){0}), 0);
    snprintf(file, sizeof file, "%s/which", names[0]);
    assert_int_equal(v12n_write_file(file, "top", 3, &(v12n_error){0}), 0);
    mkdirs("upper");
    mkdirs("work");
    mkdirs("merged");
    char upper[128], work[128], merged[128];
    path_of(upper, sizeof upper, "upper");
    path_of(work, sizeof work, "work");
    path_of(merged, sizeof merged, "merged");
    v12n_error err = {0};
    if (engine_rootfs_mount(lowers, N, upper, work, merged, false, &err) < 0)
        fail_msg("%s", err.msg);
    snprintf(file, sizeof file, "%s/bottom", merged);
    assert_true(v12n_path_exists(file));
    snprintf(file, sizeof file, "%s/which", merged);
    char *which = v12n_read_file(file, NULL, &err);
    assert_string_equal(which, "top");
    free(which);
    assert_int_equal(engine_rootfs_umount(merged, &err), 0);
    assert_false(v12n_path_exists(file));

    assert_int_equal(engine_rootfs_mount(lowers, 0, upper, work, merged, false, &err), -1);
    assert_non_null(strstr(err.msg, "no layers"));
    const char *missing[] = {"/nonexistent/layer"};
    assert_int_equal(engine_rootfs_mount(missing, 1, upper, work, merged, false, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/layer"));
}

/* The fallback for kernels before 6.8: one mount(2), as long as it fits. */
static void legacy_mount(void **state)
{
    if (geteuid() != 0)
        skip();
    static const char *const rels[] = {"a", "b", "c", "upper", "work", "merged", "x:y"};
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++)
        mkdirs(rels[i]);
    put("c/f", "from c");
    put("a/f", "from a");
    char a[128], b[128], c[128], upper[128], work[128], merged[128], colon[128];
    path_of(a, sizeof a, "a");
    path_of(b, sizeof b, "b");
    path_of(c, sizeof c, "c");
    path_of(upper, sizeof upper, "upper");
    path_of(work, sizeof work, "work");
    path_of(merged, sizeof merged, "merged");
    path_of(colon, sizeof colon, "x:y");
    v12n_error err = {0};
    const char *const lowers[] = {a, b, c};
    if (engine_overlay_mount_legacy(lowers, 3, upper, work, merged, false, &err) < 0)
        fail_msg("%s", err.msg);
    char file[160];
    path_of(file, sizeof file, "merged/f");
    char *text = v12n_read_file(file, NULL, &err);
    assert_string_equal(text, "from a");
    free(text);
    assert_int_equal(engine_rootfs_umount(merged, &err), 0);

    /* A ':' would split the layer list: refused, not misread. */
    const char *const bad[] = {colon, c};
    assert_int_equal(engine_overlay_mount_legacy(bad, 2, upper, work, merged, false, &err), -1);
    assert_non_null(strstr(err.msg, "x:y"));
    /* Too many layers for one page: a clear error. */
    const char *many[64];
    const char *const *many_ro = many;
    static char long_path[300]; /* 64 x 300 bytes: never mounted, the length check comes first */
    memset(long_path, 'l', sizeof long_path - 1);
    long_path[0] = '/';
    for (size_t i = 0; i < 64; i++)
        many[i] = long_path;
    assert_int_equal(engine_overlay_mount_legacy(many_ro, 64, upper, work, merged, false, &err),
                     -1);
    assert_int_equal(err.errnum, E2BIG);
    assert_non_null(strstr(err.msg, "layers"));
}

/* The mount options of the mount at path, from /proc/self/mountinfo. */
static bool mount_has_option(const char *path, const char *option)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    assert_non_null(f);
    char line[4096];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        char point[1024];
        if (sscanf(line, "%*s %*s %*s %*s %1023s", point) == 1 && strcmp(point, path) == 0)
            found = strstr(line, option) != NULL;
    }
    fclose(f);
    return found;
}

/* An ephemeral upper (--rm) is volatile, and mounts again although the
 * kernel leaves a mark in its work directory that forbids that. */
static void ephemeral_mount(void **state)
{
    if (geteuid() != 0)
        skip();
    static const char *const rels[] = {"a", "upper", "work", "merged"};
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++)
        mkdirs(rels[i]);
    put("a/f", "from a");
    char a[128], upper[128], work[128], merged[128], mark[160];
    path_of(a, sizeof a, "a");
    path_of(upper, sizeof upper, "upper");
    path_of(work, sizeof work, "work");
    path_of(merged, sizeof merged, "merged");
    path_of(mark, sizeof mark, "work/work/incompat/volatile");
    const char *const lowers[] = {a};
    v12n_error err = {0};
    for (int round = 0; round < 2; round++) {
        if (engine_rootfs_mount(lowers, 1, upper, work, merged, true, &err) < 0)
            fail_msg("round %d: %s", round, err.msg);
        assert_true(mount_has_option(merged, "volatile"));
        assert_int_equal(engine_rootfs_umount(merged, &err), 0);
        assert_true(v12n_path_exists(mark));
    }
    /* without the mark cleared, the kernel refuses the work directory */
    assert_int_equal(engine_overlay_mount_legacy(lowers, 1, upper, work, merged, true, &err), -1);
    path_of(mark, sizeof mark, "work/work/incompat");
    assert_int_equal(v12n_rm_rf(mark, &err), 0);
    if (engine_overlay_mount_legacy(lowers, 1, upper, work, merged, true, &err) < 0)
        fail_msg("legacy: %s", err.msg);
    assert_true(mount_has_option(merged, "volatile"));
    assert_int_equal(engine_rootfs_umount(merged, &err), 0);
    /* a kept container's upper is not volatile */
    mkdirs("work2");
    path_of(work, sizeof work, "work2");
    if (engine_rootfs_mount(lowers, 1, upper, work, merged, false, &err) < 0)
        fail_msg("%s", err.msg);
    assert_false(mount_has_option(merged, "volatile"));
    assert_int_equal(engine_rootfs_umount(merged, &err), 0);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/v12n-test-runXXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char merged[128];
    path_of(merged, sizeof merged, "merged");
    umount2(merged, MNT_DETACH); /* after a failed assertion; else not mounted */
    v12n_error err;
    return v12n_rm_rf(dir, &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(overlay_spec_run, setup, teardown),
        cmocka_unit_test_setup_teardown(many_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(ephemeral_mount, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
