/* Creating a container record and bundle from an image and run options. */
#ifndef V12N_ENGINE_CREATE_H
#define V12N_ENGINE_CREATE_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/bundle.h"
#include "engine/engine.h"
#include "image/store.h"

struct engine_create_args {
    const struct engine_run_opts *opts;
    const char *image_ref; /* as the user named it */
    const char *image_id;  /* sha256:... */
    json_t *image_config;  /* the image's config blob */
    bool auto_remove;      /* --rm */
};

/* Reserve the name, pin the image, mount the rootfs, write config.json;
 * on failure nothing is left. */
int engine_create(const struct engine *e, struct store *s, const struct engine_create_args *a,
                  struct engine_container *out, v12n_error *err);

#endif
