/* linux.seccomp compiled with libseccomp.
 *
 * The whole profile is turned into a BPF program at parse time: a bad profile
 * fails before any container exists, and the container process, right before
 * execve, only makes one seccomp(2) call -- no allocation and no libseccomp
 * state after fork.  Because we load the program ourselves, libseccomp's
 * SCMP_FLTATR_CTL_NNP never applies: no_new_privs is the runtime's business
 * (process.noNewPrivileges), and root can load the filter without it. */
#include "container/seccomp.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define WHERE         "linux.seccomp"
#define MAX_ARG_INDEX 5

struct seccomp_profile {
    unsigned int flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
    unsigned short n_insns;
    struct sock_filter *insns;
};

struct name_value {
    const char *name;
    uint32_t value;
};

static const struct name_value arch_names[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
};

static const struct name_value flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

static const struct name_value op_names[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* ERRNO and TRACE carry a 16-bit value (errnoRet) in the action itself. */
static const struct name_value plain_actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const struct name_value *lookup(const struct name_value *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

static void release_ctx(scmp_filter_ctx *ctx)
{
    if (*ctx != NULL)
        seccomp_release(*ctx);
}
#define auto_scmp __attribute__((cleanup(release_ctx)))

/* A member that must be present, as a string. */
static int get_required_string(json_t *obj, const char *key, const char **out, const char *where,
                               v12n_error *err)
{
    *out = NULL;
    if (v12n_json_get_string(obj, key, out, where, err) < 0)
        return -1;
    if (*out == NULL)
        return v12n_fail(err, 0, "%s.%s: required", where, key);
    return 0;
}

/* `action_key` names the action and `errno_key` its errnoRet (EPERM when
 * absent, as runc does). */
static int parse_action(json_t *obj, const char *action_key, const char *errno_key,
                        const char *where, uint32_t *out, v12n_error *err)
{
    const char *name;
    if (get_required_string(obj, action_key, &name, where, err) < 0)
        return -1;
    uint32_t errno_ret = EPERM;
    if (v12n_json_get_uint32(obj, errno_key, &errno_ret, where, err) < 0)
        return -1;

    const struct name_value *plain = lookup(plain_actions, N_ELEMENTS(plain_actions), name);
    if (plain != NULL) {
        *out = plain->value;
        return 0;
    }
    bool is_errno = strcmp(name, "SCMP_ACT_ERRNO") == 0;
    if (is_errno || strcmp(name, "SCMP_ACT_TRACE") == 0) {
        if (errno_ret > 0xffff)
            return v12n_fail(err, 0, "%s.%s: %u does not fit in 16 bits", where, errno_key,
                             errno_ret);
        *out = is_errno ? SCMP_ACT_ERRNO(errno_ret) : SCMP_ACT_TRACE(errno_ret);
        return 0;
    }
    if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        return v12n_fail(err, ENOTSUP,
                         "%s.%s: SCMP_ACT_NOTIFY (seccomp listener) is not supported yet", where,
                         action_key);
    return v12n_fail(err, 0, "%s.%s: unknown action \"%s\"", where, action_key, name);
}

static int parse_flags(json_t *seccomp, unsigned int *out, v12n_error *err)
{
    json_t *flags;
    *out = 0;
    if (v12n_json_get_array(seccomp, "flags", &flags, WHERE, err) < 0)
        return -1;
    size_t i;
    json_t *item;
    json_array_foreach(flags, i, item)
    {
        if (!json_is_string(item))
            return v12n_fail(err, 0, WHERE ".flags[%zu]: expected a string", i);
        const char *name = json_string_value(item);
        const struct name_value *flag = lookup(flag_names, N_ELEMENTS(flag_names), name);
        if (flag == NULL)
            return v12n_fail(err, ENOTSUP, WHERE ".flags[%zu]: unsupported flag \"%s\"", i, name);
        *out |= flag->value;
    }
    return 0;
}

static int add_architectures(scmp_filter_ctx ctx, json_t *seccomp, v12n_error *err)
{
    json_t *arches;
    if (v12n_json_get_array(seccomp, "architectures", &arches, WHERE, err) < 0)
        return -1;
    size_t i;
    json_t *item;
    json_array_foreach(arches, i, item)
    {
        if (!json_is_string(item))
            return v12n_fail(err, 0, WHERE ".architectures[%zu]: expected a string", i);
        const char *name = json_string_value(item);
        const struct name_value *arch = lookup(arch_names, N_ELEMENTS(arch_names), name);
        if (arch == NULL)
            return v12n_fail(err, 0, WHERE ".architectures[%zu]: unknown architecture \"%s\"", i,
                             name);
        int rc = seccomp_arch_add(ctx, arch->value);
        /* The native architecture is always in the filter already. */
        if (rc < 0 && rc != -EEXIST)
            return v12n_fail(err, -rc, WHERE ".architectures[%zu]: add %s", i, name);
    }
    return 0;
}

static int parse_arg(json_t *arg, struct scmp_arg_cmp *out, const char *where, v12n_error *err)
{
    if (!json_is_object(arg))
        return v12n_fail(err, 0, "%s: expected an object", where);
    uint32_t index = 0;
    uint64_t value = 0, value_two = 0;
    const char *op_name;
    if (v12n_json_get_uint32(arg, "index", &index, where, err) < 0 ||
        v12n_json_get_uint64(arg, "value", &value, where, err) < 0 ||
        v12n_json_get_uint64(arg, "valueTwo", &value_two, where, err) < 0 ||
        get_required_string(arg, "op", &op_name, where, err) < 0)
        return -1;
    if (index > MAX_ARG_INDEX)
        return v12n_fail(err, 0, "%s.index: %u is out of range (0-%d)", where, index,
                         MAX_ARG_INDEX);
    const struct name_value *op = lookup(op_names, N_ELEMENTS(op_names), op_name);
    if (op == NULL)
        return v12n_fail(err, 0, "%s.op: unknown operator \"%s\"", where, op_name);
    *out = (struct scmp_arg_cmp){
        .arg = index, .op = (enum scmp_compare)op->value, .datum_a = value, .datum_b = value_two};
    return 0;
}

/* libseccomp cannot hold two conditions on one argument in a rule. */
static bool has_repeated_index(const struct scmp_arg_cmp *conds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (conds[i].arg == conds[j].arg)
                return true;
    return false;
}

/* runc's semantics: conditions on distinct arguments are ANDed in one rule;
 * as soon as an argument repeats, each condition becomes its own rule (OR). */
static int add_rules(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *conds,
                     size_t n, const char *where, const char *name, v12n_error *err)
{
    int rc;
    if (n == 0 || !has_repeated_index(conds, n)) {
        rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)n, conds);
    } else {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = seccomp_rule_add_array(ctx, action, nr, 1, &conds[i]);
    }
    if (rc < 0)
        return v12n_fail(err, -rc, "%s: add rule for %s", where, name);
    return 0;
}

