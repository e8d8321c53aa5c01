/* The 8250/16550A UART as Linux's and our guests' drivers use it: THR,
 * RBR, IER, IIR (receive data before THR empty), LCR with the divisor
 * latch, MCR, LSR, MSR and the scratch register.  The interrupt line
 * follows IIR's "pending" state, level-triggered. */
#include "vmm/devices/serial8250.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vm_internal.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4

#define REG_DATA 0
#define REG_IER  1
#define REG_IIR  2
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_MSR  6
#define REG_SCR  7

#define IER_RDI       0x01
#define IER_THRI      0x02
#define IIR_NONE      0x01
#define IIR_THRI      0x02
#define IIR_RDI       0x04
#define IIR_FIFO      0xc0
#define LCR_DLAB      0x80
#define LSR_DR        0x01
#define LSR_THRE      0x20
#define LSR_TEMT      0x40
#define MCR_LOOP      0x10
#define MSR_CONNECTED 0xb0 /* DCD, DSR, CTS */

static uint8_t pending_iir(const struct serial8250 *s)
{
    if ((s->ier & IER_RDI) && s->rx_count > 0)
        return IIR_RDI;
    if ((s->ier & IER_THRI) && s->thre_pending)
        return IIR_THRI;
    return IIR_NONE;
}

static void update_irq(struct serial8250 *s)
{
    int level = pending_iir(s) != IIR_NONE;
    if (level != s->irq_level) {
        v12n_error e;
        s->irq_level = level;
        (void)vm_irq_line(s->vm, COM1_IRQ, level, &e); /* a lost line is not fatal */
    }
}

static void transmit(struct serial8250 *s, uint8_t byte)
{
    if (s->mcr & MCR_LOOP) {
        if (s->rx_count < SERIAL_RX_SIZE) { /* loopback: what is sent comes back */
            s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = byte;
            s->rx_count++;
        }
        return;
    }
    for (;;) {
        ssize_t n = write(s->out_fd, &byte, 1);
        if (n == 1 || (n < 0 && errno != EINTR))
            return; /* a console that went away loses output, the guest runs on */
    }
}

static uint8_t read_reg(struct serial8250 *s, uint64_t reg)
{
    switch (reg) {
    case REG_DATA: {
        if (s->lcr & LCR_DLAB)
            return s->dll;
        if (s->rx_count == 0)
            return 0;
        uint8_t b = s->rx[s->rx_head];
        s->rx_head = (s->rx_head + 1) % SERIAL_RX_SIZE;
        s->rx_count--;
        return b;
    }
    case REG_IER:
        return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
    case REG_IIR: {
        uint8_t iir = pending_iir(s);
        if (iir == IIR_THRI)
            s->thre_pending = 0; /* reading IIR acknowledges THR empty */
        return iir | IIR_FIFO;
    }
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        return LSR_THRE | LSR_TEMT | (s->rx_count > 0 ? LSR_DR : 0);
    case REG_MSR:
        return MSR_CONNECTED;
    default:
        return s->scr;
    }
}

static void write_reg(struct serial8250 *s, uint64_t reg, uint8_t v)
{
    switch (reg) {
    case REG_DATA:
        if (s->lcr & LCR_DLAB) {
            s->dll = v;
            return;
        }
        transmit(s, v);
        s->thre_pending = 1;
        return;
    case REG_IER:
        if (s->lcr & LCR_DLAB) {
            s->dlm = v;
            return;
        }
        if ((v & IER_THRI) && !(s->ier & IER_THRI))
            s->thre_pending = 1; /* enabling THRI with THR empty interrupts at once */
        s->ier = v & 0x0f;
        return;
    case REG_LCR:
        s->lcr = v;
        return;
    case REG_MCR:
        s->mcr = v & 0x1f;
        return;
    case REG_SCR:
        s->scr = v;
        return;
    default:
        return; /* FCR, LSR, MSR: nothing to keep */
    }
}

static void serial_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    struct serial8250 *s = opaque;
    pthread_mutex_lock(&s->lock);
    data[0] = read_reg(s, offset);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    memset(data + 1, 0, len - 1);
}

static void serial_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    struct serial8250 *s = opaque;
    pthread_mutex_lock(&s->lock);
    write_reg(s, offset, data[0]);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static const struct vmm_bus_ops serial_ops = {.read = serial_read, .write = serial_write};

void serial8250_receive(struct serial8250 *s, const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < len && s->rx_count < SERIAL_RX_SIZE; i++) {
        s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_SIZE] = data[i];
        s->rx_count++;
    }
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

int serial8250_init(struct vm *vm, struct serial8250 *s, int out_fd, v12n_error *err)
{
    memset(s, 0, sizeof(*s));
    s->vm = vm;
    s->out_fd = out_fd;
    pthread_mutex_init(&s->lock, NULL);
    return vmm_bus_add(&vm->pio, COM1_BASE, 8, &serial_ops, s, "serial", err);
}
