/* Container records: one JSON file per container, written atomically under
 * the engine lock, found by name, id or unique id prefix. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

int engine_init(struct engine *e, const char *root, const char *run_dir, v12n_error *err)
{
    memset(e, 0, sizeof *e);
    snprintf(e->root, sizeof e->root, "%s", root);
    snprintf(e->run_dir, sizeof e->run_dir, "%s", run_dir);
    snprintf(e->runtime_root, sizeof e->runtime_root, "%s/runtime", run_dir);
    e->rt.state_root = e->runtime_root;
    e->rt.cgroup_root = "/sys/fs/cgroup";
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/containers", root);
    if (v12n_mkdir_p(dir, 0700, err) < 0 || v12n_mkdir_p(e->runtime_root, 0700, err) < 0)
        return v12n_error_wrap(err, "engine");
    return 0;
}

const char *engine_path(const struct engine *e, const char *id, const char *leaf, char *buf,
                        size_t len)
{
    snprintf(buf, len, "%s/containers/%s%s%s", e->root, id, leaf[0] ? "/" : "", leaf);
    return buf;
}

int engine_lock(const struct engine *e, v12n_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/containers/.lock", e->root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return v12n_fail_errno(err, "open %s", path);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            v12n_fail_errno(err, "lock %s", path);
            close(fd);
            return -1;
        }
    }
    return fd;
}

void engine_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

const char *engine_state_name(enum engine_state s)
{
    switch (s) {
    case ENGINE_CREATED:
        return "created";
    case ENGINE_RUNNING:
        return "running";
    case ENGINE_EXITED:
        return "exited";
    }
    return "unknown";
}

void engine_container_clear(struct engine_container *c)
{
    free(c->name);
    free(c->image);
    free(c->image_id);
    v12n_strv_free(c->command);
    free(c->created);
    free(c->started);
    free(c->finished);
    json_decref(c->opts);
    memset(c, 0, sizeof *c);
}

void engine_records_free(struct engine_container *cs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        engine_container_clear(&cs[i]);
    free(cs);
}

char *engine_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64], out[80];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof out, "%s.%09ldZ", buf, ts.tv_nsec);
    return strdup(out);
}

int engine_id_generate(char id[ENGINE_ID_LEN + 1], v12n_error *err)
{
    unsigned char raw[ENGINE_ID_LEN / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return v12n_fail_errno(err, "getrandom");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static bool is_hex_id(const char *s)
{
    if (strlen(s) != ENGINE_ID_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

bool engine_pin_stale(const char *root, const char *owner)
{
    const char *prefix = ENGINE_PIN_PREFIX;
    if (strncmp(owner, prefix, strlen(prefix)) != 0 || !is_hex_id(owner + strlen(prefix)))
        return false;
    char dir[4200];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/containers/%s", root, owner + strlen(prefix));
    return lstat(dir, &st) < 0 && errno == ENOENT;
}

static enum engine_state state_from(const char *s)
{
    if (strcmp(s, "running") == 0)
        return ENGINE_RUNNING;
    if (strcmp(s, "exited") == 0)
        return ENGINE_EXITED;
    return ENGINE_CREATED;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int record_from_json(json_t *j, struct engine_container *c, v12n_error *err)
{
    const char *id = NULL, *name = NULL, *image = NULL, *image_id = NULL, *state = "created";
    const char *created = NULL, *started = NULL, *finished = NULL;
    int64_t exit_code = 0, pid = 0, mpid = 0, stop_signal = 15;
    json_t *cmd = NULL, *opts = NULL;
    const char *w = "record";
    if (v12n_json_get_string(j, "id", &id, w, err) < 0 ||
        v12n_json_get_string(j, "name", &name, w, err) < 0 ||
        v12n_json_get_string(j, "image", &image, w, err) < 0 ||
        v12n_json_get_string(j, "image_id", &image_id, w, err) < 0 ||
        v12n_json_get_string(j, "state", &state, w, err) < 0 ||
        v12n_json_get_string(j, "created", &created, w, err) < 0 ||
        v12n_json_get_string(j, "started", &started, w, err) < 0 ||
        v12n_json_get_string(j, "finished", &finished, w, err) < 0 ||
        v12n_json_get_int64(j, "exit_code", &exit_code, w, err) < 0 ||
        v12n_json_get_int64(j, "pid", &pid, w, err) < 0 ||
        v12n_json_get_int64(j, "monitor_pid", &mpid, w, err) < 0 ||
        v12n_json_get_int64(j, "stop_signal", &stop_signal, w, err) < 0 ||
        v12n_json_get_bool(j, "tty", &c->tty, w, err) < 0 ||
        v12n_json_get_bool(j, "interactive", &c->interactive, w, err) < 0 ||
        v12n_json_get_bool(j, "auto_remove", &c->auto_remove, w, err) < 0 ||
        v12n_json_get_array(j, "command", &cmd, w, err) < 0 ||
        v12n_json_get_object(j, "opts", &opts, w, err) < 0)
        return -1;
    if (id == NULL || !is_hex_id(id) || name == NULL)
        return v12n_fail(err, EINVAL, "record: id and name required");
    snprintf(c->id, sizeof c->id, "%s", id);
    c->name = strdup(name);
    c->image = dup_or_null(image);
    c->image_id = dup_or_null(image_id);
    c->created = dup_or_null(created);
    c->started = dup_or_null(started);
    c->finished = dup_or_null(finished);
    c->state = state_from(state);
    c->exit_code = (int)exit_code;
    c->pid = (pid_t)pid;
    c->monitor_pid = (pid_t)mpid;
    c->stop_signal = (int)stop_signal;
    c->opts = opts != NULL ? json_incref(opts) : json_object();
    if (cmd != NULL && v12n_json_string_array(cmd, &c->command, "record.command", err) < 0)
        return -1;
    return 0;
}

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *record_to_json(const struct engine_container *c)
{
    json_t *cmd = json_array();
    for (size_t i = 0; c->command != NULL && c->command[i] != NULL; i++)
        json_array_append_new(cmd, json_string(c->command[i]));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:i, s:i, s:i, s:i, s:b, "
                     "s:b, s:b, s:o}",
                     "id", c->id, "name", c->name, "image", str_or_null(c->image), "image_id",
                     str_or_null(c->image_id), "command", cmd, "state", engine_state_name(c->state),
                     "created", str_or_null(c->created), "started", str_or_null(c->started),
                     "finished", str_or_null(c->finished), "exit_code", c->exit_code, "pid",
                     (int)c->pid, "monitor_pid", (int)c->monitor_pid, "stop_signal", c->stop_signal,
                     "tty", c->tty, "interactive", c->interactive, "auto_remove", c->auto_remove,
                     "opts", c->opts != NULL ? json_incref(c->opts) : json_object());
}

int engine_record_load(const struct engine *e, const char *id, struct engine_container *out,
                       v12n_error *err)
{
    memset(out, 0, sizeof *out);
    char path[4200];
    engine_path(e, id, "record.json", path, sizeof path);
    auto_json json_t *j = v12n_json_load(path, err);
    if (j == NULL)
        return -1;
    if (record_from_json(j, out, err) < 0) {
        engine_container_clear(out);
        return v12n_error_wrap(err, "container %s", id);
    }
    /* A monitor that died without recording the exit (SIGKILL, OOM): the
     * container is reported exited, and rm/start clean up after it. */
    if (out->state == ENGINE_RUNNING && out->monitor_pid > 0 && kill(out->monitor_pid, 0) < 0 &&
        errno == ESRCH) {
        out->state = ENGINE_EXITED;
        out->exit_code = 255;
    }
    return 0;
}