static int parse_args(json_t *entry, struct scmp_arg_cmp **out, size_t *n_out, const char *where,
                      v12n_error *err)
{
    json_t *args;
    *out = NULL;
    *n_out = 0;
    if (v12n_json_get_array(entry, "args", &args, where, err) < 0)
        return -1;
    size_t n = json_array_size(args);
    if (n == 0)
        return 0;
    struct scmp_arg_cmp *conds auto_free = calloc(n, sizeof *conds);
    if (conds == NULL)
        return v12n_fail(err, ENOMEM, "%s.args", where);
    for (size_t i = 0; i < n; i++) {
        char arg_where[256];
        snprintf(arg_where, sizeof arg_where, "%s.args[%zu]", where, i);
        if (parse_arg(json_array_get(args, i), &conds[i], arg_where, err) < 0)
            return -1;
    }
    *out = v12n_take_ptr(&conds);
    *n_out = n;
    return 0;
}

static int add_syscall_entry(scmp_filter_ctx ctx, json_t *entry, uint32_t default_action,
                             const char *where, v12n_error *err)
{
    if (!json_is_object(entry))
        return v12n_fail(err, 0, "%s: expected an object", where);
    uint32_t action;
    json_t *names;
    if (parse_action(entry, "action", "errnoRet", where, &action, err) < 0 ||
        v12n_json_get_array(entry, "names", &names, where, err) < 0)
        return -1;
    if (names == NULL)
        return v12n_fail(err, 0, "%s.names: required", where);
    struct scmp_arg_cmp *conds auto_free = NULL;
    size_t n_conds;
    if (parse_args(entry, &conds, &n_conds, where, err) < 0)
        return -1;

    /* libseccomp refuses a rule that repeats the default action; it would be
     * a no-op anyway. */
    bool redundant = action == default_action;
    size_t i;
    json_t *item;
    json_array_foreach(names, i, item)
    {
        if (!json_is_string(item))
            return v12n_fail(err, 0, "%s.names[%zu]: expected a string", where, i);
        const char *name = json_string_value(item);
        int nr = seccomp_syscall_resolve_name(name);
        /* Unknown to libseccomp (newer kernel, or a typo): skipped, as runc does. */
        if (redundant || nr == __NR_SCMP_ERROR)
            continue;
        if (add_rules(ctx, action, nr, conds, n_conds, where, name, err) < 0)
            return -1;
    }
    return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, json_t *seccomp, uint32_t default_action,
                        v12n_error *err)
{
    json_t *syscalls;
    if (v12n_json_get_array(seccomp, "syscalls", &syscalls, WHERE, err) < 0)
        return -1;
    size_t i;
    json_t *entry;
    json_array_foreach(syscalls, i, entry)
    {
        char where[64];
        snprintf(where, sizeof where, WHERE ".syscalls[%zu]", i);
        if (add_syscall_entry(ctx, entry, default_action, where, err) < 0)
            return -1;
    }
    return 0;
}

