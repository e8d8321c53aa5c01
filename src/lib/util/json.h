/* Typed access to JSON documents (jansson) with errors that name the field. */
#ifndef V12N_UTIL_JSON_H
#define V12N_UTIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

static inline void v12n_json_decrefp(json_t **j)
{
    json_decref(*j);
}
#define auto_json __attribute__((cleanup(v12n_json_decrefp)))

/* Parse a JSON file; the error names the file, line and column. */
json_t *v12n_json_load(const char *path, v12n_error *err);

/* Optional members: absent or null -> keep *out and return 0; wrong type -> -1
 * with "<where>.<key>: expected <type>". */
int v12n_json_get_string(json_t *obj, const char *key, const char **out, const char *where,
                         v12n_error *err);
int v12n_json_get_bool(json_t *obj, const char *key, bool *out, const char *where, v12n_error *err);
int v12n_json_get_int64(json_t *obj, const char *key, int64_t *out, const char *where,
                        v12n_error *err);
int v12n_json_get_uint64(json_t *obj, const char *key, uint64_t *out, const char *where,
                         v12n_error *err);
int v12n_json_get_uint32(json_t *obj, const char *key, uint32_t *out, const char *where,
                         v12n_error *err);
/* Returns the member if it is an object/array (or NULL when absent); -1 on type error. */
int v12n_json_get_object(json_t *obj, const char *key, json_t **out, const char *where,
                         v12n_error *err);
int v12n_json_get_array(json_t *obj, const char *key, json_t **out, const char *where,
                        v12n_error *err);

/* A JSON array of strings into a NULL-terminated, malloc'd vector. */
int v12n_json_string_array(json_t *arr, char ***out, const char *where, v12n_error *err);
void v12n_strv_free(char **v);
size_t v12n_strv_len(char *const *v);

#endif
