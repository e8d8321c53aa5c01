/* config.json "process": the command (Entrypoint and Cmd with Docker's
 * override rules), the environment, the working directory, the user and the
 * capabilities. */
#include <errno.h>
#include <string.h>

#include "container/caps.h"
#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "engine/image_config.h"
#include "util/cleanup.h"
#include "util/json.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int append_strings(json_t *to, json_t *from)
{
    size_t i;
    json_t *item;
    json_array_foreach(from, i, item)
    {
        if (json_array_append(to, item) < 0)
            return -1;
    }
    return 0;
}

/* Docker's rules: --entrypoint replaces the image's Entrypoint ("" removes
 * it) and then also drops the image's Cmd; arguments after the image
 * replace Cmd.  The command is Entrypoint followed by Cmd. */
static json_t *build_args(const struct image_config *img, const struct engine_run_opts *opts,
                          v12n_error *err)
{
    json_t *args auto_json = json_array();
    if (args == NULL)
        return v12n_fail(err, ENOMEM, "process.args"), NULL;
    bool ok = true;
    if (opts->entrypoint != NULL) {
        if (opts->entrypoint[0] != '\0')
            ok = json_array_append_new(args, json_string(opts->entrypoint)) == 0;
    } else if (img->entrypoint != NULL) {
        ok = append_strings(args, img->entrypoint) == 0;
    }
    if (opts->argv != NULL && opts->argv[0] != NULL) {
        for (size_t i = 0; ok && opts->argv[i] != NULL; i++)
            ok = json_array_append_new(args, json_string(opts->argv[i])) == 0;
    } else if (opts->entrypoint == NULL && img->cmd != NULL) {
        ok = append_strings(args, img->cmd) == 0;
    }
    if (!ok)
        return v12n_fail(err, EINVAL, "process.args: not valid UTF-8 or out of memory"), NULL;
    if (json_array_size(args) == 0)
        return v12n_fail(err, EINVAL,
                         "no command specified (the image has neither Entrypoint "
                         "nor Cmd; give one after the image)"),
               NULL;
    return v12n_take_ptr(&args);
}

/* Set KEY=VALUE in env: replace the entry with the same key, else append. */
static int env_set(json_t *env, const char *kv)
{
    size_t key_len = strcspn(kv, "=");
    size_t i;
    json_t *item;
    json_array_foreach(env, i, item)
    {
        const char *cur = json_string_value(item);
        if (strncmp(cur, kv, key_len) == 0 && (cur[key_len] == '=' || cur[key_len] == '\0'))
            return json_array_set_new(env, i, json_string(kv));
    }
    return json_array_append_new(env, json_string(kv));
}

static bool env_has(json_t *env, const char *key)
{
    size_t len = strlen(key);
    size_t i;
    json_t *item;
    json_array_foreach(env, i, item)
    {
        const char *cur = json_string_value(item);
        if (strncmp(cur, key, len) == 0 && cur[len] == '=')
            return true;
    }
    return false;
}

static int env_set_all(json_t *env, char *const *list)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (env_set(env, list[i]) < 0)
            return -1;
    return 0;
}

/* Later sources win: Docker's own (PATH, HOSTNAME, TERM), the image's Env,
 * the env files in order, then -e.  HOME comes from passwd if still unset. */
static json_t *build_env(const struct image_config *img, const struct engine_run_opts *opts,
                         const char *hostname, const char *home, v12n_error *err)
{
    json_t *env auto_json = json_array();
    char **from_files = NULL;
    for (size_t i = 0; opts->env_files != NULL && opts->env_files[i] != NULL; i++)
        if (engine_env_file_read(opts->env_files[i], &from_files, err) < 0) {
            v12n_strv_free(from_files);
            return NULL;
        }
    auto_free char *hostname_kv = NULL;
    bool ok = env != NULL && asprintf(&hostname_kv, "HOSTNAME=%s", hostname) >= 0 &&
              env_set(env, DEFAULT_PATH) == 0 && env_set(env, hostname_kv) == 0 &&
              (!opts->tty || env_set(env, "TERM=xterm") == 0);
    size_t i;
    json_t *item;
    json_array_foreach(img->env, i, item)
    {
        ok = ok && env_set(env, json_string_value(item)) == 0;
    }
    ok = ok && env_set_all(env, from_files) == 0 && env_set_all(env, opts->env) == 0;
    v12n_strv_free(from_files);
    if (ok && !env_has(env, "HOME")) {
        auto_free char *home_kv = NULL;
        ok = asprintf(&home_kv, "HOME=%s", home) >= 0 && env_set(env, home_kv) == 0;
    }
    if (!ok)
        return v12n_fail(err, EINVAL, "process.env: not valid UTF-8 or out of memory"), NULL;
    return v12n_take_ptr(&env);
}

static const char *build_cwd(const struct image_config *img, const struct engine_run_opts *opts,
                             char *buf, size_t len, v12n_error *err)
{
    if (opts->workdir != NULL) {
        if (opts->workdir[0] != '/')
            return v12n_fail(err, EINVAL, "-w %.128s: the working directory must be absolute",
                             opts->workdir),
                   NULL;
        return opts->workdir;
    }
    const char *wd = img->working_dir;
    if (wd == NULL || wd[0] == '\0')
        return "/";
    /* Old builders wrote relative WorkingDirs; Docker anchors them at /. */
    snprintf(buf, len, "%s%s", wd[0] == '/' ? "" : "/", wd);
    return buf;
}

