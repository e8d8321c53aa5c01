/* Container records (save/load, lookup by name, id and prefix, names,
 * rename under the lock), the log format and the attach frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/engine_io.h"
#include "util/fs.h"

struct fixture {
    char dir[64];
    struct engine e;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/v12n-records-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char root[128], run[128];
    snprintf(root, sizeof root, "%s/root", f->dir);
    snprintf(run, sizeof run, "%s/run", f->dir);
    v12n_error err = {0};
    assert_int_equal(engine_init(&f->e, root, run, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    v12n_error err = {0};
    v12n_rm_rf(f->dir, &err);
    free(f);
    return 0;
}

/* A record as engine_create writes it (without the bundle). */
static void make(struct fixture *f, const char *id, const char *name, const char *created)
{
    struct engine_container c = {0};
    snprintf(c.id, sizeof c.id, "%s", id);
    c.name = strdup(name);
    c.image = strdup("busybox");
    c.image_id = strdup("sha256:abc");
    c.created = strdup(created);
    c.command = calloc(3, sizeof(char *));
    c.command[0] = strdup("sleep");
    c.command[1] = strdup("1");
    c.stop_signal = 15;
    char dir[4200];
    assert_int_equal(mkdir(engine_path(&f->e, id, "", dir, sizeof dir), 0700), 0);
    v12n_error err = {0};
    assert_int_equal(engine_record_save(&f->e, &c, &err), 0);
    engine_container_clear(&c);
}

static const char *ID_A = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
static const char *ID_B = "aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222";

static void save_and_load(void **state)
{
    struct fixture *f = *state;
    make(f, ID_A, "web", "2026-01-01T00:00:00.000000000Z");
    struct engine_container c;
    v12n_error err = {0};
    assert_int_equal(engine_record_load(&f->e, ID_A, &c, &err), 0);
    assert_string_equal(c.name, "web");
    assert_string_equal(c.image_id, "sha256:abc");
    assert_string_equal(c.command[1], "1");
    assert_null(c.command[2]);
    assert_int_equal(c.state, ENGINE_CREATED);
    assert_null(c.started);
    c.state = ENGINE_EXITED;
    c.exit_code = 137;
    assert_int_equal(engine_record_save(&f->e, &c, &err), 0);
    engine_container_clear(&c);
    assert_int_equal(engine_record_load(&f->e, ID_A, &c, &err), 0);
    assert_int_equal(c.state, ENGINE_EXITED);
    assert_int_equal(c.exit_code, 137);
    engine_container_clear(&c);
}

