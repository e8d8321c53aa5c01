/* A container's life outside the monitor: its rootfs, launching the
 * monitor, waiting, signals, stop, removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/bundle.h"
#include "engine/engine.h"
#include "engine/engine_io.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"

static bool is_mountpoint(const char *path, const char *parent)
{
    struct stat a, b;
    if (stat(path, &a) < 0 || stat(parent, &b) < 0)
        return false;
    return a.st_dev != b.st_dev;
}

int engine_rootfs_prepare(const struct engine *e, const struct engine_container *c, v12n_error *err)
{
    char dir[4200], merged[4200];
    engine_path(e, c->id, "", dir, sizeof dir);
    engine_path(e, c->id, "rootfs", merged, sizeof merged);
    if (is_mountpoint(merged, dir))
        return 0;
    struct store *s;
    if (store_open(e->root, STORE_NO_SYNC, &s, err) < 0)
        return v12n_error_wrap(err, "container %s", c->name);
    int r = engine_rootfs_mount_from(e, s, c, err);
    store_close(s);
    return r;
}

int engine_rootfs_mount_from(const struct engine *e, struct store *s,
                             const struct engine_container *c, v12n_error *err)
{
    char merged[4200], upper[4200], work[4200];
    engine_path(e, c->id, "rootfs", merged, sizeof merged);
    engine_path(e, c->id, "upper", upper, sizeof upper);
    engine_path(e, c->id, "work", work, sizeof work);
    struct store_image img = {0};
    int r = store_image_resolve(s, c->image_id, &img, err);
    char **lowers = NULL;
    if (r == 0 && img.n_layers == 0)
        r = v12n_fail(err, EINVAL, "image %s has no layers", c->image_id);
    if (r == 0 && (lowers = calloc(img.n_layers, sizeof *lowers)) == NULL)
        r = v12n_fail(err, ENOMEM, "layers");
    for (size_t i = 0; r == 0 && i < img.n_layers; i++) {
        char path[PATH_MAX];
        /* overlayfs wants the top layer first; the manifest lists the base first. */
        r = store_layer_path(s, img.layers[img.n_layers - 1 - i].diff_id, path, sizeof path, err);
        if (r == 0 && (lowers[i] = strdup(path)) == NULL)
            r = v12n_fail(err, ENOMEM, "layers");
    }
    if (r == 0)
        r = engine_rootfs_mount((const char *const *)lowers, img.n_layers, upper, work, merged,
                                c->auto_remove, err);
    for (size_t i = 0; lowers != NULL && i < img.n_layers; i++)
        free(lowers[i]);
    free(lowers);
    store_image_clear(&img);
    return r < 0 ? v12n_error_wrap(err, "container %s", c->name) : 0;
}

/* The monitor's first words: "ok" or "<errno> <message>". */
static int read_ready(int fd, v12n_error *err)
{
    char buf[V12N_ERROR_MSG_MAX + 32];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        if (have == sizeof buf - 1)
            break;
    }
    buf[have] = '\0';
    if (strcmp(buf, "ok") == 0)
        return 0;
    if (have == 0)
        return v12n_fail(err, EIO, "the monitor exited before the container started");
    char *msg = NULL;
    long errnum = strtol(buf, &msg, 10);
    if (*msg == ' ')
        msg++;
    return v12n_fail(err, (int)errnum, "%s", msg);
}

