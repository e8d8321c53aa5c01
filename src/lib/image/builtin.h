/* The built-in busybox image: on a machine that reaches no registry,
 * `v12n run busybox` still works, from an image built here out of the
 * host's busybox-static (Debian package busybox-static, /bin/busybox).
 *
 * It is a real single-layer image in the store: an uncompressed OCI tar
 * layer written with libarchive (bin/busybox and every applet it lists as
 * a hard link beside it, as the official image has them; etc/passwd and
 * etc/group with root and nobody; empty dev, proc, sys, root (0700) and tmp
 * (1777)), an OCI config (Cmd ["sh"], the usual PATH) and an OCI manifest.
 * Every timestamp is the busybox file's mtime, so building it twice from
 * the same busybox gives the same image id. */
#ifndef V12N_IMAGE_BUILTIN_H
#define V12N_IMAGE_BUILTIN_H

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

#define IMAGE_BUILTIN_BUSYBOX_BIN  "/bin/busybox"
#define IMAGE_BUILTIN_BUSYBOX_NAME "docker.io/library/busybox:latest"

/* Build the image and list it under name (NULL: IMAGE_BUILTIN_BUSYBOX_NAME)
 * from the static busybox at path (NULL: IMAGE_BUILTIN_BUSYBOX_BIN).  The
 * image id goes to id when not NULL. */
int image_builtin_busybox(struct store *s, const char *name, const char *path,
                          char id[IMAGE_DIGEST_SIZE], v12n_error *err);

#endif
