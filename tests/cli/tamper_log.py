#!/usr/bin/env python3
"""What an insider who can write the data folder does to a stopped node's log
(docs/log-format.md): change one event and recompute everything that would
give it away: the record's hash, the hash chain after it, every CRC, and the
index. Used by tests/cli/insider_attack.sh. Written from the format page, not
from our code, so it also checks that page.

  tamper_log.py rewrite DATA POSITION   change a letter in the event's payload
  tamper_log.py cut DATA POSITION       cut the log after the commit holding POSITION
"""
import hashlib
import os
import struct
import sys

SEGMENT_HEADER = 32
FRAME_HEADER = 9      # crc u32, length u32, type u8
COMMIT_FIXED = 56     # first_position, count, flags, durable_before, command_id, digest
RECORD_FIXED = 102
HASH = 32


def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def segments(data_dir):
    log = os.path.join(data_dir, "log")
    return [os.path.join(log, n) for n in sorted(os.listdir(log)) if n.startswith("seg-")]


def rewrite(data_dir, position):
    prev = None  # the new chain value, once the rewrite started
    changed = False
    for path in segments(data_dir):
        seg = bytearray(open(path, "rb").read())
        off = SEGMENT_HEADER
        while off + FRAME_HEADER <= len(seg):
            length, ftype = struct.unpack_from("<IB", seg, off + 4)
            if ftype != 1 or off + FRAME_HEADER + length > len(seg):
                break
            commit = off + FRAME_HEADER
            r = commit + COMMIT_FIXED
            count = struct.unpack_from("<I", seg, commit + 8)[0]
            for _ in range(count):
                rlen = struct.unpack_from("<I", seg, r + 4)[0]
                p = r + FRAME_HEADER
                pos = struct.unpack_from("<Q", seg, p)[0]
                if pos == position:
                    lens = struct.unpack_from("<HHHHI", seg, p + 94)
                    payload = p + RECORD_FIXED + sum(lens[:4])
                    for i in range(payload, payload + lens[4]):
                        if 0x61 <= seg[i] <= 0x7A:  # a lower-case letter: the payload stays valid
                            seg[i] ^= 0x20
                            changed = True
                            break
                    if not changed:
                        sys.exit("no letter to change in the event at position %d" % position)
                if changed:
                    if prev is not None:
                        seg[p + rlen - 2 * HASH:p + rlen - HASH] = prev
                    prev = hashlib.sha256(bytes(seg[p:p + rlen - HASH])).digest()
                    seg[p + rlen - HASH:p + rlen] = prev
                    struct.pack_into("<I", seg, r, masked(crc32c(bytes(seg[r + 8:p + rlen]))))
                r = p + rlen
            if changed:
                struct.pack_into("<I", seg, off, masked(crc32c(bytes(seg[off + 8:commit + length]))))
            off = commit + length
        open(path, "wb").write(seg)
    if not changed:
        sys.exit("no event at position %d" % position)
    # The index holds the old head hash: without it, open rebuilds it from the log.
    index = os.path.join(data_dir, "index", "checkpoint")
    if os.path.exists(index):
        os.remove(index)


def cut(data_dir, position):
    for path in segments(data_dir):
        seg = open(path, "rb").read()
        off = SEGMENT_HEADER
        while off + FRAME_HEADER <= len(seg):
            length = struct.unpack_from("<I", seg, off + 4)[0]
            if length == 0:
                break  # the zero-filled tail after the last commit (docs/log-format.md)
            commit = off + FRAME_HEADER
            first, count = struct.unpack_from("<QI", seg, commit)
            off = commit + length
            if first <= position < first + count:
                os.truncate(path, off)
                index = os.path.join(data_dir, "index", "checkpoint")
                if os.path.exists(index):
                    os.remove(index)
                return
    sys.exit("no commit holds position %d" % position)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("rewrite", "cut"):
        sys.exit(__doc__)
    (rewrite if sys.argv[1] == "rewrite" else cut)(sys.argv[2], int(sys.argv[3]))
