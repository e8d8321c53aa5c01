/* Building and running a VM: KVM objects, guest RAM, the in-kernel
 * irqchip and PIT, the boot structures, the devices, the vCPU threads and
 * the event-loop thread until something stops it; then, once those
 * (seccomp-confined) threads have ended, teardown on the caller's thread. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "vmm/vm_internal.h"

#define MMIO_HOLE_START  0xc0000000ull /* 3 GiB: devices live in [3 GiB, 4 GiB) */
#define TSS_ADDR         0xfffbd000ull /* VT-x real-mode helpers, inside the hole */
#define IDENTITY_MAP     0xfffbc000ull
#define MAX_IMAGE_SIZE   (512ull << 20)
#define KVM_API_EXPECTED 12

const char *vm_stop_name(enum vm_stop stop)
{
    static const char *const names[] = {
        [VM_STOP_NONE] = "running",
        [VM_STOP_POWEROFF] = "powered off",
        [VM_STOP_GUEST_EXIT] = "guest exit",
        [VM_STOP_RESET] = "reset",
        [VM_STOP_TRIPLE_FAULT] = "triple fault",
        [VM_STOP_QUIT] = "quit from the console",
        [VM_STOP_ERROR] = "VMM error",
    };
    return (unsigned)stop < sizeof(names) / sizeof(names[0]) ? names[stop] : "unknown";
}

void vm_request_stop(struct vm *vm, enum vm_stop stop, uint32_t code, const v12n_error *cause)
{
    pthread_mutex_lock(&vm->stop_lock);
    if (vm->result.stop == VM_STOP_NONE) {
        vm->result.stop = stop;
        vm->result.guest_code = code;
        if (cause != NULL)
            vm->result.err = *cause;
    }
    atomic_store(&vm->stopping, true);
    pthread_mutex_unlock(&vm->stop_lock);
    for (unsigned i = 0; i < vm->n_vcpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    vmm_loop_stop(&vm->loop);
}

int vm_irq_line(struct vm *vm, unsigned gsi, int level, v12n_error *err)
{
    struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};
    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        return v12n_fail_errno(err, "irq %u: KVM_IRQ_LINE", gsi);
    return 0;
}

int vm_irqfd_create(struct vm *vm, unsigned gsi, v12n_error *err)
{
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0)
        return v12n_fail(err, ENOTSUP, "irq %u: KVM offers no irqfd", gsi);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return v12n_fail_errno(err, "irq %u: eventfd", gsi);
    struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};
    if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
        v12n_fail_errno(err, "irq %u: KVM_IRQFD", gsi);
        close(fd);
        return -1;
    }
    return fd;
}

/* Managed: the front's eventfd becomes the power button's interrupt (the
 * GED in the DSDT, x86/acpi.c): KVM pulses the GSI on each write. */
static int powerbtn_assign(struct vm *vm, int fd, v12n_error *err)
{
    struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = BOOT_ACPI_GED_GSI};
    if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
        return v12n_fail_errno(err, "power button: KVM_IRQFD on gsi %d", BOOT_ACPI_GED_GSI);
    return 0;
}

/* vmm_services for devices: edge interrupts (one eventfd write where the
 * device has an irqfd: no ioctl from the thread that raises it), loop
 * watches, ioeventfds. */
static int svc_irq_raise(void *ctx, unsigned gsi, v12n_error *err)
{
    struct vm *vm = ctx;
    for (unsigned i = 0; i < vm->n_virtio; i++) {
        if (vm->virtio[i].gsi != gsi || vm->irqfds[i] < 0)
            continue;
        uint64_t one = 1;
        if (write(vm->irqfds[i], &one, sizeof(one)) < 0 && errno != EAGAIN)
            return v12n_fail_errno(err, "irq %u: irqfd", gsi);
        return 0; /* EAGAIN: the counter is full, an interrupt is pending anyway */
    }
    if (vm_irq_line(vm, gsi, 1, err) < 0)
        return -1;
    return vm_irq_line(vm, gsi, 0, err);
}

static int svc_watch_fd(void *ctx, int fd, void (*cb)(void *arg), void *arg, v12n_error *err)
{
    return vmm_loop_watch(&((struct vm *)ctx)->loop, fd, cb, arg, err);
}

static int svc_unwatch_fd(void *ctx, int fd)
{
    return vmm_loop_unwatch(&((struct vm *)ctx)->loop, fd);
}