int engine_launch(const struct engine *e, const char *id, bool with_client, int *client_fd,
                  v12n_error *err)
{
    struct engine_container c;
    if (engine_record_load(e, id, &c, err) < 0)
        return -1;
    if (c.state == ENGINE_EXITED) {
        /* What a monitor that died left in the runtime (killed on delete). */
        v12n_error ignored = {0};
        container_delete(&e->rt, c.id, true, &ignored);
    }
    int prepared = engine_rootfs_prepare(e, &c, err);
    engine_container_clear(&c);
    if (prepared < 0)
        return -1;
    int ready[2], pair[2] = {-1, -1};
    if (pipe2(ready, O_CLOEXEC) < 0)
        return v12n_fail_errno(err, "pipe");
    if (with_client && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        v12n_fail_errno(err, "socketpair");
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    /* Fully flush stdio so the monitor does not repeat the CLI's output. */
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        v12n_fail_errno(err, "fork the monitor");
        close(ready[0]);
        close(ready[1]);
        if (pair[0] >= 0) {
            close(pair[0]);
            close(pair[1]);
        }
        return -1;
    }
    if (child == 0) {
        /* Its own session, away from the CLI's terminal and its signals;
         * the host's init (or the nearest subreaper) adopts it when the CLI
         * exits.  No second fork: a child is no group leader, so setsid
         * works, and the monitor never opens a terminal that could become
         * its controlling one (the pty master comes over a socket). */
        close(ready[0]);
        if (pair[0] >= 0)
            close(pair[0]);
        setsid();
        engine_monitor_main(e, id, ready[1], pair[1]);
    }
    close(ready[1]);
    if (pair[1] >= 0)
        close(pair[1]);
    int r = read_ready(ready[0], err);
    close(ready[0]);
    if (r < 0 || !with_client) {
        if (pair[0] >= 0)
            close(pair[0]);
        return r;
    }
    *client_fd = pair[0];
    return 0;
}

