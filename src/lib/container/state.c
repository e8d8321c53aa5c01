#include "container/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

int state_path(const char *root, const char *id, const char *file, char *buf, size_t len,
               v12n_error *err)
{
    int n = file ? snprintf(buf, len, "%s/%s/%s", root, id, file)
                 : snprintf(buf, len, "%s/%s", root, id);
    if (n < 0 || (size_t)n >= len)
        return v12n_fail(err, ENAMETOOLONG, "container %s: state path", id);
    return 0;
}

int state_dir_create(const char *root, const char *id, v12n_error *err)
{
    if (v12n_mkdir_p(root, 0700, err) < 0)
        return v12n_error_wrap(err, "state root");
    char dir[PATH_MAX];
    if (state_path(root, id, NULL, dir, sizeof dir, err) < 0)
        return -1;
    if (mkdir(dir, 0711) < 0) {
        if (errno == EEXIST)
            return v12n_fail(err, EEXIST, "container %s already exists", id);
        return v12n_fail_errno(err, "container %s: mkdir %s", id, dir);
    }
    return 0;
}

int state_lock(const char *root, const char *id, v12n_error *err)
{
    char dir[PATH_MAX];
    if (state_path(root, id, NULL, dir, sizeof dir, err) < 0)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return v12n_fail(err, ENOENT, "container %s does not exist", id);
        return v12n_fail_errno(err, "container %s: open %s", id, dir);
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int saved = errno;
            close(fd);
            return v12n_fail(err, saved, "container %s: lock", id);
        }
    }
    return fd;
}

int state_save(const char *root, const struct container_state *st, v12n_error *err)
{
    char path[PATH_MAX];
    if (state_path(root, st->id, STATE_FILE, path, sizeof path, err) < 0)
        return -1;
    auto_json json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:I}", "id", st->id, "bundle",
                  st->bundle ? st->bundle : "", "rootfs", st->rootfs ? st->rootfs : "", "created",
                  st->created ? st->created : "", "pid", (json_int_t)st->pid, "start_time",
                  (json_int_t)st->start_time, "paused", st->paused, "owner", (json_int_t)st->owner);
    if (j == NULL)
        return v12n_fail(err, ENOMEM, "container %s: state", st->id);
    if (st->annotations)
        json_object_set(j, "annotations", st->annotations);
    if (st->cgroup)
        json_object_set(j, "cgroup", st->cgroup);
    auto_free char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "container %s: state", st->id);
    /* Rewritten at each step of the container's start, in the run directory
     * (gone with the boot): exchanged, not renamed over (see fs.h). */
    if (v12n_write_file_swap(path, text, strlen(text), 0600, err) < 0)
        return v12n_error_wrap(err, "container %s: save state", st->id);
    return 0;
}

static char *dup_member(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? strdup(s) : NULL;
}

int state_load(const char *root, const char *id, struct container_state *st, v12n_error *err)
{
    memset(st, 0, sizeof *st);
    char path[PATH_MAX];
    if (state_path(root, id, STATE_FILE, path, sizeof path, err) < 0)
        return -1;
    if (access(path, F_OK) < 0) {
        char dir[PATH_MAX];
        if (state_path(root, id, NULL, dir, sizeof dir, err) < 0)
            return -1;
        if (access(dir, F_OK) < 0)
            return v12n_fail(err, ENOENT, "container %s does not exist", id);
        /* A directory without state: a create killed before it wrote any. */
        st->id = strdup(id);
        return 0;
    }
    json_error_t jerr;
    auto_json json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        return v12n_fail(err, 0, "container %s: corrupt state %s: %s", id, path, jerr.text);
    st->id = strdup(id);
    st->bundle = dup_member(j, "bundle");
    st->rootfs = dup_member(j, "rootfs");
    st->created = dup_member(j, "created");
    st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    st->start_time = (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
    st->paused = json_is_true(json_object_get(j, "paused"));
    st->owner = (uid_t)json_integer_value(json_object_get(j, "owner"));
    st->annotations = json_incref(json_object_get(j, "annotations"));
    st->cgroup = json_incref(json_object_get(j, "cgroup"));
    return 0;
}

void state_clear(struct container_state *st)
{
    free(st->id);
    free(st->bundle);
    free(st->rootfs);
    free(st->created);
    json_decref(st->annotations);
    json_decref(st->cgroup);
    memset(st, 0, sizeof *st);
}

/* The files v12n puts in a state directory, removed by name: walking the directory (nftw)
 * would cost every `run` a 32 KiB directory buffer on the heap (docs/performance.md). */
static bool remove_known_files(const char *dir)
{
    auto_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    static const char *const files[] = {STATE_FILE, STATE_CONFIG, STATE_FIFO};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (unlinkat(fd, files[i], 0) < 0 && errno != ENOENT)
            return false;
    return rmdir(dir) == 0 || errno == ENOENT;
}

int state_remove(const char *root, const char *id, v12n_error *err)
{
    char dir[PATH_MAX];
    if (state_path(root, id, NULL, dir, sizeof dir, err) < 0)
        return -1;
    if (remove_known_files(dir))
        return 0;
    /* Anything else in it (a file left by another version, a directory): remove it all. */
    return v12n_rm_rf(dir, err);
}

unsigned long long proc_start_time(pid_t pid, char *state_char)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char buf[1024];
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and parentheses: parse after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] == '\0')
        return 0;
    p += 2;
    if (state_char)
        *state_char = *p;
    /* starttime is field 22; field 3 is the state we are at. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

enum container_status state_status(const char *root, const struct container_state *st)
{
    if (st->pid <= 0)
        return st->created ? CONTAINER_STOPPED : CONTAINER_CREATING;
    char proc_state = 0;
    unsigned long long t = proc_start_time(st->pid, &proc_state);
    if (t == 0 || t != st->start_time || proc_state == 'Z' || proc_state == 'X')
        return CONTAINER_STOPPED;
    if (st->paused)
        return CONTAINER_PAUSED;
    char fifo[PATH_MAX];
    if (state_path(root, st->id, STATE_FIFO, fifo, sizeof fifo, NULL) == 0 &&
        access(fifo, F_OK) == 0)
        return CONTAINER_CREATED;
    return CONTAINER_RUNNING;
}

const char *container_status_name(enum container_status s)
{
    switch (s) {
    case CONTAINER_CREATING:
        return "creating";
    case CONTAINER_CREATED:
        return "created";
    case CONTAINER_RUNNING:
        return "running";
    case CONTAINER_PAUSED:
        return "paused";
    case CONTAINER_STOPPED:
        break;
    }
    return "stopped";
}

json_t *state_to_json(const struct container_state *st, enum container_status status)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "ociVersion", "1.2.0", "id", st->id, "status",
                          container_status_name(status));
    if (j == NULL)
        return NULL;
    /* runc reports pid 0 once the container stopped. */
    json_object_set_new(j, "pid", json_integer(status == CONTAINER_STOPPED ? 0 : st->pid));
    json_object_set_new(j, "bundle", json_string(st->bundle ? st->bundle : ""));
    json_object_set_new(j, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
    json_object_set_new(j, "created", json_string(st->created ? st->created : ""));
    json_object_set_new(j, "owner", json_string(st->owner == 0 ? "root" : ""));
    if (st->annotations != NULL)
        json_object_set(j, "annotations", st->annotations);
    else
        json_object_set_new(j, "annotations", json_object());
    return j;
}

void rfc3339_now(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}
