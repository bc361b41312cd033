#!/usr/bin/env python3
"""Read a .safetensors file (as lunet writes it) with NumPy alone.

    /usr/bin/python3 examples/read_safetensors.py model.safetensors

The layout (https://github.com/huggingface/safetensors): an 8-byte
little-endian unsigned header length N, N bytes of UTF-8 JSON mapping tensor
names to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
"__metadata__" object of strings, then the little-endian tensor bytes
(offsets are relative to the end of the header).

Prints one line per metadata entry, then one line per tensor, both sorted
by name, names and values JSON-quoted so the lines are unambiguous:

    metadata "epoch": "3"
    tensor "dense1.weights" shape [2, 64] sum 1.25

(the sum is taken in float64 and printed with Python's repr).  As a
module: `load(path)` returns (dict name -> numpy array, metadata dict).
"""
import json
import struct
import sys

import numpy as np

# safetensors dtype -> little-endian NumPy dtype (lunet writes only F32)
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def load(path):
    """Return (tensors, metadata): a dict name -> numpy array and a dict of strings."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: file too short for the header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    data = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype = np.dtype(DTYPES[info["dtype"]])
        shape = tuple(int(d) for d in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * dtype.itemsize:
            raise ValueError(f"{path}: tensor {name!r}: bad data_offsets {[begin, end]}")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
    at = 0
    for begin, end in sorted(spans):
        if begin != at:
            raise ValueError(f"{path}: data section has a hole or an overlap at byte {at}")
        at = end
    if at != len(data):
        raise ValueError(f"{path}: data section has {len(data) - at} unused bytes at the end")
    return tensors, metadata


def main(argv):
    """Print the metadata and each tensor's name, shape and sum."""
    if len(argv) != 2:
        print("usage: read_safetensors.py FILE.safetensors", file=sys.stderr)
        return 2
    tensors, metadata = load(argv[1])
    for key in sorted(metadata):
        print(f"metadata {json.dumps(key)}: {json.dumps(metadata[key])}")
    for name in sorted(tensors):
        a = tensors[name]
        total = float(a.sum(dtype=np.float64))
        print(f"tensor {json.dumps(name)} shape {list(a.shape)} sum {total!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