static int svc_ioeventfd(void *ctx, uint64_t addr, unsigned len, uint64_t value, int fd,
                         v12n_error *err)
{
    struct vm *vm = ctx;
    struct kvm_ioeventfd io = {.datamatch = value,
                               .addr = addr,
                               .len = len,
                               .fd = fd,
                               .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
    if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
        return v12n_fail_errno(err, "ioeventfd at 0x%llx", (unsigned long long)addr);
    return 0;
}

static int check_memory(uint64_t size, v12n_error *err)
{
    struct sysinfo si;
    if (sysinfo(&si) < 0)
        return v12n_fail_errno(err, "memory: sysinfo");
    uint64_t host = (uint64_t)si.totalram * si.mem_unit;
    if (size < (2ull << 20))
        return v12n_fail(err, EINVAL, "memory: %llu KiB is too little (2 MiB at least)",
                         (unsigned long long)(size >> 10));
    if (size > host)
        return v12n_fail(err, ENOMEM, "memory: %llu MiB asked, the host has %llu MiB",
                         (unsigned long long)(size >> 20), (unsigned long long)(host >> 20));
    return 0;
}

static int open_kvm(struct vm *vm, v12n_error *err)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0)
        return v12n_fail_errno(err, "open /dev/kvm");
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_EXPECTED)
        return v12n_fail(err, ENOTSUP, "/dev/kvm: unexpected KVM API version");
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0)
        return v12n_fail(err, ENOTSUP, "/dev/kvm: no in-kernel irqchip and PIT");
    vm->is_pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return v12n_fail_errno(err, "KVM_CREATE_VM");
    return 0;
}

static int setup_kvm_vm(struct vm *vm, v12n_error *err)
{
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
        return v12n_fail_errno(err, "KVM_SET_TSS_ADDR");
    uint64_t ident = IDENTITY_MAP;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
        return v12n_fail_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return v12n_fail_errno(err, "KVM_CREATE_IRQCHIP");
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return v12n_fail_errno(err, "KVM_CREATE_PIT2");
    for (unsigned i = 0; i < vm->mem.n_regions; i++) {
        const struct guest_mem_region *r = &vm->mem.regions[i];
        struct kvm_userspace_memory_region kr = {.slot = i,
                                                 .guest_phys_addr = r->gpa,
                                                 .memory_size = r->size,
                                                 .userspace_addr = (uintptr_t)r->host};
        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
            return v12n_fail_errno(err, "memory slot %u: KVM_SET_USER_MEMORY_REGION", i);
    }
    return 0;
}

/* Read a whole regular file of at most `max` bytes. */
static int slurp(const char *what, const char *path, uint8_t **data, size_t *len, v12n_error *err)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return v12n_fail_errno(err, "%s %s", what, path);
    if (!S_ISREG(st.st_mode) || st.st_size == 0 || (uint64_t)st.st_size > MAX_IMAGE_SIZE)
        return v12n_fail(err, EINVAL, "%s %s: not a regular file of 1 byte to %llu MiB", what, path,
                         MAX_IMAGE_SIZE >> 20);
    *len = (size_t)st.st_size;
    *data = malloc(*len);
    if (*data == NULL)
        return v12n_fail_errno(err, "%s %s: allocate", what, path);
    for (size_t done = 0; done < *len;) {
        ssize_t n = read(fd, *data + done, *len - done);
        if (n <= 0) {
            free(*data);
            *data = NULL;
            return v12n_fail(err, n < 0 ? errno : EIO, "%s %s: read", what, path);
        }
        done += (size_t)n;
    }
    return 0;
}

static int load_boot(struct vm *vm, const struct vm_config *cfg, v12n_error *err)
{
    auto_free uint8_t *kernel = NULL;
    size_t klen;
    if (slurp("kernel", cfg->kernel, &kernel, &klen, err) < 0)
        return -1;
    if (boot_kernel_load(&vm->mem, kernel, klen, &vm->image, err) < 0)
        return v12n_error_wrap(err, "%s", cfg->kernel);
    struct boot_params_in in = {.cmdline = vm->cmdline};
    if (cfg->initrd != NULL) {
        auto_free uint8_t *initrd = NULL;
        size_t ilen;
        if (slurp("initrd", cfg->initrd, &initrd, &ilen, err) < 0 ||
            boot_initrd_load(&vm->mem, initrd, ilen, vm->image.load_end, &in.initrd_addr, err) < 0)
            return -1;
        in.initrd_size = ilen;
    }
    struct boot_acpi_virtio acpi_dev[VM_MAX_VIRTIO];
    for (unsigned i = 0; i < vm->n_virtio; i++)
        acpi_dev[i] = (struct boot_acpi_virtio){.base = (uint32_t)vm->virtio[i].base,
                                                .gsi = vm->virtio[i].gsi};
    if (boot_gdt_build(&vm->mem, err) < 0 || boot_paging_build(&vm->mem, err) < 0 ||
        boot_mptable_build(&vm->mem, cfg->cpus, err) < 0 ||
        boot_acpi_build(&vm->mem, cfg->cpus, acpi_dev, vm->n_virtio, err) < 0)
        return -1;
    in.rsdp_addr = BOOT_ACPI_RSDP_ADDR;
    if (vm->image.mode == BOOT_MODE_PVH32)
        return boot_pvh_build(&vm->mem, &in, err);
    return boot_zeropage_build(&vm->mem, &vm->image, &in, err);
}

