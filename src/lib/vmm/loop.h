/* The VMM's event loop: devices subscribe file descriptors (a TAP, the
 * console, eventfds) and get a callback on the loop's thread when one is
 * readable.  Knows no device. */
#ifndef V12N_VMM_LOOP_H
#define V12N_VMM_LOOP_H

#include <pthread.h>
#include <stdbool.h>

#include "util/error.h"

#define VMM_LOOP_MAX_WATCHES 64

struct vmm_loop_watch {
    int fd;
    void (*cb)(void *arg);
    void *arg;
};

struct vmm_loop {
    int epoll_fd;
    int stop_fd; /* eventfd: vmm_loop_stop writes it */
    pthread_mutex_t lock;
    struct vmm_loop_watch watches[VMM_LOOP_MAX_WATCHES];
};

int vmm_loop_init(struct vmm_loop *l, v12n_error *err);
void vmm_loop_destroy(struct vmm_loop *l);
int vmm_loop_watch(struct vmm_loop *l, int fd, void (*cb)(void *arg), void *arg, v12n_error *err);
int vmm_loop_unwatch(struct vmm_loop *l, int fd);
/* Dispatch until vmm_loop_stop (from any thread); -1 on an epoll failure. */
int vmm_loop_run(struct vmm_loop *l, v12n_error *err);
void vmm_loop_stop(struct vmm_loop *l);

#endif
