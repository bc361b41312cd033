"""bench/load_png_cv2.py DIR: the book's loader (chapter 19): os.listdir and
cv2.imread(..., cv2.IMREAD_UNCHANGED) per file of DIR/train and DIR/test,
timed REPEAT times (default 3, like bench/load_png.lua): best and median."""
import os, sys, time
import numpy as np
import cv2


def load_mnist_dataset(dataset, path):
    labels = os.listdir(os.path.join(path, dataset))
    X, y = [], []
    for label in labels:
        for file in os.listdir(os.path.join(path, dataset, label)):
            image = cv2.imread(os.path.join(path, dataset, label, file), cv2.IMREAD_UNCHANGED)
            X.append(image)
            y.append(label)
    return np.array(X), np.array(y).astype('uint8')


times = []
for _ in range(int(os.environ.get("REPEAT", "3"))):
    t = time.perf_counter()
    X, y = load_mnist_dataset('train', sys.argv[1])
    Xt, yt = load_mnist_dataset('test', sys.argv[1])
    times.append(time.perf_counter() - t)
    count = len(X) + len(Xt)
    del X, y, Xt, yt
times.sort()
print("load_png_cv2 %.4f" % times[0])
print("load_png_cv2_median %.4f" % times[(len(times) - 1) // 2])
print("png_images_cv2 %d" % count)
