/* The device cgroup of v2: a BPF_PROG_TYPE_CGROUP_DEVICE program, written
 * out instruction by instruction (no libbpf), loaded with bpf(2) and attached
 * to the container's directory.  It decides exactly as cg_devices_allowed():
 * the exceptions of the emulated rule list, else the default. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/cgroup_internal.h"
#include "util/cleanup.h"

/* Registers once the context is unpacked. */
enum {
    REG_CTX = 1, /* struct bpf_cgroup_dev_ctx *, then scratch */
    REG_TYPE = 2,
    REG_ACCESS = 3,
    REG_MAJOR = 4,
    REG_MINOR = 5,
};

struct program {
    struct bpf_insn *insns;
    size_t n, cap;
};

static int emit(struct program *p, struct bpf_insn insn)
{
    if (p->n == p->cap) {
        size_t cap = p->cap == 0 ? 64 : p->cap * 2;
        struct bpf_insn *bigger = realloc(p->insns, cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        p->insns = bigger;
        p->cap = cap;
    }
    p->insns[p->n++] = insn;
    return 0;
}

static struct bpf_insn load_ctx_u32(int dst, int16_t off)
{
    return (struct bpf_insn){
        .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = dst, .src_reg = REG_CTX, .off = off};
}

static struct bpf_insn alu32_imm(int op, int dst, int32_t imm)
{
    return (struct bpf_insn){.code = BPF_ALU | op | BPF_K, .dst_reg = dst, .imm = imm};
}

static struct bpf_insn alu64_imm(int op, int dst, int32_t imm)
{
    return (struct bpf_insn){.code = BPF_ALU64 | op | BPF_K, .dst_reg = dst, .imm = imm};
}

static struct bpf_insn mov64_reg(int dst, int src)
{
    return (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = dst, .src_reg = src};
}

/* Jumps start with offset 0 and are patched to the block's end. */
static struct bpf_insn jump_imm(int op, int dst, int32_t imm)
{
    return (struct bpf_insn){.code = BPF_JMP | op | BPF_K, .dst_reg = dst, .imm = imm};
}

static struct bpf_insn jump_reg(int op, int dst, int src)
{
    return (struct bpf_insn){.code = BPF_JMP | op | BPF_X, .dst_reg = dst, .src_reg = src};
}

static struct bpf_insn exit_insn(void)
{
    return (struct bpf_insn){.code = BPF_JMP | BPF_EXIT};
}

/* ctx->access_type is (access << 16) | type. */
static int emit_prologue(struct program *p)
{
    if (emit(p, load_ctx_u32(REG_TYPE, 0)) < 0 ||
        emit(p, alu32_imm(BPF_AND, REG_TYPE, 0xffff)) < 0 ||
        emit(p, load_ctx_u32(REG_ACCESS, 0)) < 0 ||
        emit(p, alu32_imm(BPF_RSH, REG_ACCESS, 16)) < 0 ||
        emit(p, load_ctx_u32(REG_MAJOR, 4)) < 0 || emit(p, load_ctx_u32(REG_MINOR, 8)) < 0)
        return -1;
    return 0;
}

static int emit_return(struct program *p, bool allow)
{
    if (emit(p, alu64_imm(BPF_MOV, BPF_REG_0, allow ? 1 : 0)) < 0 || emit(p, exit_insn()) < 0)
        return -1;
    return 0;
}

/* A device number wider than an immediate can never be a real device:
 * such an exception matches nothing. */
static bool fits_imm(int64_t v)
{
    return v == CG_DEV_WILDCARD || (v >= 0 && v <= INT32_MAX);
}

/* if (matches e) return !default; else fall through to the next block. */
static int emit_exception(struct program *p, const struct cg_device_rule *e, bool default_allow)
{
    if (!fits_imm(e->major) || !fits_imm(e->minor))
        return 0;
    size_t jumps[4], n_jumps = 0;
    int type = e->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    jumps[n_jumps++] = p->n;
    if (emit(p, jump_imm(BPF_JNE, REG_TYPE, type)) < 0)
        return -1;
    if (e->major != CG_DEV_WILDCARD) {
        jumps[n_jumps++] = p->n;
        if (emit(p, jump_imm(BPF_JNE, REG_MAJOR, (int32_t)e->major)) < 0)
            return -1;
    }
    if (e->minor != CG_DEV_WILDCARD) {
        jumps[n_jumps++] = p->n;
        if (emit(p, jump_imm(BPF_JNE, REG_MINOR, (int32_t)e->minor)) < 0)
            return -1;
    }
    if (e->access != CG_DEV_ALL) {
        /* Allowed: every requested bit must be in e; denied: any one is enough. */
        if (emit(p, mov64_reg(REG_CTX, REG_ACCESS)) < 0 ||
            emit(p, alu64_imm(BPF_AND, REG_CTX, (int32_t)e->access)) < 0)
            return -1;
        jumps[n_jumps++] = p->n;
        struct bpf_insn skip =
            default_allow ? jump_imm(BPF_JEQ, REG_CTX, 0) : jump_reg(BPF_JNE, REG_CTX, REG_ACCESS);
        if (emit(p, skip) < 0)
            return -1;
    }
    if (emit_return(p, !default_allow) < 0)
        return -1;
    for (size_t i = 0; i < n_jumps; i++)
        p->insns[jumps[i]].off = (int16_t)(p->n - jumps[i] - 1);
    return 0;
}

int cg_bpf_devices_program(const struct cg_device_state *state, struct bpf_insn **insns, size_t *n,
                           v12n_error *err)
{
    struct program p = {0};
    int rc = emit_prologue(&p);
    for (size_t i = 0; rc == 0 && i < state->n; i++)
        rc = emit_exception(&p, &state->exceptions[i], state->default_allow);
    if (rc == 0)
        rc = emit_return(&p, state->default_allow);
    if (rc < 0 || p.n > BPF_MAXINSNS) {
        free(p.insns);
        return v12n_fail(err, rc < 0 ? ENOMEM : E2BIG, "device program: %s",
                         rc < 0 ? "out of memory" : "too many device rules");
    }
    *insns = p.insns;
    *n = p.n;
    return 0;
}

static int bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* The verifier's last line says why it refused. */
static const char *last_line(char *log)
{
    size_t len = strlen(log);
    while (len > 0 && log[len - 1] == '\n')
        log[--len] = '\0';
    char *nl = strrchr(log, '\n');
    return nl != NULL ? nl + 1 : log;
}

static int prog_load(const struct bpf_insn *insns, size_t n, char *log, uint32_t log_size)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t) "Apache";
    if (log != NULL) {
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    return bpf(BPF_PROG_LOAD, &attr);
}

