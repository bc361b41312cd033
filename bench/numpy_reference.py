"""bench/numpy_reference.py: a lean NumPy version of the book's algorithm
(Kinsley & Kukiela, chapters 19-22) for the speed comparison in `make bench`:
784-128-128-10, ReLU, softmax + categorical cross-entropy (combined
gradient), Adam(decay=1e-3), batch 128, float32 data and weights
(0.01 * randn), reshuffled every epoch.  Prints "key value" lines.
Usage: /usr/bin/python3 bench/numpy_reference.py [epochs=3]"""
import gzip, sys, time
import numpy as np

D = "/usr/share/datasets/fashion-mnist/"


def idx(path, offset):
    with gzip.open(D + path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    t = time.perf_counter()
    X = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)
    y = idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    print("load_idx %.4f" % (time.perf_counter() - t))
    X = (X - 127.5) / 127.5
    rng = np.random.default_rng(0)
    sizes = [784, 128, 128, 10]
    W = [(0.01 * rng.standard_normal((a, b))).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    B = [np.zeros((1, b), np.float32) for b in sizes[1:]]
    params = W + B
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr0, decay, eps, b1, b2 = 0.001, 1e-3, 1e-7, 0.9, 0.999
    it = 0
    bs = 128
    n = len(X)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        perm = rng.permutation(n)
        loss_sum = acc_sum = 0.0
        for s in range(0, n, bs):
            ix = perm[s:s + bs]
            xb, yb = X[ix], y[ix]
            # forward
            z1 = xb @ W[0] + B[0]; a1 = np.maximum(0, z1)
            z2 = a1 @ W[1] + B[1]; a2 = np.maximum(0, z2)
            z3 = a2 @ W[2] + B[2]
            e = np.exp(z3 - z3.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            r = np.arange(len(yb))
            loss_sum += -np.log(np.clip(p[r, yb], 1e-7, 1 - 1e-7)).sum()
            acc_sum += (p.argmax(axis=1) == yb).sum()
            # backward (softmax + CCE combined)
            d3 = p.copy(); d3[r, yb] -= 1; d3 /= len(yb)
            g = [None] * 6
            g[2] = a2.T @ d3; g[5] = d3.sum(axis=0, keepdims=True)
            d2 = d3 @ W[2].T; d2[z2 <= 0] = 0
            g[1] = a1.T @ d2; g[4] = d2.sum(axis=0, keepdims=True)
            d1 = d2 @ W[1].T; d1[z1 <= 0] = 0
            g[0] = xb.T @ d1; g[3] = d1.sum(axis=0, keepdims=True)
            # Adam with decay
            lr = lr0 * (1.0 / (1.0 + decay * it))
            c1, c2 = 1 - b1 ** (it + 1), 1 - b2 ** (it + 1)
            for k in range(6):
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                params[k] += -lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + eps)
            it += 1
        times.append(time.perf_counter() - t)
    times.sort()
    print("epoch_best %.4f" % times[0])
    print("epoch_median %.4f" % times[(len(times) - 1) // 2])
    print("final_loss %.4f" % (loss_sum / n))
    print("final_acc %.4f" % (acc_sum / n))


if __name__ == "__main__":
    main()
