/* The image config plus `docker run` options -> config.json, following the
 * OCI image-spec's "conversion to an OCI runtime configuration" and Docker's
 * defaults (docs/engine.md, "From image to bundle").  The pieces live in
 * spec_process.c, spec_mounts.c and spec_linux.c; this file assembles them
 * with the root, the hostname and the annotations. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "container/container.h"
#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "engine/image_config.h"
#include "util/cleanup.h"
#include "util/json.h"

#define ANNOTATION_STOP_SIGNAL "org.opencontainers.image.stopSignal"
#define ANNOTATION_PORTS       "org.opencontainers.image.exposedPorts"
#define HOSTNAME_MAX           64

/* The host's name, which Docker gives a --network host container. */
static bool host_name(char *buf, size_t len)
{
    return buf != NULL && len > 0 && gethostname(buf, len) == 0 && memchr(buf, '\0', len) != NULL &&
           buf[0] != '\0';
}

const char *engine_spec_hostname(const struct engine_run_opts *opts,
                                 const struct engine_bundle_paths *paths, char *buf, size_t len)
{
    if (opts->hostname != NULL && opts->hostname[0] != '\0')
        snprintf(buf, len, "%s", opts->hostname);
    else if (opts->network == ENGINE_NET_HOST && host_name(buf, len))
        return buf;
    else if (paths->container_id != NULL && paths->container_id[0] != '\0')
        snprintf(buf, len, "%.12s", paths->container_id);
    else
        snprintf(buf, len, "v12n");
    return buf;
}

/* RFC 1123 labels, as Docker checks --hostname. */
static bool hostname_valid(const char *h)
{
    size_t len = strlen(h);
    if (len == 0 || len > HOSTNAME_MAX || h[0] == '-' || h[0] == '.')
        return false;
    return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == len;
}

static int annotations(const struct image_config *img, json_t **out, v12n_error *err)
{
    json_t *ann auto_json = json_object();
    if (ann == NULL)
        return v12n_fail(err, ENOMEM, "annotations");
    const char *key;
    json_t *value;
    json_object_foreach(img->labels, key, value)
    {
        if (json_object_set(ann, key, value) < 0)
            return v12n_fail(err, EINVAL, "image config: Labels: bad key %.64s", key);
    }
    if (img->stop_signal != NULL) {
        if (container_parse_signal(img->stop_signal) <= 0)
            return v12n_fail(err, EINVAL, "image config: StopSignal %.32s: unknown signal",
                             img->stop_signal);
        if (json_object_set_new(ann, ANNOTATION_STOP_SIGNAL, json_string(img->stop_signal)) < 0)
            return v12n_fail(err, ENOMEM, "annotations");
    }
    if (json_object_size(img->exposed_ports) > 0) {
        json_t *ports = json_array();
        json_object_foreach(img->exposed_ports, key, value)
        {
            json_array_append_new(ports, json_string(key));
        }
        /* The image-spec asks for a comma-separated list. */
        size_t n = json_array_size(ports), total = 1;
        for (size_t i = 0; i < n; i++)
            total += json_string_length(json_array_get(ports, i)) + 1;
        auto_free char *joined = calloc(1, total);
        for (size_t i = 0; joined != NULL && i < n; i++) {
            if (i > 0)
                strcat(joined, ",");
            strcat(joined, json_string_value(json_array_get(ports, i)));
        }
        json_decref(ports);
        if (joined == NULL || json_object_set_new(ann, ANNOTATION_PORTS, json_string(joined)) < 0)
            return v12n_fail(err, ENOMEM, "annotations");
    }
    *out = v12n_take_ptr(&ann);
    return 0;
}

int engine_spec_build(json_t *image_config, const struct engine_run_opts *opts,
                      const struct engine_bundle_paths *paths, json_t **config, v12n_error *err)
{
    *config = NULL;
    struct image_config img;
    if (image_config_read(image_config, &img, err) < 0)
        return -1;
    char hostname[HOSTNAME_MAX + 1];
    engine_spec_hostname(opts, paths, hostname, sizeof hostname);
    if (opts->hostname != NULL && !hostname_valid(opts->hostname))
        return v12n_fail(err, EINVAL, "--hostname %.80s: not a valid hostname", opts->hostname);
    unsigned long long caps = 0;
    json_t *process auto_json = engine_spec_process(&img, opts, paths, hostname, &caps, err);
    if (process == NULL)
        return -1;
    json_t *mounts auto_json = engine_spec_mounts(&img, opts, paths, err);
    if (mounts == NULL)
        return -1;
    json_t *linux_obj auto_json = engine_spec_linux(opts, caps, err);
    if (linux_obj == NULL)
        return -1;
    json_t *ann auto_json = NULL;
    if (annotations(&img, &ann, err) < 0)
        return -1;
    const char *root = paths->rootfs != NULL ? paths->rootfs : "rootfs";
    *config = json_pack("{s:s,s:O,s:{s:s,s:b},s:s,s:O,s:O,s:O}", "ociVersion", "1.2.0", "process",
                        process, "root", "path", root, "readonly", opts->read_only, "hostname",
                        hostname, "mounts", mounts, "linux", linux_obj, "annotations", ann);
    if (*config == NULL)
        return v12n_fail(err, ENOMEM, "config.json");
    return 0;
}

int engine_spec_stop_signal(json_t *config)
{
    json_t *ann = json_object_get(config, "annotations");
    const char *name = json_string_value(json_object_get(ann, ANNOTATION_STOP_SIGNAL));
    int sig = name != NULL ? container_parse_signal(name) : -1;
    return sig > 0 ? sig : SIGTERM;
}
