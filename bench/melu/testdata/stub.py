"""A stand-in for `melu.py serve` for the Go tests: no torch, the real
framing code (bench/melu/protocol.py). Its score for candidate c is
c/1000 + the sum of the support values + domain, so a test can check order.
The mode (argv[1]) misbehaves on purpose:
  ok       answers every request
  short    answers with one float fewer than asked
  die      exits after the hello without answering
  error    answers status 1 with a message
  silent   reads the request and never answers
  badhello sends a hello with the wrong magic
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import protocol  # noqa: E402


def main():
    mode = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2].split(",")]
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    if mode == "badhello":
        protocol.write_frame(out, b"NOPE" + b"\0" * 8)
    else:
        protocol.write_frame(out, protocol.encode_hello(sizes, "stub"))
    if mode == "die":
        sys.exit(3)
    while True:
        p = protocol.read_frame(inp)
        if p is None:
            return
        try:
            dom, items, vals, cands = protocol.decode_request(p)
        except protocol.ProtocolError as e:
            protocol.write_frame(out, protocol.encode_error(str(e)))
            continue
        if mode == "silent":
            time.sleep(60)
            return
        if mode == "error":
            protocol.write_frame(out, protocol.encode_error("stub refuses domain %d" % dom))
            continue
        base = sum(vals) + dom
        scores = [c / 1000.0 + base for c in cands]
        if mode == "short":
            scores = scores[:-1]
        protocol.write_frame(out, protocol.encode_scores(scores))


if __name__ == "__main__":
    main()
