#!/usr/bin/python3
"""Wrap a flat 64-bit kernel (linked at 1 MiB, entry at +0x200) in a
minimal bzImage: one setup sector holding the boot protocol 2.15 header
with XLF_KERNEL_64, then the payload.  Usage: mkbzimage.py PAYLOAD OUT"""
import struct
import sys

payload = open(sys.argv[1], "rb").read()
setup = bytearray(1024)  # boot sector + 1 setup sector
setup[0x1F1] = 1  # setup_sects
struct.pack_into("<I", setup, 0x1F4, (len(payload) + 15) // 16)  # syssize
struct.pack_into("<H", setup, 0x1FE, 0xAA55)
setup[0x200] = 0xEB  # jmp short past the header
setup[0x201] = 0x66  # header ends at 0x202 + 0x66 = 0x268
setup[0x202:0x206] = b"HdrS"
struct.pack_into("<H", setup, 0x206, 0x020F)  # protocol 2.15
setup[0x211] = 0x01  # LOADED_HIGH
struct.pack_into("<I", setup, 0x214, 0x100000)  # code32_start
struct.pack_into("<I", setup, 0x230, 0x200000)  # kernel_alignment
setup[0x234] = 0  # not relocatable
struct.pack_into("<H", setup, 0x236, 0x0001)  # XLF_KERNEL_64
struct.pack_into("<I", setup, 0x238, 4095)  # cmdline_size
struct.pack_into("<I", setup, 0x260, len(payload) + 0x10000)  # init_size
open(sys.argv[2], "wb").write(bytes(setup) + payload)
