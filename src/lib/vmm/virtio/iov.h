/* Copies between flat host buffers and a chain's scattered guest buffers
 * (a request header may be split across descriptors by the driver). */
#ifndef V12N_VMM_VIRTIO_IOV_H
#define V12N_VMM_VIRTIO_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Copy up to len bytes starting `off` bytes into iov[0..n); returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, uint64_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, uint64_t off, const void *buf, size_t len);
/* The part [off, off+len) of iov[0..n) as at most max entries in out; the
 * number of entries, or -1 when the range is not all there or does not fit. */
int iov_slice(const struct iovec *iov, unsigned n, uint64_t off, uint64_t len, struct iovec *out,
              unsigned max);

#endif
