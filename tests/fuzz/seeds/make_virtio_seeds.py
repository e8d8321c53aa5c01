#!/usr/bin/python3
"""Write the seed inputs of the virtio fuzz targets: one well-formed request
per device, laid out as tests/fuzz/virtio_fuzz.h maps inputs to guest RAM
(input byte 1 + i is RAM 0x10000 + i; queue q's rings at 0x10000 + 0x4000 q:
descriptors, avail +0x1000, used +0x2000).  Run from this directory."""
import os
import struct

BASE = 0x10000


def ring(q):
    return BASE + 0x4000 * q


class Ram:
    def __init__(self):
        self.b = bytearray(0x8000)

    def put(self, gpa, data):
        off = gpa - BASE
        self.b[off:off + len(data)] = data

    def chain(self, q, bufs):
        """bufs: (gpa, len, writable); descriptors from 0, head published."""
        for i, (gpa, ln, w) in enumerate(bufs):
            flags = (2 if w else 0) | (1 if i + 1 < len(bufs) else 0)
            self.put(ring(q) + 16 * i, struct.pack('<QIHH', gpa, ln, flags, i + 1))
        self.put(ring(q) + 0x1000, struct.pack('<HHH', 0, 1, 0))

    def seed(self, features=3):
        return bytes([features]) + bytes(self.b).rstrip(b'\0')


def write(target, name, data):
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, name), 'wb') as f:
        f.write(data)


DATA = BASE + 0x3000  # free space after queue 0's used ring

# blk: a read of two sectors, a write, a get-id.
for name, (typ, sector, write_data) in {'read': (0, 1, True), 'write': (1, 3, False),
                                        'get_id': (8, 0, True)}.items():
    r = Ram()
    r.put(DATA, struct.pack('<IIQ', typ, 0, sector))
    r.chain(0, [(DATA, 16, False), (DATA + 0x100, 1024 if typ != 8 else 20, write_data),
                (DATA + 0x800, 1, True)])
    write('fuzz_virtio_blk', name, r.seed())

# net: an rx buffer on queue 0 and a frame on tx queue 1.
r = Ram()
r.chain(0, [(DATA, 2048, True)])
r.put(ring(1) + 0x3000 + 12, b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01\x88\xb5' + b'x' * 46)
r.chain(1, [(ring(1) + 0x3000, 12, False), (ring(1) + 0x3000 + 12, 60, False)])
write('fuzz_virtio_net', 'rx_tx', r.seed())

# console: an rx buffer and output on tx.
r = Ram()
r.chain(0, [(DATA, 64, True)])
r.put(ring(1) + 0x3000, b'hello\n')
r.chain(1, [(ring(1) + 0x3000, 6, False)])
write('fuzz_virtio_console', 'rx_tx', r.seed())

# rng: one writable buffer, then a chain of two.
r = Ram()
r.chain(0, [(DATA, 64, True), (DATA + 0x100, 16, True)])
write('fuzz_virtio_rng', 'two_buffers', r.seed())

# virtq: size 16 (byte 0: log2 4, indirect, event idx), rings at 0x1000/0x1100/0x3000
# of the walker's own RAM (input byte 1 + i is RAM i); one direct, one indirect chain.
ram = bytearray(0x3100)
struct.pack_into('<QIHH', ram, 0x1000, 0x4000, 64, 1, 1)
struct.pack_into('<QIHH', ram, 0x1010, 0x4100, 64, 2, 0)
struct.pack_into('<QIHH', ram, 0x1020, 0x2000, 32, 4, 0)
struct.pack_into('<QIHH', ram, 0x2000, 0x4200, 8, 1, 1)
struct.pack_into('<QIHH', ram, 0x2010, 0x4300, 8, 2, 0)
struct.pack_into('<HHHH', ram, 0x1100, 0, 2, 0, 2)
write('fuzz_virtq', 'direct_indirect', bytes([4 | 8 | 16]) + bytes(ram))
