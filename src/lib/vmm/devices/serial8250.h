/* A 16550A-compatible UART at COM1 (0x3f8, IRQ 4): transmit goes to the
 * console's output, receive is fed from the event loop. */
#ifndef V12N_VMM_DEVICES_SERIAL8250_H
#define V12N_VMM_DEVICES_SERIAL8250_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define SERIAL_RX_SIZE 1024

struct vm;

struct serial8250 {
    struct vm *vm;
    pthread_mutex_t lock;
    int out_fd;
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    int thre_pending; /* a THR-empty interrupt not yet acknowledged */
    int irq_level;
    uint8_t rx[SERIAL_RX_SIZE];
    size_t rx_head, rx_count;
};

int serial8250_init(struct vm *vm, struct serial8250 *s, int out_fd, v12n_error *err);
/* Queue input for the guest (bytes beyond the FIFO's room are dropped). */
void serial8250_receive(struct serial8250 *s, const uint8_t *data, size_t len);

#endif
