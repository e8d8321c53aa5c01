/* Guest: say "virtio-console: ready" through the virtio console's transmit
 * queue, then read input from its receive queue until a newline and echo
 * it on the serial port as "virtio-console: got <input>".  The VMM's
 * terminal reader sits in between (Ctrl-a x, Ctrl-a Ctrl-a). */
#include "guest_env.h"
#include "vio.h"

#define SPINS  200000000ul
#define RX     0
#define TX     1
#define IN_MAX 64

static struct vio_queue rxq, txq;
static char hello[] = "virtio-console: ready\n";
static char chunk[IN_MAX], line[IN_MAX + 1];

/* Read until a newline (kept out) or IN_MAX bytes; false when input stops. */
static bool read_line(struct vio_dev *d)
{
    unsigned len = 0;
    while (len < IN_MAX) {
        struct vio_buf b = {chunk, IN_MAX - len, true};
        long n = vio_transfer(d, &rxq, &b, 1, SPINS);
        if (n <= 0 || n > (long)(IN_MAX - len))
            return false;
        for (long i = 0; i < n; i++) {
            if (chunk[i] == '\n')
                return true;
            line[len++] = chunk[i];
        }
    }
    return true;
}

int guest_main(void)
{
    struct vio_dev d;
    if (!vio_find(&d, 3, 0) || !vio_setup_queue(&d, &rxq, RX) || !vio_setup_queue(&d, &txq, TX) ||
        !vio_start(&d)) {
        guest_puts("virtio-console: no device\n");
        return 1;
    }
    struct vio_buf out = {hello, sizeof(hello) - 1, false};
    if (vio_transfer(&d, &txq, &out, 1, SPINS) < 0 || !read_line(&d)) {
        guest_puts("virtio-console: transfer failed\n");
        return 1;
    }
    guest_puts("virtio-console: got ");
    guest_puts(line);
    guest_puts("\n");
    return 0;
}