/* Read frames until ATTACH_EXIT; 1 on timeout, 0 with *code, -1 on EOF. */
static int wait_exit_frame(int fd, int timeout_ms, int *code)
{
    struct attach_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int result = -1;
    for (;;) {
        int left = -1;
        if (timeout_ms >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long spent =
                (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            left = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            result = 1;
            break;
        }
        if (n < 0 || attach_reader_fill(r, fd) <= 0)
            break;
        uint8_t type;
        const uint8_t *payload;
        size_t len;
        int got;
        bool done = false;
        while ((got = attach_reader_next(r, &type, &payload, &len)) == 1) {
            if (type == ATTACH_EXIT && len == 4) {
                *code = (int)(((uint32_t)payload[0] << 24) | ((uint32_t)payload[1] << 16) |
                              ((uint32_t)payload[2] << 8) | payload[3]);
                result = 0;
                done = true;
                break;
            }
        }
        if (done || got < 0)
            break;
    }
    free(r);
    return result;
}

int engine_wait(const struct engine *e, const char *id, int timeout_ms, int *exit_code,
                v12n_error *err)
{
    char sock[4200];
    engine_path(e, id, "attach.sock", sock, sizeof sock);
    v12n_error ignored = {0};
    int fd = attach_connect(sock, &ignored);
    if (fd >= 0) {
        int r = wait_exit_frame(fd, timeout_ms, exit_code);
        close(fd);
        if (r >= 0)
            return r;
    }
    /* No monitor (any more): the record has the answer. */
    struct engine_container c;
    if (engine_record_load(e, id, &c, err) < 0)
        return -1;
    int r = 0;
    if (c.state == ENGINE_RUNNING && c.monitor_pid > 0 && kill(c.monitor_pid, 0) == 0) {
        /* Between the socket's removal and the record's update: look again. */
        engine_container_clear(&c);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        return engine_wait(e, id, timeout_ms, exit_code, err);
    }
    *exit_code = c.exit_code;
    engine_container_clear(&c);
    return r;
}

int engine_kill(const struct engine *e, const char *ref, int sig, v12n_error *err)
{
    struct engine_container c;
    if (engine_lookup(e, ref, &c, err) < 0)
        return -1;
    int r = 0;
    if (c.state != ENGINE_RUNNING)
        r = v12n_fail(err, EINVAL, "container %s is not running", c.name);
    else if (container_kill(&e->rt, c.id, sig, false, err) < 0)
        r = v12n_error_wrap(err, "container %s", c.name);
    engine_container_clear(&c);
    return r;
}

int engine_stop(const struct engine *e, const char *ref, int timeout_s, v12n_error *err)
{
    struct engine_container c;
    if (engine_lookup(e, ref, &c, err) < 0)
        return -1;
    int r = 0, code;
    if (c.state == ENGINE_RUNNING) {
        v12n_error ignored = {0};
        container_kill(&e->rt, c.id, c.stop_signal > 0 ? c.stop_signal : SIGTERM, false, &ignored);
        r = engine_wait(e, c.id, timeout_s * 1000, &code, err);
        if (r == 1) {
            container_kill(&e->rt, c.id, SIGKILL, false, &ignored);
            r = engine_wait(e, c.id, -1, &code, err);
        }
    }
    engine_container_clear(&c);
    return r < 0 ? -1 : 0;
}

int engine_teardown(const struct engine *e, const char *id, v12n_error *err)
{
    v12n_error derr = {0};
    /* Deleting a container the runtime does not know is not an error. */
    container_delete(&e->rt, id, true, &derr);
    char dir[4200], merged[4200];
    engine_path(e, id, "", dir, sizeof dir);
    engine_path(e, id, "rootfs", merged, sizeof merged);
    if (is_mountpoint(merged, dir) && engine_rootfs_umount(merged, err) < 0)
        return -1;
    return 0;
}

/* Where a removed container's directory waits for its deletion: not a
 * container id, so no listing, name or lookup sees it. */
#define TRASH_PREFIX ".removing-"

static const char *trash_path(const struct engine *e, const char *id, char *buf, size_t len)
{
    snprintf(buf, len, "%s/containers/" TRASH_PREFIX "%s", e->root, id);
    return buf;
}

int engine_destroy_detach(const struct engine *e, const char *id, v12n_error *err)
{
    if (engine_teardown(e, id, err) < 0)
        return -1;
    struct engine_container c;
    v12n_error ignored = {0};
    if (engine_record_load(e, id, &c, &ignored) == 0 && c.image_id != NULL) {
        char owner[128];
        snprintf(owner, sizeof owner, ENGINE_PIN_PREFIX "%s", id);
        store_image_unpin_id(e->root, c.image_id, owner, &ignored);
    }
    engine_container_clear(&c);
    char dir[4200], trash[4200];
    engine_path(e, id, "", dir, sizeof dir);
    trash_path(e, id, trash, sizeof trash);
    int lock = engine_lock(e, err);
    if (lock < 0)
        return -1;
    /* One rename takes it out of sight; deleting the files (each a wait for
     * a discard on this host's ext4) can come after the client is told. */
    int r = 0;
    if (rename(dir, trash) < 0 && errno != ENOENT)
        r = v12n_rm_rf(dir, err);
    engine_unlock(lock);
    return r;
}

void engine_destroy_finish(const struct engine *e)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/containers", e->root);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    /* Every hidden directory: this container's, and any a killed monitor
     * left.  Two monitors deleting the same one is harmless (ENOENT). */
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)) != 0)
            continue;
        char path[4200];
        v12n_error ignored = {0};
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        v12n_rm_rf(path, &ignored);
    }
    closedir(d);
}

int engine_destroy(const struct engine *e, const char *id, v12n_error *err)
{
    if (engine_destroy_detach(e, id, err) < 0)
        return -1;
    char trash[4200];
    return v12n_rm_rf(trash_path(e, id, trash, sizeof trash), err);
}

int engine_remove(const struct engine *e, const char *ref, bool force, v12n_error *err)
{
    struct engine_container c;
    if (engine_lookup(e, ref, &c, err) < 0)
        return -1;
    int r = 0;
    if (c.state == ENGINE_RUNNING) {
        if (!force)
            r = v12n_fail(err, EBUSY, "container %s is running: stop it first or remove it with -f",
                          c.name);
        else {
            v12n_error ignored = {0};
            int code;
            container_kill(&e->rt, c.id, SIGKILL, false, &ignored);
            engine_wait(e, c.id, 10000, &code, &ignored);
        }
    }
    if (r == 0 && engine_destroy(e, c.id, err) < 0)
        r = v12n_error_wrap(err, "remove container %s", c.name);
    engine_container_clear(&c);
    return r;
}
