/* process.capabilities through libcap (sets) and prctl (bounding, ambient). */
#include "container/caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "util/json.h"

#define WHERE "process.capabilities"

static void cap_freep(void *p)
{
    cap_free(*(void **)p);
}
#define auto_cap_free __attribute__((cleanup(cap_freep)))

/* The highest capability the running kernel knows (libcap probes it once;
 * unlike /proc/sys/kernel/cap_last_cap this works before /proc is mounted). */
static int last_cap(void)
{
    int last = (int)cap_max_bits() - 1;
    return last > 63 ? 63 : last;
}

static bool is_cap_name_syntax(const char *name)
{
    if (strncmp(name, "CAP_", 4) != 0 || name[4] == '\0')
        return false;
    for (const char *c = name + 4; *c != '\0'; c++)
        if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
            return false;
    return true;
}

int caps_from_name(const char *name, int *cap)
{
    /* libcap is lenient (lower case, numbers, "a,b" lists); the spec spells
     * names exactly, so insist on the form and check the name round-trips. */
    cap_value_t value;
    if (!is_cap_name_syntax(name) || cap_from_name(name, &value) < 0)
        return -1;
    char *canonical auto_cap_free = cap_to_name(value);
    if (canonical == NULL || strcasecmp(canonical, name) != 0)
        return -1;
    *cap = value;
    return 0;
}

/* "CAP_NET_ADMIN"; false when libcap has no name for the number. */
static bool cap_upper_name(int cap, char *buf, size_t len)
{
    char *lower auto_cap_free = cap_to_name(cap);
    if (lower == NULL || isdigit((unsigned char)lower[0]))
        return false;
    size_t i = 0;
    for (; lower[i] != '\0' && i + 1 < len; i++)
        buf[i] = (char)toupper((unsigned char)lower[i]);
    buf[i] = '\0';
    return true;
}

static const char *cap_display_name(int cap, char *buf, size_t len)
{
    if (!cap_upper_name(cap, buf, len))
        snprintf(buf, len, "capability %d", cap);
    return buf;
}

static int parse_set(json_t *caps, const char *key, uint64_t *out, v12n_error *err)
{
    json_t *names;
    *out = 0;
    if (v12n_json_get_array(caps, key, &names, WHERE, err) < 0)
        return -1;
    int last = last_cap();
    size_t i;
    json_t *item;
    json_array_foreach(names, i, item)
    {
        if (!json_is_string(item))
            return v12n_fail(err, 0, WHERE ".%s[%zu]: expected a string", key, i);
        const char *name = json_string_value(item);
        int cap;
        if (caps_from_name(name, &cap) < 0)
            return v12n_fail(err, 0, WHERE ".%s: unknown capability \"%s\"", key, name);
        /* Known to libcap but not to this kernel: skipped, as runc does. */
        if (cap > last)
            continue;
        *out |= UINT64_C(1) << cap;
    }
    return 0;
}

int caps_parse(json_t *caps, struct oci_capabilities *out, v12n_error *err)
{
    *out = (struct oci_capabilities){0};
    if (!json_is_object(caps))
        return v12n_fail(err, 0, WHERE ": expected an object");
    if (parse_set(caps, "bounding", &out->bounding, err) < 0 ||
        parse_set(caps, "effective", &out->effective, err) < 0 ||
        parse_set(caps, "inheritable", &out->inheritable, err) < 0 ||
        parse_set(caps, "permitted", &out->permitted, err) < 0 ||
        parse_set(caps, "ambient", &out->ambient, err) < 0)
        return -1;
    return 0;
}

int caps_prepare_for_setuid(v12n_error *err)
{
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return v12n_fail_errno(err, "capabilities: set keepcaps");
    return 0;
}

int caps_apply_bounding(const struct oci_capabilities *caps, v12n_error *err)
{
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++) {
        if (caps->bounding & (UINT64_C(1) << cap))
            continue;
        /* Dropping needs CAP_SETPCAP even when already gone: look first. */
        int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (present == 0)
            continue;
        if (present < 0 || prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            char name[64];
            return v12n_fail_errno(err, "capabilities: drop %s from the bounding set",
                                   cap_display_name(cap, name, sizeof name));
        }
    }
    return 0;
}

static int set_flag_bits(cap_t c, cap_flag_t flag, uint64_t bits)
{
    int last = last_cap();
    for (cap_value_t cap = 0; cap <= last; cap++)
        if ((bits & (UINT64_C(1) << cap)) && cap_set_flag(c, flag, 1, &cap, CAP_SET) < 0)
            return -1;
    return 0;
}

static int set_process_caps(const struct oci_capabilities *caps, v12n_error *err)
{
    cap_t c auto_cap_free = cap_init();
    if (c == NULL)
        return v12n_fail_errno(err, "capabilities: cap_init");
    if (set_flag_bits(c, CAP_EFFECTIVE, caps->effective) < 0 ||
        set_flag_bits(c, CAP_PERMITTED, caps->permitted) < 0 ||
        set_flag_bits(c, CAP_INHERITABLE, caps->inheritable) < 0)
        return v12n_fail_errno(err, "capabilities: cap_set_flag");
    if (cap_set_proc(c) < 0)
        return v12n_fail_errno(err,
                               "capabilities: set effective 0x%llx, permitted 0x%llx, "
                               "inheritable 0x%llx",
                               (unsigned long long)caps->effective,
                               (unsigned long long)caps->permitted,
                               (unsigned long long)caps->inheritable);
    return 0;
}

static int set_ambient_caps(uint64_t ambient, v12n_error *err)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return v12n_fail_errno(err, "capabilities: clear the ambient set");
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++) {
        if (!(ambient & (UINT64_C(1) << cap)))
            continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
            char name[64];
            return v12n_fail_errno(err,
                                   "capabilities: raise ambient %s (it must be permitted and "
                                   "inheritable)",
                                   cap_display_name(cap, name, sizeof name));
        }
    }
    return 0;
}

int caps_apply_sets(const struct oci_capabilities *caps, v12n_error *err)
{
    if (set_process_caps(caps, err) < 0 || set_ambient_caps(caps->ambient, err) < 0)
        return -1;
    /* Keepcaps was only for the uid change; execve must not inherit it. */
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return v12n_fail_errno(err, "capabilities: clear keepcaps");
    return 0;
}

json_t *caps_known_names(void)
{
    json_t *names = json_array();
    if (names == NULL)
        return NULL;
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++) {
        char name[64];
        /* A kernel newer than libcap: no name to give. */
        if (!cap_upper_name(cap, name, sizeof name))
            continue;
        if (json_array_append_new(names, json_string(name)) < 0) {
            json_decref(names);
            return NULL;
        }
    }
    return names;
}
