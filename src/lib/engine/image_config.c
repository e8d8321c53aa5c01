/* The parts of an OCI image config (as stored: {"config": {...}, ...}) that
 * shape a container, read with every type and size checked: the config
 * comes from a registry and is hostile until proven otherwise. */
#include <errno.h>
#include <string.h>

#include "engine/image_config.h"
#include "util/json.h"

#define WHERE "image config"

/* Far above real images; bounds what a hostile config can make us build. */
#define MAX_ITEMS  4096
#define MAX_STRING (64u << 10)

static int check_string(json_t *s, const char *field, size_t i, v12n_error *err)
{
    if (!json_is_string(s))
        return v12n_fail(err, EINVAL, WHERE ": %s[%zu]: expected a string", field, i);
    size_t len = json_string_length(s);
    if (len > MAX_STRING)
        return v12n_fail(err, E2BIG, WHERE ": %s[%zu]: longer than %u bytes", field, i, MAX_STRING);
    if (strlen(json_string_value(s)) != len)
        return v12n_fail(err, EINVAL, WHERE ": %s[%zu]: contains a NUL byte", field, i);
    return 0;
}

/* An array of strings, or absent/null. */
static int get_strings(json_t *cfg, const char *field, json_t **out, v12n_error *err)
{
    if (v12n_json_get_array(cfg, field, out, WHERE, err) < 0)
        return -1;
    if (*out == NULL)
        return 0;
    if (json_array_size(*out) > MAX_ITEMS)
        return v12n_fail(err, E2BIG, WHERE ": %s: more than %d items", field, MAX_ITEMS);
    size_t i;
    json_t *item;
    json_array_foreach(*out, i, item)
    {
        if (check_string(item, field, i, err) < 0)
            return -1;
    }
    return 0;
}

/* An object whose keys matter ({"/data": {}}), or absent/null. */
static int get_key_set(json_t *cfg, const char *field, json_t **out, v12n_error *err)
{
    if (v12n_json_get_object(cfg, field, out, WHERE, err) < 0)
        return -1;
    if (*out != NULL && json_object_size(*out) > MAX_ITEMS)
        return v12n_fail(err, E2BIG, WHERE ": %s: more than %d items", field, MAX_ITEMS);
    const char *key;
    json_t *value;
    json_object_foreach(*out, key, value)
    {
        if (strlen(key) > MAX_STRING)
            return v12n_fail(err, E2BIG, WHERE ": %s: a key is longer than %u bytes", field,
                             MAX_STRING);
    }
    return 0;
}

static int get_short_string(json_t *cfg, const char *field, const char **out, v12n_error *err)
{
    if (v12n_json_get_string(cfg, field, out, WHERE, err) < 0)
        return -1;
    if (*out != NULL && strlen(*out) > 4096)
        return v12n_fail(err, E2BIG, WHERE ": %s: longer than 4096 bytes", field);
    return 0;
}

static int check_env(json_t *env, v12n_error *err)
{
    size_t i;
    json_t *item;
    json_array_foreach(env, i, item)
    {
        const char *kv = json_string_value(item);
        if (kv[0] == '=' || strchr(kv, '=') == NULL)
            return v12n_fail(err, EINVAL, WHERE ": Env[%zu]: expected KEY=VALUE", i);
    }
    return 0;
}

static int check_labels(json_t *labels, v12n_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(labels, key, value)
    {
        if (!json_is_string(value))
            return v12n_fail(err, EINVAL, WHERE ": Labels.%.64s: expected a string", key);
        if (json_string_length(value) > MAX_STRING)
            return v12n_fail(err, E2BIG, WHERE ": Labels.%.64s: longer than %u bytes", key,
                             MAX_STRING);
    }
    return 0;
}

int image_config_read(json_t *doc, struct image_config *out, v12n_error *err)
{
    *out = (struct image_config){0};
    if (doc == NULL)
        return 0;
    if (!json_is_object(doc))
        return v12n_fail(err, EINVAL, WHERE ": expected an object");
    json_t *cfg;
    if (v12n_json_get_object(doc, "config", &cfg, WHERE, err) < 0)
        return -1;
    if (cfg == NULL)
        return 0;
    if (get_strings(cfg, "Entrypoint", &out->entrypoint, err) < 0 ||
        get_strings(cfg, "Cmd", &out->cmd, err) < 0 ||
        get_strings(cfg, "Env", &out->env, err) < 0 ||
        get_short_string(cfg, "WorkingDir", &out->working_dir, err) < 0 ||
        get_short_string(cfg, "User", &out->user, err) < 0 ||
        get_short_string(cfg, "StopSignal", &out->stop_signal, err) < 0 ||
        get_key_set(cfg, "Labels", &out->labels, err) < 0 ||
        get_key_set(cfg, "Volumes", &out->volumes, err) < 0 ||
        get_key_set(cfg, "ExposedPorts", &out->exposed_ports, err) < 0)
        return -1;
    if (out->env != NULL && check_env(out->env, err) < 0)
        return -1;
    if (out->labels != NULL && check_labels(out->labels, err) < 0)
        return -1;
    return 0;
}