int engine_record_save(const struct engine *e, const struct engine_container *c, v12n_error *err)
{
    char path[4200];
    engine_path(e, c->id, "record.json", path, sizeof path);
    auto_json json_t *j = record_to_json(c);
    if (j == NULL)
        return v12n_fail(err, ENOMEM, "container %s: record", c->name);
    auto_free char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "container %s: record", c->name);
    if (v12n_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
        return v12n_error_wrap(err, "container %s", c->name);
    return 0;
}

static int by_created_desc(const void *a, const void *b)
{
    const struct engine_container *x = a, *y = b;
    return strcmp(y->created ? y->created : "", x->created ? x->created : "");
}

int engine_record_list(const struct engine *e, struct engine_container **out, size_t *n,
                       v12n_error *err)
{
    *out = NULL;
    *n = 0;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/containers", e->root);
    auto_closedir DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "open %s", dir);
    struct engine_container *cs = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_hex_id(de->d_name))
            continue;
        struct engine_container c;
        v12n_error ignored = {0};
        /* A directory without a record is one being created or removed. */
        if (engine_record_load(e, de->d_name, &c, &ignored) < 0)
            continue;
        struct engine_container *grown = realloc(cs, (count + 1) * sizeof *cs);
        if (grown == NULL) {
            engine_container_clear(&c);
            engine_records_free(cs, count);
            return v12n_fail(err, ENOMEM, "list containers");
        }
        cs = grown;
        cs[count++] = c;
    }
    if (count > 1)
        qsort(cs, count, sizeof *cs, by_created_desc);
    *out = cs;
    *n = count;
    return 0;
}