static int setup_devices(struct vm *vm, const struct vm_config *cfg, v12n_error *err)
{
    vmm_bus_init(&vm->pio, "pio");
    vmm_bus_init(&vm->mmio, "mmio");
    vm->services = (struct vmm_services){.ctx = vm,
                                         .mem = &vm->mem,
                                         .irq_raise = svc_irq_raise,
                                         .watch_fd = svc_watch_fd,
                                         .unwatch_fd = svc_unwatch_fd,
                                         .ioeventfd = svc_ioeventfd};
    if (serial8250_init(vm, &vm->serial, cfg->console_out, err) < 0 || i8042_init(vm, err) < 0 ||
        rtc_init(vm, err) < 0 || sysctl_ports_init(vm, err) < 0)
        return -1;
    return vm_virtio_init(vm, cfg, err);
}

/* The console: one reader of the terminal for either console, so that
 * Ctrl-a x stops the VM whichever the guest uses; Ctrl-a Ctrl-a sends one
 * Ctrl-a; the other bytes go to the serial port or into the virtio
 * console's pipe. */
struct console_in {
    struct vm *vm;
    int fd;
    bool escape;
    bool raw; /* managed: no escape key, the socket client detaches instead */
};

static void console_readable(void *arg)
{
    struct console_in *ci = arg;
    uint8_t buf[256], out[256];
    ssize_t n = read(ci->fd, buf, sizeof(buf));
    if (n <= 0) {
        vmm_loop_unwatch(&ci->vm->loop, ci->fd); /* end of input: the guest runs on */
        return;
    }
    size_t m = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (ci->raw) {
            out[m++] = buf[i];
        } else if (ci->escape) {
            ci->escape = false;
            if (buf[i] == 'x') {
                vm_request_stop(ci->vm, VM_STOP_QUIT, 0, NULL);
                return;
            }
            if (buf[i] == 0x01)
                out[m++] = buf[i];
        } else if (buf[i] == 0x01) {
            ci->escape = true;
            continue;
        } else {
            out[m++] = buf[i];
        }
    }
    if (ci->vm->console_pipe[1] < 0) {
        serial8250_receive(&ci->vm->serial, out, m);
        return;
    }
    /* A full pipe (the guest reads nothing) loses input, as a full UART
     * FIFO does: the loop must not block on the guest. */
    (void)!write(ci->vm->console_pipe[1], out, m);
}

/* Managed: the front (managed.c) asks for the end of the VM by writing
 * this eventfd. */
