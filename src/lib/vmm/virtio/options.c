/* Parsing the devices' command-line options (see devices.h). */
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SERIAL_MAX 20 /* virtio-blk's GET_ID answer */

int virtio_mac_parse(const char *s, uint8_t mac[6], v12n_error *err)
{
    unsigned b[6];
    int used = 0;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &used) !=
            6 ||
        s[used] != '\0' || used != 17)
        return v12n_fail(err, EINVAL,
                         "MAC address %s: expected six hex pairs like 02:00:00:00:00:01", s);
    if (b[0] & 1)
        return v12n_fail(err, EINVAL, "MAC address %s: multicast, not a device address", s);
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

int virtio_blk_parse(char *spec, struct virtio_blk_opts *opts, v12n_error *err)
{
    memset(opts, 0, sizeof(*opts));
    char *save = NULL;
    char *path = strtok_r(spec, ",", &save);
    if (!path || spec[0] == ',')
        return v12n_fail(err, EINVAL, "disk: missing image path (PATH[,ro][,serial=ID])");
    opts->path = path;
    for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
        if (strcmp(opt, "ro") == 0) {
            opts->read_only = true;
        } else if (strcmp(opt, "rw") == 0) {
            opts->read_only = false;
        } else if (strncmp(opt, "serial=", 7) == 0 && opt[7] && strlen(opt + 7) <= SERIAL_MAX) {
            opts->serial = opt + 7;
        } else {
            return v12n_fail(err, EINVAL,
                             "disk %s: unknown option %s (ro, serial=ID up to %d bytes)", path, opt,
                             SERIAL_MAX);
        }
    }
    return 0;
}

int virtio_net_parse(char *spec, struct virtio_net_opts *opts, v12n_error *err)
{
    memset(opts, 0, sizeof(*opts));
    opts->tap_fd = -1;
    char *save = NULL;
    for (char *opt = strtok_r(spec, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        if (strncmp(opt, "tap=", 4) == 0 && opt[4]) {
            opts->tap = opt + 4;
        } else if (strncmp(opt, "mac=", 4) == 0) {
            if (virtio_mac_parse(opt + 4, opts->mac, err) < 0)
                return v12n_error_wrap(err, "net");
            opts->mac_set = true;
        } else {
            return v12n_fail(err, EINVAL, "net: unknown option %s (tap=NAME, mac=MAC)", opt);
        }
    }
    if (!opts->tap)
        return v12n_fail(err, EINVAL, "net: missing tap=NAME");
    return 0;
}
