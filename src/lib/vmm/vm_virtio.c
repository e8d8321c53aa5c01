/* The VM's virtio devices: each on virtio-mmio at the next 4 KiB slot from
 * 0xd0000000 with the next free ISA interrupt, announced to the kernel on
 * its command line (virtio_mmio.device=4K@ADDR:IRQ). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vm_internal.h"

/* ISA lines no legacy device of ours uses (4: serial, 8: RTC, 0/2: PIT). */
static const unsigned virtio_gsis[VM_MAX_VIRTIO] = {5, 6, 7, 9, 10, 11, 14, 15};

static int append_cmdline(struct vm *vm, const struct virtio_mmio *t, v12n_error *err)
{
    char frag[96];
    if (virtio_mmio_cmdline(t, frag, sizeof(frag)) < 0)
        return v12n_fail(err, ENOSPC, "%s: command-line fragment", t->name);
    size_t old = strlen(vm->cmdline), add = strlen(frag);
    char *s = realloc(vm->cmdline, old + 1 + add + 1);
    if (s == NULL)
        return v12n_fail_errno(err, "kernel command line: allocate");
    s[old] = old > 0 ? ' ' : '\0';
    memcpy(s + old + (old > 0), frag, add + 1);
    vm->cmdline = s;
    return 0;
}

static int attach(struct vm *vm, struct virtio_dev *dev, v12n_error *err)
{
    if (dev == NULL)
        return -1;
    if (vm->n_virtio == VM_MAX_VIRTIO) {
        virtio_dev_destroy(dev);
        return v12n_fail(err, ENOSPC, "virtio: more than %d devices", VM_MAX_VIRTIO);
    }
    struct virtio_mmio *t = &vm->virtio[vm->n_virtio];
    unsigned gsi = virtio_gsis[vm->n_virtio];
    int irqfd = vm_irqfd_create(vm, gsi, err);
    if (irqfd < 0 && err->errnum != ENOTSUP) {
        virtio_dev_destroy(dev);
        return -1;
    }
    v12n_error_clear(err); /* no irqfd: KVM_IRQ_LINE instead */
    vm->irqfds[vm->n_virtio] = irqfd;
    uint64_t base = VM_VIRTIO_BASE + (uint64_t)vm->n_virtio * VIRTIO_MMIO_SIZE;
    if (virtio_mmio_attach(t, dev, &vm->mmio, base, gsi, err) < 0) {
        virtio_dev_destroy(dev);
        if (irqfd >= 0)
            close(irqfd);
        vm->irqfds[vm->n_virtio] = -1;
        return -1;
    }
    vm->n_virtio++;
    return append_cmdline(vm, t, err);
}

int vm_virtio_init(struct vm *vm, const struct vm_config *cfg, v12n_error *err)
{
    vm->cmdline = strdup(cfg->cmdline ? cfg->cmdline : "");
    if (vm->cmdline == NULL)
        return v12n_fail_errno(err, "kernel command line: allocate");
    for (unsigned i = 0; i < cfg->n_disks; i++)
        if (attach(vm, virtio_blk_create(&cfg->disks[i], &vm->services, err), err) < 0)
            return -1;
    for (unsigned i = 0; i < cfg->n_nets; i++)
        if (attach(vm, virtio_net_create(&cfg->nets[i], &vm->services, err), err) < 0)
            return -1;
    if (cfg->virtio_console &&
        attach(vm, virtio_console_create(vm->console_pipe[0], cfg->console_out, &vm->services, err),
               err) < 0)
        return -1;
    if (cfg->rng && attach(vm, virtio_rng_create(&vm->services, err), err) < 0)
        return -1;
    return 0;
}

void vm_virtio_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < vm->n_virtio; i++) {
        virtio_mmio_detach(&vm->virtio[i]);
        virtio_dev_destroy(vm->virtio[i].dev);
        if (vm->irqfds[i] >= 0)
            close(vm->irqfds[i]);
        vm->irqfds[i] = -1;
    }
    vm->n_virtio = 0;
    free(vm->cmdline);
    vm->cmdline = NULL;
}
