#include "util/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

json_t *v12n_json_load(const char *path, v12n_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        int code = json_error_code(&jerr);
        int errnum = (code == json_error_cannot_open_file) ? ENOENT : EINVAL;
        if (code == json_error_cannot_open_file)
            v12n_fail(err, errnum, "%s: cannot open", path);
        else
            v12n_fail(err, 0, "%s: invalid JSON at line %d column %d: %s", path, jerr.line,
                      jerr.column, jerr.text);
    }
    return root;
}

static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static int type_error(v12n_error *err, const char *where, const char *key, const char *type)
{
    return v12n_fail(err, 0, "%s.%s: expected %s", where, key, type);
}

int v12n_json_get_string(json_t *obj, const char *key, const char **out, const char *where,
                         v12n_error *err)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return type_error(err, where, key, "a string");
    *out = json_string_value(v);
    return 0;
}

int v12n_json_get_bool(json_t *obj, const char *key, bool *out, const char *where, v12n_error *err)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return type_error(err, where, key, "a boolean");
    *out = json_is_true(v);
    return 0;
}

int v12n_json_get_int64(json_t *obj, const char *key, int64_t *out, const char *where,
                        v12n_error *err)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return type_error(err, where, key, "an integer");
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int v12n_json_get_uint64(json_t *obj, const char *key, uint64_t *out, const char *where,
                         v12n_error *err)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return type_error(err, where, key, "a non-negative integer");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int v12n_json_get_uint32(json_t *obj, const char *key, uint32_t *out, const char *where,
                         v12n_error *err)
{
    uint64_t wide = *out;
    if (v12n_json_get_uint64(obj, key, &wide, where, err) < 0)
        return -1;
    if (wide > UINT32_MAX)
        return type_error(err, where, key, "a 32-bit unsigned integer");
    *out = (uint32_t)wide;
    return 0;
}

int v12n_json_get_object(json_t *obj, const char *key, json_t **out, const char *where,
                         v12n_error *err)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return type_error(err, where, key, "an object");
    *out = v;
    return 0;
}

int v12n_json_get_array(json_t *obj, const char *key, json_t **out, const char *where,
                        v12n_error *err)
{
    json_t *v = member(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return type_error(err, where, key, "an array");
    *out = v;
    return 0;
}

int v12n_json_string_array(json_t *arr, char ***out, const char *where, v12n_error *err)
{
    size_t n = json_array_size(arr);
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL)
        return v12n_fail(err, ENOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        if (!json_is_string(item)) {
            v12n_strv_free(v);
            return v12n_fail(err, 0, "%s[%zu]: expected a string", where, i);
        }
        v[i] = strdup(json_string_value(item));
        if (v[i] == NULL) {
            v12n_strv_free(v);
            return v12n_fail(err, ENOMEM, "%s: out of memory", where);
        }
    }
    *out = v;
    return 0;
}

void v12n_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p != NULL; p++)
        free(*p);
    free(v);
}

size_t v12n_strv_len(char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}