/* ---- capabilities -------------------------------------------------------- */

static bool strv_has(char *const *v, const char *s)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static int cap_bit(const char *name, unsigned long long *bit, v12n_error *err)
{
    int cap;
    if (caps_from_name(name, &cap) < 0 || cap < 0 || cap > 63)
        return v12n_fail(err, EINVAL, "unknown capability %.64s", name);
    *bit = 1ULL << cap;
    return 0;
}

static unsigned long long all_caps(void)
{
    json_t *names auto_json = caps_known_names();
    unsigned long long mask = 0, bit = 0;
    v12n_error ignored;
    size_t i;
    json_t *item;
    json_array_foreach(names, i, item)
    {
        if (cap_bit(json_string_value(item), &bit, &ignored) == 0)
            mask |= bit;
    }
    return mask;
}

/* Docker's order: --privileged is everything; "ALL" in --cap-add starts from
 * everything, "ALL" in --cap-drop from nothing; otherwise from the default
 * set.  Then the named drops, then the named adds. */
int engine_caps_for(const struct engine_run_opts *opts, unsigned long long *out, v12n_error *err)
{
    unsigned long long all = all_caps(), caps = 0, bit = 0;
    if (opts->privileged) {
        *out = all;
        return 0;
    }
    if (strv_has(opts->cap_add, "ALL")) {
        caps = all;
    } else if (!strv_has(opts->cap_drop, "ALL")) {
        for (size_t i = 0; engine_docker_default_caps[i] != NULL; i++) {
            if (cap_bit(engine_docker_default_caps[i], &bit, err) < 0)
                return -1;
            caps |= bit;
        }
    }
    for (size_t i = 0; opts->cap_drop != NULL && opts->cap_drop[i] != NULL; i++) {
        if (strcmp(opts->cap_drop[i], "ALL") == 0)
            continue;
        if (cap_bit(opts->cap_drop[i], &bit, err) < 0)
            return v12n_error_wrap(err, "--cap-drop");
        caps &= ~bit;
    }
    for (size_t i = 0; opts->cap_add != NULL && opts->cap_add[i] != NULL; i++) {
        if (strcmp(opts->cap_add[i], "ALL") == 0)
            continue;
        if (cap_bit(opts->cap_add[i], &bit, err) < 0)
            return v12n_error_wrap(err, "--cap-add");
        caps |= bit;
    }
    *out = caps & all;
    return 0;
}

static json_t *caps_names(unsigned long long caps)
{
    json_t *names auto_json = caps_known_names();
    json_t *out = json_array();
    unsigned long long bit = 0;
    v12n_error ignored;
    size_t i;
    json_t *item;
    json_array_foreach(names, i, item)
    {
        if (cap_bit(json_string_value(item), &bit, &ignored) == 0 && (caps & bit) != 0)
            json_array_append(out, item);
    }
    return out;
}

/* Bounding, effective and permitted hold the set; nothing is inherited or
 * ambient (CVE-2022-24769). */
static json_t *build_caps(unsigned long long caps)
{
    json_t *names = caps_names(caps);
    if (names == NULL)
        return NULL;
    return json_pack("{s:O,s:O,s:o}", "bounding", names, "effective", names, "permitted", names);
}

/* ---- user ---------------------------------------------------------------- */

static json_t *build_user(const struct engine_user *u)
{
    json_t *gids = json_array();
    for (size_t i = 0; gids != NULL && i < u->n_additional_gids; i++)
        json_array_append_new(gids, json_integer(u->additional_gids[i]));
    return json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid,
                     "additionalGids", gids);
}

json_t *engine_spec_process(const struct image_config *img, const struct engine_run_opts *opts,
                            const struct engine_bundle_paths *paths, const char *hostname,
                            unsigned long long *caps_out, v12n_error *err)
{
    const char *user_spec = opts->user != NULL ? opts->user : img->user;
    struct engine_user user;
    if (engine_user_resolve(paths->rootfs, user_spec, &user, err) < 0)
        return NULL;
    char cwd_buf[4200];
    const char *cwd = build_cwd(img, opts, cwd_buf, sizeof cwd_buf, err);
    json_t *args auto_json = cwd != NULL ? build_args(img, opts, err) : NULL;
    json_t *env auto_json = args != NULL ? build_env(img, opts, hostname, user.home, err) : NULL;
    json_t *user_json auto_json = build_user(&user);
    engine_user_clear(&user);
    if (env == NULL || engine_caps_for(opts, caps_out, err) < 0)
        return NULL;
    json_t *caps auto_json = build_caps(*caps_out);
    json_t *process =
        json_pack("{s:b,s:O,s:O,s:O,s:s,s:O,s:b}", "terminal", opts->tty, "user", user_json, "args",
                  args, "env", env, "cwd", cwd, "capabilities", caps, "noNewPrivileges", 0);
    if (process == NULL)
        return v12n_fail(err, ENOMEM, "process"), NULL;
    return process;
}