int engine_lookup(const struct engine *e, const char *ref, struct engine_container *out,
                  v12n_error *err)
{
    memset(out, 0, sizeof *out);
    if (ref == NULL || ref[0] == '\0')
        return v12n_fail(err, EINVAL, "empty container name");
    struct engine_container *cs;
    size_t n;
    if (engine_record_list(e, &cs, &n, err) < 0)
        return -1;
    ssize_t found = -1;
    size_t prefix_hits = 0, rlen = strlen(ref);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cs[i].name, ref) == 0 || strcmp(cs[i].id, ref) == 0) {
            found = (ssize_t)i;
            prefix_hits = 1;
            break;
        }
        if (strncmp(cs[i].id, ref, rlen) == 0) {
            found = (ssize_t)i;
            prefix_hits++;
        }
    }
    int r = 0;
    if (found < 0)
        r = v12n_fail(err, ENOENT, "no such container: %s", ref);
    else if (prefix_hits > 1)
        r = v12n_fail(err, EINVAL, "container %s: ambiguous id prefix", ref);
    else {
        *out = cs[found];
        memset(&cs[found], 0, sizeof cs[found]);
    }
    engine_records_free(cs, n);
    return r;
}

bool engine_name_valid(const char *name)
{
    /* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
    size_t n = strlen(name);
    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
            return false;
    }
    return true;
}

bool engine_name_taken(const struct engine *e, const char *name, const char *except_id)
{
    struct engine_container *cs;
    size_t n;
    v12n_error ignored = {0};
    if (engine_record_list(e, &cs, &n, &ignored) < 0)
        return false;
    bool taken = false;
    for (size_t i = 0; i < n && !taken; i++)
        taken = strcmp(cs[i].name, name) == 0 &&
                (except_id == NULL || strcmp(cs[i].id, except_id) != 0);
    engine_records_free(cs, n);
    return taken;
}

int engine_rename(const struct engine *e, const char *ref, const char *new_name, v12n_error *err)
{
    if (!engine_name_valid(new_name))
        return v12n_fail(err, EINVAL, "invalid container name \"%s\"", new_name);
    int lock = engine_lock(e, err);
    if (lock < 0)
        return -1;
    struct engine_container c;
    int r = engine_lookup(e, ref, &c, err);
    if (r == 0 && engine_name_taken(e, new_name, c.id))
        r = v12n_fail(err, EEXIST, "container name %s is already in use", new_name);
    if (r == 0) {
        free(c.name);
        c.name = strdup(new_name);
        r = c.name != NULL ? engine_record_save(e, &c, err) : v12n_fail(err, ENOMEM, "rename");
    }
    engine_container_clear(&c);
    engine_unlock(lock);
    return r;
}