/* libseccomp 2.5 exports BPF only to a file descriptor: go through a memfd. */
static int compile(scmp_filter_ctx ctx, struct seccomp_profile *p, v12n_error *err)
{
    int fd auto_close = memfd_create("v12n-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, WHERE ": memfd_create");
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0)
        return v12n_fail(err, -rc, WHERE ": generate BPF");
    struct stat st;
    if (fstat(fd, &st) < 0)
        return v12n_fail_errno(err, WHERE ": stat BPF");
    size_t size = (size_t)st.st_size;
    size_t n = size / sizeof(struct sock_filter);
    if (n == 0 || size % sizeof(struct sock_filter) != 0)
        return v12n_fail(err, 0, WHERE ": libseccomp produced %zu bytes of BPF", size);
    if (n > BPF_MAXINSNS)
        return v12n_fail(err, E2BIG, WHERE ": filter has %zu instructions, the kernel takes %d", n,
                         BPF_MAXINSNS);
    p->insns = malloc(size);
    if (p->insns == NULL)
        return v12n_fail(err, ENOMEM, WHERE ": BPF");
    ssize_t got = pread(fd, p->insns, size, 0);
    if (got < 0)
        return v12n_fail_errno(err, WHERE ": read BPF");
    if ((size_t)got != size)
        return v12n_fail(err, EIO, WHERE ": short read of BPF");
    p->n_insns = (unsigned short)n;
    return 0;
}

