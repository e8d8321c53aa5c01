/* virtio-net against a real TAP device the test creates: frames go from a
 * packet socket on the TAP into the guest's receive buffers, and from the
 * guest's transmit chains out to that socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio_driver.h"
#include "vmm/virtio/devices.h"

#define RXQ       0
#define TXQ       1
#define ETHERTYPE 0x88b5 /* IEEE local experimental: no stack answers it */
#define HDR       12

static const uint8_t guest_mac[6] = {0x02, 0x12, 0x34, 0x56, 0x78, 0x9a};

struct net_test {
    struct fake_vm vm;
    char tap[IFNAMSIZ];
    int sock; /* AF_PACKET on the TAP: the host end of the wire */
    int ifindex;
};

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char cmd[256];
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    struct net_test *t = calloc(1, sizeof(*t));
    *state = t;
    snprintf(t->tap, sizeof(t->tap), "v12nvt%d", (int)getpid() % 100000);
    assert_int_equal(run("ip tuntap add dev %s mode tap", t->tap), 0);
    /* No IPv6 chatter (router solicitations) on the wire. */
    run("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 2>/dev/null", t->tap);
    assert_int_equal(run("ip link set %s up", t->tap), 0);
    t->ifindex = (int)if_nametoindex(t->tap);
    t->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE));
    assert_true(t->sock >= 0);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE), .sll_ifindex = t->ifindex};
    assert_int_equal(bind(t->sock, (struct sockaddr *)&sll, sizeof(sll)), 0);
    /* Straight to the TAP's transmit: until the kernel's link watch sees the
     * carrier, the device's queueing discipline would drop our frames. */
    int one = 1;
    assert_int_equal(setsockopt(t->sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)), 0);

    fake_vm_init(&t->vm);
    v12n_error err = {0};
    struct virtio_net_opts opts = {.tap = t->tap, .mac_set = true, .tap_fd = -1};
    memcpy(opts.mac, guest_mac, 6);
    struct virtio_dev *dev = virtio_net_create(&opts, &t->vm.svc, &err);
    if (!dev)
        fail_msg("%s", err.msg);
    assert_int_equal(fake_vm_attach(&t->vm, dev), 0);
    assert_true(fake_driver_start(&t->vm, ~0ull) & VIRTIO_STATUS_DRIVER_OK);
    return 0;
}

static int teardown(void **state)
{
    struct net_test *t = *state;
    fake_vm_destroy(&t->vm);
    close(t->sock);
    run("ip link del %s", t->tap);
    free(t);
    return 0;
}

static size_t make_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, const char *text)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE >> 8;
    f[13] = ETHERTYPE & 0xff;
    size_t n = strlen(text);
    memcpy(f + 14, text, n);
    return 14 + n < 60 ? 60 : 14 + n; /* minimum Ethernet frame */
}

static void test_config_mac(void **state)
{
    struct net_test *t = *state;
    uint8_t mac[6];
    for (unsigned i = 0; i < 6; i++)
        vmm_bus_dispatch(&t->vm.bus, FAKE_MMIO + VIRTIO_MMIO_CONFIG + i, mac + i, 1, false);
    assert_memory_equal(mac, guest_mac, 6);
    assert_int_equal(mmio_r32(&t->vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
    assert_int_equal(t->vm.watched_fd >= 0, 1); /* DRIVER_OK started rx */
}

static void test_receive_frame(void **state)
{
    struct net_test *t = *state;
    struct fake_vm *vm = &t->vm;
    for (unsigned i = 0; i < 4; i++) {
        struct fake_buf b = {FAKE_DATA + 0x1000 * i, 2048, true};
        fake_post(vm, RXQ, &b, 1);
    }
    fake_kick(vm, RXQ);
    uint8_t frame[64] = {0}, host_mac[6] = {0x02, 0, 0, 0, 0, 1};
    size_t len = make_frame(frame, guest_mac, host_mac, "hello guest");
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = t->ifindex, .sll_halen = 6};
    memcpy(to.sll_addr, guest_mac, 6);
    assert_int_equal(sendto(t->sock, frame, len, 0, (struct sockaddr *)&to, sizeof(to)),
                     (ssize_t)len);
    /* The event loop would call us when the TAP is readable. */
    struct pollfd p = {.fd = vm->watched_fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    vm->watch_cb(vm->watch_arg);
    assert_int_equal(fake_used_idx(vm, RXQ), 1);
    struct virtq_used_elem u = fake_used_elem(vm, RXQ, 0);
    assert_int_equal(u.len, HDR + len);
    const uint8_t *got = vm->ram + FAKE_DATA + 0x1000 * u.id;
    uint16_t num_buffers;
    memcpy(&num_buffers, got + 10, 2);
    assert_int_equal(num_buffers, 1);
    assert_memory_equal(got + HDR, frame, len);
    assert_true(vm->irqs >= 1);
}

static void test_transmit_frame(void **state)
{
    struct net_test *t = *state;
    struct fake_vm *vm = &t->vm;
    uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t *hdr = vm->ram + FAKE_DATA, *frame = vm->ram + FAKE_DATA + 0x100;
    memset(hdr, 0, HDR);
    size_t len = make_frame(frame, bcast, guest_mac, "hello host");
    struct fake_buf b[2] = {{FAKE_DATA, HDR, false}, {FAKE_DATA + 0x100, (uint32_t)len, false}};
    fake_post(vm, TXQ, b, 2);
    fake_kick(vm, TXQ);
    assert_int_equal(fake_used_idx(vm, TXQ), 1);
    uint8_t got[2048];
    struct pollfd p = {.fd = t->sock, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = recv(t->sock, got, sizeof(got), 0);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(got, frame, len);
}

static void test_rx_without_buffers_stops_watching(void **state)
{
    struct net_test *t = *state;
    struct fake_vm *vm = &t->vm;
    vm->watch_cb(vm->watch_arg); /* readable, but no buffers posted */
    assert_int_equal(vm->watched_fd, -1);
    struct fake_buf b = {FAKE_DATA, 2048, true};
    fake_post(vm, RXQ, &b, 1);
    fake_kick(vm, RXQ);
    assert_true(vm->watched_fd >= 0);
}

static void test_reset_stops_watching(void **state)
{
    struct net_test *t = *state;
    mmio_w32(&t->vm, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(t->vm.watched_fd, -1);
}

static void test_missing_tap(void **state)
{
    (void)state;
    struct fake_vm vm;
    fake_vm_init(&vm);
    v12n_error err = {0};
    struct virtio_net_opts opts = {.tap = "v12n-no-such", .tap_fd = -1};
    assert_null(virtio_net_create(&opts, &vm.svc, &err));
    assert_int_equal(err.errnum, ENODEV);
    assert_non_null(strstr(err.msg, "tap v12n-no-such"));
    assert_int_equal(if_nametoindex("v12n-no-such"), 0); /* nothing created */
    fake_vm_destroy(&vm);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_mac),           T(test_receive_frame),
        T(test_transmit_frame),       T(test_rx_without_buffers_stops_watching),
        T(test_reset_stops_watching), cmocka_unit_test(test_missing_tap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