static void hostile_record_is_refused(void **state)
{
    struct fixture *f = *state;
    char dir[4200], path[4200];
    engine_path(&f->e, ID_A, "", dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    static const char *bad[] = {
        "{\"id\":\"../../etc\",\"name\":\"x\"}",
        "{\"id\":\"aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111\"}",
        "{\"id\":\"aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111\","
        "\"name\":\"x\",\"command\":[1]}",
        "[1,2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v12n_error err = {0};
        engine_path(&f->e, ID_A, "record.json", path, sizeof path);
        assert_int_equal(v12n_write_file(path, bad[i], strlen(bad[i]), &err), 0);
        struct engine_container c;
        assert_int_equal(engine_record_load(&f->e, ID_A, &c, &err), -1);
        assert_true(err.msg[0] != '\0');
    }
    /* and a listing skips it */
    struct engine_container *cs;
    size_t n;
    v12n_error err = {0};
    assert_int_equal(engine_record_list(&f->e, &cs, &n, &err), 0);
    assert_int_equal(n, 0);
    engine_records_free(cs, n);
}

static void lookup(void **state)
{
    struct fixture *f = *state;
    make(f, ID_A, "web", "2026-01-01T00:00:00.000000000Z");
    make(f, ID_B, "db", "2026-01-02T00:00:00.000000000Z");
    struct engine_container c;
    v12n_error err = {0};
    assert_int_equal(engine_lookup(&f->e, "web", &c, &err), 0);
    assert_string_equal(c.id, ID_A);
    engine_container_clear(&c);
    assert_int_equal(engine_lookup(&f->e, ID_B, &c, &err), 0);
    assert_string_equal(c.name, "db");
    engine_container_clear(&c);
    assert_int_equal(engine_lookup(&f->e, "aaaa2", &c, &err), 0);
    assert_string_equal(c.name, "db");
    engine_container_clear(&c);
    assert_int_equal(engine_lookup(&f->e, "aaaa", &c, &err), -1);
    assert_int_equal(err.errnum, EINVAL);
    assert_int_equal(engine_lookup(&f->e, "nothing", &c, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(engine_lookup(&f->e, "", &c, &err), -1);
    /* newest first */
    struct engine_container *cs;
    size_t n;
    assert_int_equal(engine_record_list(&f->e, &cs, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(cs[0].name, "db");
    engine_records_free(cs, n);
}

static void names(void **state)
{
    struct fixture *f = *state;
    make(f, ID_A, "web", "2026-01-01T00:00:00.000000000Z");
    assert_true(engine_name_valid("web-1.a_b"));
    assert_false(engine_name_valid("-web"));
    assert_false(engine_name_valid("a/b"));
    assert_false(engine_name_valid(""));
    assert_true(engine_name_taken(&f->e, "web", NULL));
    assert_false(engine_name_taken(&f->e, "web", ID_A));
    char name[64];
    v12n_error err = {0};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(engine_name_generate(&f->e, name, sizeof name, &err), 0);
        assert_true(engine_name_valid(name));
        assert_non_null(strchr(name, '_'));
    }
    char id[ENGINE_ID_LEN + 1], id2[ENGINE_ID_LEN + 1];
    assert_int_equal(engine_id_generate(id, &err), 0);
    assert_int_equal(engine_id_generate(id2, &err), 0);
    assert_int_equal(strlen(id), 64);
    assert_string_not_equal(id, id2);
}

static void rename_container(void **state)
{
    struct fixture *f = *state;
    make(f, ID_A, "web", "2026-01-01T00:00:00.000000000Z");
    make(f, ID_B, "db", "2026-01-02T00:00:00.000000000Z");
    v12n_error err = {0};
    assert_int_equal(engine_rename(&f->e, "web", "db", &err), -1);
    assert_int_equal(err.errnum, EEXIST);
    assert_int_equal(engine_rename(&f->e, "web", "bad/name", &err), -1);
    assert_int_equal(engine_rename(&f->e, "web", "front", &err), 0);
    struct engine_container c;
    assert_int_equal(engine_lookup(&f->e, "front", &c, &err), 0);
    assert_string_equal(c.id, ID_A);
    engine_container_clear(&c);
}

struct collected {
    char text[256];
    int entries, partial, err_entries;
};

static int collect(void *arg, const struct engine_log_entry *e)
{
    struct collected *c = arg;
    strncat(c->text, e->text, e->len);
    if (!e->partial)
        strcat(c->text, "|");
    c->entries++;
    c->partial += e->partial;
    c->err_entries += e->is_stderr;
    return 0;
}

static void log_format(void **state)
{
    (void)state;
    char path[] = "/tmp/v12n-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(engine_log_write(fd, false, "one\ntwo\npart", 12), 0);
    assert_int_equal(engine_log_write(fd, true, "err\n", 4), 0);
    assert_int_equal(engine_log_write(fd, false, "\n", 1), 0);
    size_t len;
    v12n_error err = {0};
    char *buf = v12n_read_file(path, &len, &err);
    assert_non_null(buf);
    struct collected c = {0};
    size_t used;
    assert_int_equal(engine_log_parse(buf, len, &used, collect, &c), 0);
    assert_int_equal(used, len);
    assert_string_equal(c.text, "one|two|parterr||");
    assert_int_equal(c.entries, 5);
    assert_int_equal(c.partial, 1);
    assert_int_equal(c.err_entries, 1);
    /* an incomplete last line waits; damaged lines are skipped */
    const char *odd = "garbage\n2026 stdout X x\n2026 stdout F ok\n2026 stdout F half";
    struct collected d = {0};
    assert_int_equal(engine_log_parse(odd, strlen(odd), &used, collect, &d), 0);
    assert_string_equal(d.text, "ok|");
    assert_int_equal(used, strlen(odd) - strlen("2026 stdout F half"));
    free(buf);
    close(fd);
    unlink(path);
}

static void attach_frames(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(attach_send(sv[0], ATTACH_STDOUT, "hello", 5), 0);
    assert_int_equal(attach_send(sv[0], ATTACH_STDIN_CLOSE, NULL, 0), 0);
    struct attach_reader *r = calloc(1, sizeof *r);
    assert_int_equal(attach_reader_fill(r, sv[1]), 1);
    uint8_t type;
    const uint8_t *p;
    size_t len;
    assert_int_equal(attach_reader_next(r, &type, &p, &len), 1);
    assert_int_equal(type, ATTACH_STDOUT);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "hello", 5);
    assert_int_equal(attach_reader_next(r, &type, &p, &len), 1);
    assert_int_equal(type, ATTACH_STDIN_CLOSE);
    assert_int_equal(attach_reader_next(r, &type, &p, &len), 0);
    /* a frame that claims more than the limit is malformed */
    uint8_t huge[5] = {ATTACH_STDIN, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(write(sv[0], huge, 5), 5);
    assert_int_equal(attach_reader_fill(r, sv[1]), 1);
    assert_int_equal(attach_reader_next(r, &type, &p, &len), -1);
    char big[ATTACH_FRAME_MAX + 1];
    assert_int_equal(attach_send(sv[0], ATTACH_STDOUT, big, sizeof big), -1);
    /* a half frame is incomplete, not an error */
    struct attach_reader *r2 = calloc(1, sizeof *r2);
    uint8_t half[7] = {ATTACH_STDOUT, 0, 0, 0, 4, 'a', 'b'};
    assert_int_equal(write(sv[0], half, 7), 7);
    assert_int_equal(attach_reader_fill(r2, sv[1]), 1);
    assert_int_equal(attach_reader_next(r2, &type, &p, &len), 0);
    free(r);
    free(r2);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(save_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_record_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(names, setup, teardown),
        cmocka_unit_test_setup_teardown(rename_container, setup, teardown),
        cmocka_unit_test(log_format),
        cmocka_unit_test(attach_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
