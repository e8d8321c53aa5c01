/* The guest programs of tests/guests/virtio, run in process against the
 * real devices: the guest's code runs on a thread (its "vCPU"), its register
 * accesses go through the MMIO bus (VIO_HOSTED), and guest physical memory
 * is this process's own address space, identity-mapped, so the guest's
 * pointers are its physical addresses as in the identity-mapped guests.
 * Built once per program: GUEST_BLK, GUEST_NET or GUEST_RNG. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest_env.h"
#include "vio.h"
#include "virtio_driver.h"
#include "vmm/virtio/devices.h"

static struct fake_vm vm;
static char output[512];
static int guest_status = -1;
static bool guest_done;

void guest_puts(const char *s)
{
    strncat(output, s, sizeof(output) - strlen(output) - 1);
}

void guest_poweroff(int code)
{
    (void)code;
    abort(); /* the programs return from guest_main instead */
}

uint32_t vio_hosted_read(uintptr_t addr, unsigned len)
{
    uint32_t v = 0;
    if (!vmm_bus_dispatch(&vm.bus, addr, (uint8_t *)&v, len, false))
        v = 0xffffffff; /* unmapped, as on hardware */
    return v;
}

void vio_hosted_write(uintptr_t addr, uint32_t value)
{
    vmm_bus_dispatch(&vm.bus, addr, (uint8_t *)&value, 4, true);
}

/* Guest physical == host virtual over the user address space. */
static void identity_memory(void)
{
    fake_vm_init(&vm);
    struct guest_mem_region r = {
        .gpa = 0x10000, .size = (1ull << 47) - 0x10000, .host = (uint8_t *)(uintptr_t)0x10000};
    guest_mem_init_static(&vm.mem, &r, 1);
}

static void *vcpu(void *arg)
{
    (void)arg;
    guest_status = guest_main();
    __atomic_store_n(&guest_done, true, __ATOMIC_RELEASE);
    return NULL;
}

static void attach(struct virtio_dev *dev)
{
    assert_non_null(dev);
    v12n_error err = {0};
    vm.dev = dev;
    assert_int_equal(
        virtio_mmio_attach(&vm.mmio, dev, &vm.bus, VIO_MMIO_FIRST + VIO_MMIO_STEP, 6, &err), 0);
}

#ifdef GUEST_BLK
#define HOST_PATTERN  "v12n host wrote this sector"
#define GUEST_PATTERN "v12n guest wrote this sector"

static void test_guest(void **state)
{
    (void)state;
    identity_memory();
    char path[] = "/tmp/v12n-guest-blk-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t disk[8 * 512] = {0};
    memcpy(disk, HOST_PATTERN, sizeof(HOST_PATTERN) - 1);
    assert_int_equal(pwrite(fd, disk, sizeof(disk), 0), sizeof(disk));
    v12n_error err = {0};
    struct virtio_blk_opts opts = {.path = path};
    attach(virtio_blk_create(&opts, &vm.svc, &err));
    vcpu(NULL);
    assert_string_equal(output, "virtio-blk: ok\n");
    assert_int_equal(guest_status, 0);
    uint8_t back[512];
    assert_int_equal(pread(fd, back, 512, 512), 512);
    assert_memory_equal(back, GUEST_PATTERN, sizeof(GUEST_PATTERN) - 1);
    virtio_mmio_detach(&vm.mmio);
    virtio_dev_destroy(vm.dev);
    free(vm.ram);
    close(fd);
    unlink(path);
}
#endif

#ifdef GUEST_RNG
static void test_guest(void **state)
{
    (void)state;
    identity_memory();
    v12n_error err = {0};
    attach(virtio_rng_create(&vm.svc, &err));
    vcpu(NULL);
    assert_string_equal(output, "virtio-rng: ok\n");
    assert_int_equal(guest_status, 0);
    virtio_mmio_detach(&vm.mmio);
    virtio_dev_destroy(vm.dev);
    free(vm.ram);
}
#endif

#ifdef GUEST_NET
static const uint8_t guest_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

__attribute__((format(printf, 1, 2))) static void shell(const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_int_equal(system(buf), 0);
}

static int packet_socket(const char *tap)
{
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
    assert_true(s >= 0);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET,
                              .sll_protocol = htons(0x88b5),
                              .sll_ifindex = (int)if_nametoindex(tap)};
    assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
    int one = 1; /* see test_virtio_net.c: the qdisc drops until carrier */
    assert_int_equal(setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)), 0);
    return s;
}

/* The event loop's part: deliver TAP input while the guest runs. */
static void run_event_loop(void)
{
    while (!__atomic_load_n(&guest_done, __ATOMIC_ACQUIRE)) {
        int fd = __atomic_load_n(&vm.watched_fd, __ATOMIC_ACQUIRE);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (fd >= 0 && poll(&p, 1, 100) == 1)
            vm.watch_cb(vm.watch_arg);
        else if (fd < 0)
            usleep(1000);
    }
}

static char tap[IFNAMSIZ];

/* Runs even when an assertion fails midway: no TAP left behind. */
static int teardown(void **state)
{
    (void)state;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", tap);
    (void)!system(cmd);
    return 0;
}

static void test_guest(void **state)
{
    (void)state;
    snprintf(tap, sizeof(tap), "v12ngt%d", (int)getpid() % 100000);
    shell("ip tuntap add dev %s mode tap", tap);
    shell("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", tap);
    shell("ip link set %s up", tap);
    int sock = packet_socket(tap);
    identity_memory();
    v12n_error err = {0};
    struct virtio_net_opts opts = {.tap = tap, .mac_set = true, .tap_fd = -1};
    memcpy(opts.mac, guest_mac, 6);
    attach(virtio_net_create(&opts, &vm.svc, &err));

    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, vcpu, NULL), 0);
    /* The guest's frame arrives on the wire... */
    uint8_t frame[2048];
    struct pollfd p = {.fd = sock, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    ssize_t n = recv(sock, frame, sizeof(frame), 0);
    assert_true(n >= 60);
    assert_memory_equal(frame + 6, guest_mac, 6);
    assert_memory_equal(frame + 14, "ping from guest", 15);
    /* ...and the host answers it. */
    uint8_t reply[60] = {0};
    memcpy(reply, guest_mac, 6);
    memcpy(reply + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
    memcpy(reply + 14, "pong from host!", 15);
    struct sockaddr_ll to = {
        .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(tap), .sll_halen = 6};
    memcpy(to.sll_addr, guest_mac, 6);
    assert_int_equal(sendto(sock, reply, sizeof(reply), 0, (struct sockaddr *)&to, sizeof(to)),
                     sizeof(reply));
    run_event_loop();
    pthread_join(thread, NULL);
    assert_string_equal(output, "virtio-net: ok pong from host!\n");
    assert_int_equal(guest_status, 0);

    virtio_mmio_detach(&vm.mmio);
    virtio_dev_destroy(vm.dev);
    free(vm.ram);
    close(sock);
}
#endif

#ifndef GUEST_NET
static int teardown(void **state)
{
    (void)state;
    return 0;
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_guest, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
