#include "vmm/loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* epoll data: a watch's slot + 1, or this for the stop eventfd. */
#define STOP_SLOT UINT64_MAX

int vmm_loop_init(struct vmm_loop *l, v12n_error *err)
{
    memset(l, 0, sizeof(*l));
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epoll_fd < 0)
        return v12n_fail_errno(err, "event loop: epoll_create1");
    l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->stop_fd < 0) {
        close(l->epoll_fd);
        return v12n_fail_errno(err, "event loop: eventfd");
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STOP_SLOT};
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
        v12n_fail_errno(err, "event loop: watch its stop eventfd");
        vmm_loop_destroy(l);
        return -1;
    }
    pthread_mutex_init(&l->lock, NULL);
    for (unsigned i = 0; i < VMM_LOOP_MAX_WATCHES; i++)
        l->watches[i].fd = -1;
    return 0;
}

void vmm_loop_destroy(struct vmm_loop *l)
{
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    if (l->epoll_fd >= 0)
        close(l->epoll_fd);
    l->stop_fd = l->epoll_fd = -1;
}

int vmm_loop_watch(struct vmm_loop *l, int fd, void (*cb)(void *arg), void *arg, v12n_error *err)
{
    pthread_mutex_lock(&l->lock);
    unsigned i = 0;
    while (i < VMM_LOOP_MAX_WATCHES && l->watches[i].fd >= 0)
        i++;
    if (i == VMM_LOOP_MAX_WATCHES) {
        pthread_mutex_unlock(&l->lock);
        return v12n_fail(err, ENOSPC, "event loop: more than %d watched descriptors",
                         VMM_LOOP_MAX_WATCHES);
    }
    l->watches[i] = (struct vmm_loop_watch){.fd = fd, .cb = cb, .arg = arg};
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i + 1};
    int r = epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    if (r < 0)
        l->watches[i].fd = -1;
    pthread_mutex_unlock(&l->lock);
    return r < 0 ? v12n_fail_errno(err, "event loop: watch fd %d", fd) : 0;
}

int vmm_loop_unwatch(struct vmm_loop *l, int fd)
{
    pthread_mutex_lock(&l->lock);
    for (unsigned i = 0; i < VMM_LOOP_MAX_WATCHES; i++)
        if (l->watches[i].fd == fd)
            l->watches[i].fd = -1;
    int r = epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    pthread_mutex_unlock(&l->lock);
    return r;
}

static void dispatch(struct vmm_loop *l, uint64_t slot)
{
    if (slot >= VMM_LOOP_MAX_WATCHES)
        return;
    pthread_mutex_lock(&l->lock);
    struct vmm_loop_watch w = l->watches[slot];
    pthread_mutex_unlock(&l->lock);
    if (w.fd >= 0)
        w.cb(w.arg);
}

int vmm_loop_run(struct vmm_loop *l, v12n_error *err)
{
    for (;;) {
        struct epoll_event evs[16];
        int n = epoll_wait(l->epoll_fd, evs, 16, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return v12n_fail_errno(err, "event loop: epoll_wait");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == STOP_SLOT)
                return 0;
            dispatch(l, evs[i].data.u64 - 1);
        }
    }
}

void vmm_loop_stop(struct vmm_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->stop_fd, &one, sizeof(one));
    (void)r; /* a full counter still wakes the loop */
}
