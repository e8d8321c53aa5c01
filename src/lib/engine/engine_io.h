/* What the monitor and its clients exchange: attach frames over the unix
 * socket, and the log file's lines.  See docs/engine.md. */
#ifndef V12N_ENGINE_ENGINE_IO_H
#define V12N_ENGINE_ENGINE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* A frame: type (1 byte), payload length (4 bytes, big endian), payload. */
enum attach_frame {
    ATTACH_STDIN = 1,       /* client -> monitor: bytes for the container's stdin */
    ATTACH_RESIZE = 2,      /* client -> monitor: rows, cols (2 x u16 big endian) */
    ATTACH_STDIN_CLOSE = 3, /* client -> monitor: end of input */
    ATTACH_STDOUT = 4,      /* monitor -> client */
    ATTACH_STDERR = 5,      /* monitor -> client */
    ATTACH_EXIT = 6,        /* monitor -> client: exit code (i32 big endian), then EOF */
};

#define ATTACH_FRAME_MAX   65536
#define ATTACH_HEADER_SIZE 5

int attach_send(int fd, uint8_t type, const void *data, size_t len);

/* Incremental frame parsing over a buffer (the monitor's clients are
 * non-blocking; a client that sends a bad frame is dropped). */
struct attach_reader {
    uint8_t buf[ATTACH_HEADER_SIZE + ATTACH_FRAME_MAX];
    size_t have;
};
/* Read what fd has; 1: data appended, 0: EOF, -1: error (errno), EAGAIN too. */
int attach_reader_fill(struct attach_reader *r, int fd);
/* The next complete frame: 1 and type/payload/len (valid until the next
 * call), 0 when incomplete, -1 when malformed. */
int attach_reader_next(struct attach_reader *r, uint8_t *type, const uint8_t **payload,
                       size_t *len);

struct sockaddr_un;
/* A unix socket address for path; paths longer than sun_path go through
 * /proc/self/fd/<dir_fd> (close *dir_fd after bind/connect). */
int engine_unix_addr(const char *path, struct sockaddr_un *addr, int *dir_fd, v12n_error *err);

/* Connect to a container's attach socket. */
int attach_connect(const char *path, v12n_error *err);

/* ---- the log ---- */

/* One line per chunk: "<RFC 3339 nanosecond time> <stdout|stderr> <F|P> <text>\n";
 * F ends a line of output (its newline is not stored), P is a part of one. */
int engine_log_write(int fd, bool is_stderr, const char *data, size_t len);

struct engine_log_entry {
    char time[40];
    bool is_stderr;
    bool partial;
    const char *text; /* points into the parsed buffer, not NUL-terminated */
    size_t len;
};

/* Parse the complete lines in buf[0..len) (a trailing incomplete line is left
 * out); *used gets the bytes consumed.  Calls fn per entry. */
typedef int (*engine_log_fn)(void *arg, const struct engine_log_entry *e);
int engine_log_parse(const char *buf, size_t len, size_t *used, engine_log_fn fn, void *arg);

#endif
