"""test/torch_layout.py DIR: the PyTorch side of the layout check (see
test/torch_layout.lua).  Reads lunet's torch-layout files with NumPy, loads
them into the equivalent torch.nn.Sequential with load_state_dict (strict)
and compares predictions (<= 1e-5); then writes state_dicts and predictions
of PyTorch models for test/torch_layout.lua import.  Uses Debian's
python3-torch and python3-numpy.  Prints "N passed, N failed"."""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DIR = sys.argv[1]
DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        arr = np.frombuffer(data[base + b:base + en], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(e["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name, arr in tensors.items():
        arr = np.array(arr, order="C")  # (ascontiguousarray would make a scalar 1-D)
        dtype = "I64" if arr.dtype == np.int64 else "F32"
        raw = arr.astype("<i8" if dtype == "I64" else "<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def nets():
    return {
        "mlp": nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3), nn.Softmax(dim=1)),
        "binary": nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()),
        "cnn": nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, (2, 3), stride=(1, 2)), nn.ReLU(), nn.Flatten(), nn.Dropout(0.2),
                             nn.Linear(18, 5), nn.Softmax(dim=1)),
    }


passed = failed = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok: " if ok else "FAILED: ") + what)


# lunet -> PyTorch
for name, model in nets().items():
    try:
        state = {k: torch.from_numpy(v) for k, v in read_safetensors("%s/%s.safetensors" % (DIR, name)).items()}
        model.load_state_dict(state, strict=True)
        model.eval()
        io = read_safetensors("%s/%s_io.safetensors" % (DIR, name))
        with torch.no_grad():
            pred = model(torch.from_numpy(io["X"])).numpy()
        diff = float(np.abs(pred - io["P"]).max())
        report(diff <= 1e-5, "%s: lunet's file loads into torch.nn.Sequential and predicts the same (max |diff| %.3g)"
               % (name, diff))
    except Exception as e:  # a failed check, reported like the others
        report(False, "%s: %s" % (name, e))

# PyTorch -> lunet: models trained a few steps in PyTorch (SGD on random
# targets; batch norm's statistics from those training passes)
torch.manual_seed(0)
for name, model in nets().items():
    X = torch.randn(20, 1, 8, 8) if name == "cnn" else torch.randn(20, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for _ in range(5):
        xb = torch.randn(*X.shape)
        out = model(xb)
        loss = ((out - torch.rand_like(out)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(X).numpy()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    write_safetensors("%s/torch_%s.safetensors" % (DIR, name), state)
    write_safetensors("%s/torch_%s_io.safetensors" % (DIR, name), {"X": X.numpy(), "P": pred})
    report(True, "%s: PyTorch state_dict written (after 5 SGD steps)" % name)

print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
