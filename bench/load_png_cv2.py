"""bench/load_png_cv2.py DIR: the book's loader (chapter 19): os.listdir and
cv2.imread(..., cv2.IMREAD_UNCHANGED) per file of DIR/train and DIR/test."""
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


t = time.perf_counter()
X, y = load_mnist_dataset('train', sys.argv[1])
Xt, yt = load_mnist_dataset('test', sys.argv[1])
print("load_png_cv2 %.4f" % (time.perf_counter() - t))
print("png_images_cv2 %d" % (len(X) + len(Xt)))