int seccomp_profile_parse(json_t *seccomp, struct seccomp_profile **out, v12n_error *err)
{
    *out = NULL;
    if (!json_is_object(seccomp))
        return v12n_fail(err, 0, WHERE ": expected an object");
    uint32_t default_action;
    unsigned int flags;
    if (parse_action(seccomp, "defaultAction", "defaultErrnoRet", WHERE, &default_action, err) < 0)
        return -1;
    if (parse_flags(seccomp, &flags, err) < 0)
        return -1;

    scmp_filter_ctx ctx auto_scmp = seccomp_init(default_action);
    if (ctx == NULL)
        return v12n_fail(err, ENOMEM, WHERE ": seccomp_init");
    /* A binary tree of syscall numbers instead of a chain: the kernel walks
     * the filter for every syscall number when it loads it (its action
     * cache), and Docker's profile is ~400 rules long. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0)
        return v12n_fail(err, EINVAL, WHERE ": seccomp_attr_set optimize");
    if (add_architectures(ctx, seccomp, err) < 0 ||
        add_syscalls(ctx, seccomp, default_action, err) < 0)
        return -1;

    struct seccomp_profile *p = calloc(1, sizeof *p);
    if (p == NULL)
        return v12n_fail(err, ENOMEM, WHERE);
    p->flags = flags;
    if (compile(ctx, p, err) < 0) {
        seccomp_profile_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* The compiled-filter cache: one file per profile, named by a hash of the
 * profile's canonical JSON.  The file holds that JSON too and a hit needs it
 * byte for byte, so a hash collision only costs a compile.  libseccomp's
 * version and the native architecture must match as well: another libseccomp
 * may know other syscalls. */

#define CACHE_MAGIC "v12nbpf2" /* 2: binary-tree filters */

struct cache_header {
    char magic[8];
    uint32_t scmp_version[3];
    uint32_t native_arch;
    uint32_t flags;
    uint32_t n_insns;
    uint64_t json_len;
};

static uint64_t fnv1a64(const char *data, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static void cache_header_init(struct cache_header *h, size_t json_len)
{
    const struct scmp_version *v = seccomp_version();
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CACHE_MAGIC, sizeof h->magic);
    h->scmp_version[0] = v->major;
    h->scmp_version[1] = v->minor;
    h->scmp_version[2] = v->micro;
    h->native_arch = seccomp_arch_native();
    h->json_len = json_len;
}

static bool cache_header_matches(const struct cache_header *got, const struct cache_header *want)
{
    return memcmp(got->magic, want->magic, sizeof got->magic) == 0 &&
           memcmp(got->scmp_version, want->scmp_version, sizeof got->scmp_version) == 0 &&
           got->native_arch == want->native_arch && got->json_len == want->json_len &&
           got->n_insns > 0 && got->n_insns <= BPF_MAXINSNS;
}

static struct seccomp_profile *cache_lookup(const char *path, const char *json, size_t json_len)
{
    v12n_error ignored;
    size_t size;
    char *data auto_free = v12n_read_file(path, &size, &ignored);
    struct cache_header got, want;
    if (data == NULL || size < sizeof got)
        return NULL;
    memcpy(&got, data, sizeof got);
    cache_header_init(&want, json_len);
    if (!cache_header_matches(&got, &want))
        return NULL;
    size_t insns_size = got.n_insns * sizeof(struct sock_filter);
    if (size != sizeof got + json_len + insns_size ||
        memcmp(data + sizeof got, json, json_len) != 0)
        return NULL;

    struct seccomp_profile *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->insns = malloc(insns_size);
    if (p->insns == NULL) {
        free(p);
        return NULL;
    }
    memcpy(p->insns, data + sizeof got + json_len, insns_size);
    p->n_insns = (unsigned short)got.n_insns;
    p->flags = got.flags;
    return p;
}

static void cache_store(const char *dir, const char *path, const char *json, size_t json_len,
                        const struct seccomp_profile *p)
{
    struct cache_header h;
    cache_header_init(&h, json_len);
    h.flags = p->flags;
    h.n_insns = p->n_insns;
    size_t insns_size = p->n_insns * sizeof(struct sock_filter);
    size_t size = sizeof h + json_len + insns_size;
    char *data auto_free = malloc(size);
    if (data == NULL)
        return;
    memcpy(data, &h, sizeof h);
    memcpy(data + sizeof h, json, json_len);
    memcpy(data + sizeof h + json_len, p->insns, insns_size);
    v12n_error ignored;
    if (v12n_mkdir_p(dir, 0700, &ignored) == 0)
        v12n_write_file_atomic(path, data, size, 0600, &ignored);
}

int seccomp_profile_parse_cached(json_t *seccomp, const char *cache_dir,
                                 struct seccomp_profile **out, v12n_error *err)
{
    *out = NULL;
    if (cache_dir == NULL)
        return seccomp_profile_parse(seccomp, out, err);
    char *json auto_free = json_dumps(seccomp, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    if (json == NULL)
        return seccomp_profile_parse(seccomp, out, err);
    size_t json_len = strlen(json);
    char path[PATH_MAX];
    /* The format in the name: binaries of two formats side by side (an
     * upgrade) each keep their file instead of replacing each other's. */
    int n = snprintf(path, sizeof path, "%s/%016llx." CACHE_MAGIC, cache_dir,
                     (unsigned long long)fnv1a64(json, json_len));
    if (n < 0 || (size_t)n >= sizeof path)
        return seccomp_profile_parse(seccomp, out, err);

    *out = cache_lookup(path, json, json_len);
    if (*out != NULL)
        return 0;
    if (seccomp_profile_parse(seccomp, out, err) < 0)
        return -1;
    cache_store(cache_dir, path, json, json_len, *out);
    return 0;
}

void seccomp_profile_free(struct seccomp_profile *p)
{
    if (p == NULL)
        return;
    free(p->insns);
    free(p);
}

int seccomp_profile_load(const struct seccomp_profile *p, v12n_error *err)
{
    struct sock_fprog prog = {.len = p->n_insns, .filter = p->insns};
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog);
    if (rc < 0 && errno == EACCES)
        return v12n_fail_errno(err, "seccomp: load filter (needs no_new_privs or CAP_SYS_ADMIN)");
    if (rc < 0)
        return v12n_fail_errno(err, "seccomp: load filter (%u instructions, flags 0x%x)",
                               p->n_insns, p->flags);
    /* With TSYNC, a positive result is the thread that could not follow. */
    if (rc > 0)
        return v12n_fail(err, EBUSY, "seccomp: thread %ld could not be synchronized", rc);
    return 0;
}
