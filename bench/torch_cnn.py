"""The CNN of examples/fashion_cnn.lua in PyTorch (Debian's python3-torch), for
make bench: seconds per epoch of training (batch 128, Adam) on 2 threads.
Data: random N x 1 x 28 x 28 images (the time does not depend on the values).
Usage: /usr/bin/python3 bench/torch_cnn.py [samples] [epochs]"""
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(2)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.manual_seed(0)
X = torch.randn(n, 1, 28, 28)
y = torch.randint(0, 10, (n,))
model = nn.Sequential(
    nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
times = []
for epoch in range(epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for i in range(0, n, 128):
        idx = perm[i:i + 128]
        opt.zero_grad()
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
    times.append(time.perf_counter() - t0)
print("torch %s: %.2f s per epoch of %d samples (best of %d)" % (torch.__version__, min(times), n, epochs))
