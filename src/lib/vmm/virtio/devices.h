/* The virtio devices: each constructor returns a device ready to attach to a
 * transport (virtio_mmio_attach); virtio_dev_destroy frees it. */
#ifndef V12N_VMM_VIRTIO_DEVICES_H
#define V12N_VMM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/bus.h"
#include "vmm/virtio/virtio.h"

/* Block: a raw image file.  Capacity is the file's size in 512-byte sectors. */
struct virtio_blk_opts {
    const char *path;
    bool read_only;
    const char *serial; /* GET_ID answer (up to 20 bytes); NULL: the file name */
};
struct virtio_dev *virtio_blk_create(const struct virtio_blk_opts *opts, struct vmm_services *svc,
                                     v12n_error *err);

/* Network: an existing TAP device, by name. */
struct virtio_net_opts {
    const char *tap; /* interface name; must exist */
    bool mac_set;    /* else a random locally administered MAC */
    uint8_t mac[6];
    int tap_fd; /* >= 0: use this fd instead of opening `tap` (tests, fuzzers) */
};
struct virtio_dev *virtio_net_create(const struct virtio_net_opts *opts, struct vmm_services *svc,
                                     v12n_error *err);

/* The command line's device options, parsed in place (the options point
 * into spec, which must outlive them):
 *   disk: PATH[,ro][,serial=ID]      net: tap=NAME[,mac=XX:XX:XX:XX:XX:XX] */
int virtio_blk_parse(char *spec, struct virtio_blk_opts *opts, v12n_error *err);
int virtio_net_parse(char *spec, struct virtio_net_opts *opts, v12n_error *err);
/* A unicast MAC address "02:00:00:00:00:01"; -1 with EINVAL otherwise. */
int virtio_mac_parse(const char *s, uint8_t mac[6], v12n_error *err);

/* Console: one port; guest output to out_fd, input from in_fd (-1: none). */
struct virtio_dev *virtio_console_create(int in_fd, int out_fd, struct vmm_services *svc,
                                         v12n_error *err);

/* Entropy from getrandom(2). */
struct virtio_dev *virtio_rng_create(struct vmm_services *svc, v12n_error *err);

#endif
