/* The fields of an OCI image config that the conversion uses, validated. */
#ifndef V12N_ENGINE_IMAGE_CONFIG_H
#define V12N_ENGINE_IMAGE_CONFIG_H

#include <jansson.h>

#include "util/error.h"

/* Borrowed from the document; NULL when absent or null. */
struct image_config {
    json_t *entrypoint, *cmd, *env; /* arrays of strings (Env: KEY=VALUE) */
    const char *working_dir, *user, *stop_signal;
    json_t *labels;        /* object of strings */
    json_t *volumes;       /* object: keys are paths */
    json_t *exposed_ports; /* object: keys are "80/tcp" */
};

/* doc: the whole image config; its "config" member may be absent. */
int image_config_read(json_t *doc, struct image_config *out, v12n_error *err);

#endif
