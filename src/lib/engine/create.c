/* A new container: its record (the name reserved under the lock), its
 * image pinned, its rootfs mounted and its bundle written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/bundle.h"
#include "engine/create.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

static json_t *opts_json(const struct engine_run_opts *o, const char *image)
{
    json_t *j = json_object();
    json_object_set_new(j, "image", json_string(image));
    json_t *argv = json_array(), *env = json_array();
    for (size_t i = 0; o->argv != NULL && o->argv[i] != NULL; i++)
        json_array_append_new(argv, json_string(o->argv[i]));
    for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
        json_array_append_new(env, json_string(o->env[i]));
    json_object_set_new(j, "cmd", argv);
    json_object_set_new(j, "env", env);
    json_t *vols = json_array();
    for (size_t i = 0; i < o->n_volumes; i++)
        json_array_append_new(vols, json_pack("{s:s,s:s,s:b}", "source", o->volumes[i].source,
                                              "destination", o->volumes[i].destination, "readonly",
                                              o->volumes[i].readonly));
    json_object_set_new(j, "volumes", vols);
    if (o->workdir)
        json_object_set_new(j, "workdir", json_string(o->workdir));
    if (o->user)
        json_object_set_new(j, "user", json_string(o->user));
    if (o->hostname)
        json_object_set_new(j, "hostname", json_string(o->hostname));
    if (o->entrypoint)
        json_object_set_new(j, "entrypoint", json_string(o->entrypoint));
    json_object_set_new(j, "memory", json_integer(o->memory));
    json_object_set_new(j, "nano_cpus", json_integer(o->nano_cpus));
    json_object_set_new(j, "pids_limit", json_integer(o->pids_limit));
    json_object_set_new(j, "read_only", json_boolean(o->read_only));
    json_object_set_new(j, "privileged", json_boolean(o->privileged));
    json_object_set_new(j, "network", json_string(o->network == ENGINE_NET_HOST ? "host" : "none"));
    return j;
}

/* Reserve the name and write the first record. */
static int reserve(const struct engine *e, const struct engine_create_args *a,
                   struct engine_container *c, v12n_error *err)
{
    int lock = engine_lock(e, err);
    if (lock < 0)
        return -1;
    int r = 0;
    char name[160];
    if (a->opts->name != NULL) {
        if (!engine_name_valid(a->opts->name))
            r = v12n_fail(err, EINVAL, "invalid container name \"%s\"", a->opts->name);
        else if (engine_name_taken(e, a->opts->name, NULL))
            r = v12n_fail(err, EEXIST, "container name %s is already in use", a->opts->name);
        else
            snprintf(name, sizeof name, "%s", a->opts->name);
    } else
        r = engine_name_generate(e, name, sizeof name, err);
    char dir[4200];
    if (r == 0 && engine_id_generate(c->id, err) == 0) {
        c->name = strdup(name);
        c->image = strdup(a->image_ref);
        c->image_id = strdup(a->image_id);
        c->created = engine_now();
        c->state = ENGINE_CREATED;
        c->tty = a->opts->tty;
        c->interactive = a->opts->interactive;
        c->auto_remove = a->auto_remove;
        c->stop_signal = 15;
        c->opts = opts_json(a->opts, a->image_ref);
        engine_path(e, c->id, "", dir, sizeof dir);
        if (mkdir(dir, 0700) < 0)
            r = v12n_fail_errno(err, "mkdir %s", dir);
        else
            r = engine_record_save(e, c, err);
    } else
        r = -1;
    engine_unlock(lock);
    return r;
}

static int write_bundle(const struct engine *e, struct store *s, const struct engine_create_args *a,
                        struct engine_container *c, v12n_error *err)
{
    char upper[4200], work[4200], rootfs[4200], etc[4200], config_path[4200];
    engine_path(e, c->id, "upper", upper, sizeof upper);
    engine_path(e, c->id, "work", work, sizeof work);
    engine_path(e, c->id, "rootfs", rootfs, sizeof rootfs);
    engine_path(e, c->id, "etc", etc, sizeof etc);
    engine_path(e, c->id, "config.json", config_path, sizeof config_path);
    if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(rootfs, 0755) < 0)
        return v12n_fail_errno(err, "container %s: mkdir", c->name);
    if (engine_rootfs_mount_from(e, s, c, err) < 0)
        return -1;
    struct engine_bundle_paths paths = {.rootfs = rootfs, .etc_dir = etc, .container_id = c->id};
    char host[256];
    const char *hostname = engine_spec_hostname(a->opts, &paths, host, sizeof host);
    auto_json json_t *config = NULL;
    if (engine_etc_files_write(etc, hostname, a->opts->network, err) < 0 ||
        engine_spec_build(a->image_config, a->opts, &paths, &config, err) < 0)
        return v12n_error_wrap(err, "container %s", c->name);
    c->stop_signal = engine_spec_stop_signal(config);
    json_t *args = json_object_get(json_object_get(config, "process"), "args");
    if (args != NULL && v12n_json_string_array(args, &c->command, "process.args", err) < 0)
        return -1;
    if (json_dump_file(config, config_path, JSON_COMPACT) < 0)
        return v12n_fail(err, EIO, "container %s: write %s", c->name, config_path);
    return engine_record_save(e, c, err);
}

int engine_create(const struct engine *e, struct store *s, const struct engine_create_args *a,
                  struct engine_container *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    if (reserve(e, a, out, err) < 0) {
        engine_container_clear(out);
        return -1;
    }
    char owner[128];
    snprintf(owner, sizeof owner, ENGINE_PIN_PREFIX "%s", out->id);
    if (store_image_pin(s, a->image_id, owner, err) < 0 || write_bundle(e, s, a, out, err) < 0) {
        v12n_error ignored = {0};
        engine_destroy(e, out->id, &ignored);
        engine_container_clear(out);
        return -1;
    }
    return 0;
}
