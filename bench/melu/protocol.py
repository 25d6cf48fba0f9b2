"""Pipe protocol between bench/melu/main.go and a MeLU scoring process.

Standard library only, so the Go test's stub (testdata/stub.py) speaks it
without torch. Every frame is a little-endian uint32 byte length followed by
that many payload bytes.

  hello    (server -> client, once): b"MELU", uint32 version, uint32 domains,
           domains x uint32 catalogue size, then the model name (UTF-8).
  request  (client -> server): int32 domain, uint32 ns, uint32 nc,
           ns x int32 support items, ns x float32 support values (normalised),
           nc x int32 candidate items.
  response (server -> client): uint8 status; status 0: nc x float32 scores
           in candidate order; status 1: an error message (UTF-8).
"""
import struct
import sys
from array import array

VERSION = 1
MAGIC = b"MELU"
OK, ERR = 0, 1


class ProtocolError(Exception):
    pass


def _read_exact(f, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(f):
    """The next frame's payload, or None at a clean end of input."""
    head = _read_exact(f, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    body = _read_exact(f, n)
    if body is None:
        raise ProtocolError("input ended inside a frame of %d bytes" % n)
    return body


def write_frame(f, payload):
    f.write(struct.pack("<I", len(payload)))
    f.write(payload)
    f.flush()


def _le(a):
    if sys.byteorder != "little":
        a.byteswap()
    return a


def encode_hello(sizes, name):
    return MAGIC + struct.pack("<II", VERSION, len(sizes)) + struct.pack("<%dI" % len(sizes), *sizes) + name.encode()


def decode_request(p):
    """(domain, support items, support values, candidates) as Python lists."""
    if len(p) < 12:
        raise ProtocolError("request of %d bytes is shorter than its 12-byte header" % len(p))
    dom, ns, nc = struct.unpack_from("<iII", p, 0)
    want = 12 + 8 * ns + 4 * nc
    if len(p) != want:
        raise ProtocolError("request of %d bytes, its header says %d" % (len(p), want))
    off = 12
    items = _le(array("i", p[off:off + 4 * ns]))
    off += 4 * ns
    vals = _le(array("f", p[off:off + 4 * ns]))
    off += 4 * ns
    cands = _le(array("i", p[off:off + 4 * nc]))
    return dom, list(items), list(vals), list(cands)


def encode_request(dom, items, vals, cands):
    return (struct.pack("<iII", dom, len(items), len(cands)) + _le(array("i", items)).tobytes()
            + _le(array("f", vals)).tobytes() + _le(array("i", cands)).tobytes())


def encode_scores(scores):
    return bytes([OK]) + _le(array("f", scores)).tobytes()


def encode_error(msg):
    return bytes([ERR]) + msg.encode()