static void quit_readable(void *arg)
{
    struct console_in *ci = arg;
    uint64_t v;
    if (read(ci->vm->quit_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        vm_request_stop(ci->vm, VM_STOP_QUIT, 0, NULL);
}

/* --console virtio: the pipe between the terminal reader and the device,
 * non-blocking at both ends (the device reads until it would block). */
static int open_console_pipe(struct vm *vm, const struct vm_config *cfg, v12n_error *err)
{
    if (!cfg->virtio_console || cfg->console_in < 0)
        return 0;
    if (pipe2(vm->console_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        vm->console_pipe[0] = vm->console_pipe[1] = -1;
        return v12n_fail_errno(err, "virtio console: pipe");
    }
    return 0;
}

static void vm_teardown(struct vm *vm)
{
    atomic_store(&vm->stopping, true);
    for (unsigned i = 0; i < vm->n_vcpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    for (unsigned i = 0; i < vm->n_vcpus; i++)
        vcpu_destroy(&vm->vcpus[i]);
    vm_virtio_destroy(vm);
    vmm_loop_destroy(&vm->loop);
    for (int i = 0; i < 2; i++)
        if (vm->console_pipe[i] >= 0)
            close(vm->console_pipe[i]);
    free(vm->cpuid);
    guest_mem_destroy(&vm->mem);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    pthread_mutex_destroy(&vm->stop_lock);
}

static int vm_build(struct vm *vm, const struct vm_config *cfg, v12n_error *err)
{
    if (cfg->cpus == 0 || cfg->cpus > VM_MAX_CPUS)
        return v12n_fail(err, EINVAL, "cpus: %u, 1 to %d supported", cfg->cpus, VM_MAX_CPUS);
    if (check_memory(cfg->mem_size, err) < 0 || open_kvm(vm, err) < 0 ||
        guest_mem_init(&vm->mem, cfg->mem_size, MMIO_HOLE_START, err) < 0 ||
        setup_kvm_vm(vm, err) < 0 || vmm_loop_init(&vm->loop, err) < 0 ||
        open_console_pipe(vm, cfg, err) < 0 || setup_devices(vm, cfg, err) < 0 ||
        load_boot(vm, cfg, err) < 0 || cpuid_init(vm, err) < 0)
        return -1;
    for (unsigned i = 0; i < cfg->cpus; i++) {
        if (vcpu_create(vm, i, err) < 0)
            return -1;
        vm->n_vcpus = i + 1;
    }
    return vcpu_setup_boot(&vm->vcpus[0], err);
}

/* The event loop confines itself first: from here on it runs virtio queue
 * work for the guest. */
static void *loop_thread(void *arg)
{
    struct vm *vm = arg;
    v12n_error e = {0};
    bool irq_line = false;
    for (unsigned i = 0; i < vm->n_virtio; i++)
        irq_line |= vm->irqfds[i] < 0;
    if (loop_seccomp_install(irq_line, &e) < 0 || vmm_loop_run(&vm->loop, &e) < 0)
        vm_request_stop(vm, VM_STOP_ERROR, 0, &e);
    return NULL;
}

/* Run the event loop on its own thread until the VM stops; the caller's
 * thread only waits, then tears down (close, munmap, KVM ioctls the
 * filters forbid). */
static void run_loop(struct vm *vm)
{
    sigset_t all, old;
    sigfillset(&all); /* process signals stay with the unconfined caller */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&vm->loop_thread, NULL, loop_thread, vm);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        v12n_error e;
        v12n_fail(&e, r, "event loop: start its thread");
        vm_request_stop(vm, VM_STOP_ERROR, 0, &e);
        return;
    }
    pthread_setname_np(vm->loop_thread, "vmm-loop"); /* for ps and /proc: cosmetic */
    pthread_join(vm->loop_thread, NULL);
}

int vm_run(const struct vm_config *cfg, struct vm_result *res, v12n_error *err)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (vm == NULL)
        return v12n_fail_errno(err, "vm: allocate");
    vm->kvm_fd = vm->vm_fd = vm->loop.epoll_fd = vm->loop.stop_fd = -1;
    vm->console_pipe[0] = vm->console_pipe[1] = -1;
    for (unsigned i = 0; i < VM_MAX_VIRTIO; i++)
        vm->irqfds[i] = -1;
    pthread_mutex_init(&vm->stop_lock, NULL);
    struct console_in ci = {.vm = vm, .fd = cfg->console_in, .raw = cfg->managed != NULL};
    vm->quit_fd = cfg->managed ? cfg->managed->quit_fd : -1;
    int r = vm_build(vm, cfg, err);
    if (r == 0 && cfg->console_in >= 0) {
        r = vmm_loop_watch(&vm->loop, cfg->console_in, console_readable, &ci, err);
        if (r < 0 && err->errnum == EPERM) /* a file or /dev/null: no input, not an error */
            r = 0;
    }
    if (r == 0 && vm->quit_fd >= 0)
        r = vmm_loop_watch(&vm->loop, vm->quit_fd, quit_readable, &ci, err);
    if (r == 0 && cfg->managed != NULL && cfg->managed->powerbtn_fd >= 0)
        r = powerbtn_assign(vm, cfg->managed->powerbtn_fd, err);
    if (r == 0 && cfg->managed != NULL && cfg->managed->ready != NULL)
        cfg->managed->ready(cfg->managed->arg);
    for (unsigned i = 0; r == 0 && i < vm->n_vcpus; i++)
        r = vcpu_start(&vm->vcpus[i], err);
    if (r == 0) {
        run_loop(vm);
        *res = vm->result;
    }
    vm_teardown(vm);
    free(vm);
    return r;
}
