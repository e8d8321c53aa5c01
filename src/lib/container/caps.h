/* process.capabilities: the five sets, by name, applied with libcap. */
#ifndef V12N_CONTAINER_CAPS_H
#define V12N_CONTAINER_CAPS_H

#include <jansson.h>
#include <stdint.h>

#include "util/error.h"

struct oci_capabilities {
    uint64_t bounding, effective, inheritable, permitted, ambient; /* bit n = cap n */
};

/* Unknown capability names are an error naming the capability. */
int caps_parse(json_t *caps, struct oci_capabilities *out, v12n_error *err);

/* Name <-> number ("CAP_NET_ADMIN"). */
int caps_from_name(const char *name, int *cap);

/* Before changing uid: keep capabilities across setuid. */
int caps_prepare_for_setuid(v12n_error *err);

/* Drop the bounding set down to caps->bounding (needs CAP_SETPCAP). */
int caps_apply_bounding(const struct oci_capabilities *caps, v12n_error *err);

/* After setuid/setgid: set effective/permitted/inheritable, raise ambient. */
int caps_apply_sets(const struct oci_capabilities *caps, v12n_error *err);

/* JSON array of all capability names this kernel knows (for `features`). */
json_t *caps_known_names(void);

#endif
