#include "vmm/virtio/iov.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Copies between a flat buffer and the byte range of an iovec that starts OFF bytes in; TO_BUF
 * says which way. Both directions walk the chain the same way, so one walker serves both. */
static size_t iov_copy(const struct iovec *iov, unsigned n, uint64_t off, uint8_t *buf, size_t len,
                       bool to_buf)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t chunk = iov[i].iov_len - off;
        if (chunk > len - done)
            chunk = len - done;
        uint8_t *elem = (uint8_t *)iov[i].iov_base + off;
        if (to_buf)
            memcpy(buf + done, elem, chunk);
        else
            memcpy(elem, buf + done, chunk);
        done += chunk;
        off = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, uint64_t off, void *buf, size_t len)
{
    return iov_copy(iov, n, off, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, uint64_t off, const void *buf, size_t len)
{
    /* The buffer is only read in this direction. */
    return iov_copy(iov, n, off, (uint8_t *)buf, len, false);
}

int iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len, struct iovec *out,
              unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len > 0; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        if (k == max)
            return -1;
        uint64_t chunk = iov[i].iov_len - off;
        if (chunk > len)
            chunk = len;
        out[k++] = (struct iovec){.iov_base = (uint8_t *)iov[i].iov_base + off, .iov_len = chunk};
        len -= chunk;
        off = 0;
    }
    return len == 0 ? (int)k : -1;
}