/* Without a log first: a log too small for a long program fails the load
 * (ENOSPC).  Only a refused program is loaded again to learn why. */
static int load_program(const struct bpf_insn *insns, size_t n, v12n_error *err)
{
    int fd = prog_load(insns, n, NULL, 0);
    if (fd >= 0)
        return fd;
    int saved = errno;
    enum { LOG_SIZE = 1 << 20 };
    auto_free char *log = calloc(1, LOG_SIZE);
    if (log == NULL)
        return v12n_fail(err, saved, "device program: BPF_PROG_LOAD");
    fd = prog_load(insns, n, log, LOG_SIZE);
    if (fd >= 0)
        return fd; /* a transient failure */
    return v12n_fail(err, saved, "device program: BPF_PROG_LOAD%s%s", log[0] ? ": " : "",
                     last_line(log));
}

int cg_bpf_devices_attach(const char *dir, const struct cg_device_state *state, v12n_error *err)
{
    struct bpf_insn *insns = NULL;
    size_t n = 0;
    if (cg_bpf_devices_program(state, &insns, &n, err) < 0)
        return -1;
    auto_close int prog = load_program(insns, n, err);
    free(insns);
    if (prog < 0)
        return v12n_error_wrap(err, "cgroup %s", dir);
    auto_close int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd < 0)
        return v12n_fail_errno(err, "cgroup %s: open", dir);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgfd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* Programs of the parents keep running too: a device must pass them all.
     * The program stays attached after its fd is closed, for the cgroup's life. */
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, &attr) < 0)
        return v12n_fail_errno(err, "cgroup %s: attach device program", dir);
    return 0;
}
