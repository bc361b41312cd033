#!/usr/bin/python3
"""Reference numbers for spec/optimizers_spec.lua.

Applies the book's optimizer classes ("Neural Networks from Scratch",
chapter 10; formulas copied as printed) for 3 steps to a tiny float32 layer
(2x3 weights, 1x3 biases) whose gradients come from a Dense backward pass
with fixed inputs and dvalues, and prints the results as Lua literals.
Run with Debian's NumPy:  /usr/bin/python3 spec/optimizers_reference.py
"""
import numpy as np

# ------------------------------------------------ the book's optimizers


class Optimizer_SGD:
    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, 'weight_momentums'):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            weight_updates = \
                self.momentum * layer.weight_momentums - \
                self.current_learning_rate * layer.dweights
            layer.weight_momentums = weight_updates
            bias_updates = \
                self.momentum * layer.bias_momentums - \
                self.current_learning_rate * layer.dbiases
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adagrad:
    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache += layer.dweights**2
        layer.bias_cache += layer.dbiases**2
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


class Optimizer_RMSprop:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.rho = rho

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache = self.rho * layer.weight_cache + \
            (1 - self.rho) * layer.dweights**2
        layer.bias_cache = self.rho * layer.bias_cache + \
            (1 - self.rho) * layer.dbiases**2
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7,
                 beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_momentums = self.beta_1 * layer.weight_momentums + \
            (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + \
            (1 - self.beta_1) * layer.dbiases
        weight_momentums_corrected = layer.weight_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        bias_momentums_corrected = layer.bias_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        layer.weight_cache = self.beta_2 * layer.weight_cache + \
            (1 - self.beta_2) * layer.dweights**2
        layer.bias_cache = self.beta_2 * layer.bias_cache + \
            (1 - self.beta_2) * layer.dbiases**2
        weight_cache_corrected = layer.weight_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        bias_cache_corrected = layer.bias_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        layer.weights += -self.current_learning_rate * \
            weight_momentums_corrected / \
            (np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.current_learning_rate * \
            bias_momentums_corrected / \
            (np.sqrt(bias_cache_corrected) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1

# --------------------------------------------------------- the layer


f32 = np.float32
WEIGHTS = np.array([[0.2, -0.5, 1.0], [0.8, 0.3, -0.7]], dtype=f32)
BIASES = np.array([[0.1, -0.2, 0.05]], dtype=f32)
# Dense backward: dweights = inputs^T @ dvalues, dbiases = column sums.
# Identity rows (plus a zero row) make dweights the first two dvalues rows;
# dyadic values keep every sum exact.
INPUTS = np.array([[1, 0], [0, 1], [0, 0]], dtype=f32)
DVALUES = np.array([[0.5, -0.25, 1.0],
                    [-1.5, 0.75, 0.125],
                    [0.25, 0.5, -0.375]], dtype=f32)


class Layer:
    def __init__(self):
        self.weights = WEIGHTS.copy()
        self.biases = BIASES.copy()
        self.dweights = INPUTS.T @ DVALUES
        self.dbiases = np.sum(DVALUES, axis=0, keepdims=True)


def lua(a):
    rows = ", ".join("{" + ", ".join("%.9g" % float(x) for x in r) + "}"
                     for r in a)
    return "{" + rows + "}"


CASES = [
    ("sgd", "lunet.SGD()", Optimizer_SGD()),
    ("sgd_decay_momentum", "lunet.SGD{ learning_rate = 0.5, decay = 0.1, momentum = 0.9 }",
     Optimizer_SGD(learning_rate=0.5, decay=0.1, momentum=0.9)),
    ("adagrad", "lunet.Adagrad{ learning_rate = 0.5 }",
     Optimizer_Adagrad(learning_rate=0.5)),
    ("rmsprop", "lunet.RMSprop{ learning_rate = 0.02, decay = 0.05, rho = 0.95 }",
     Optimizer_RMSprop(learning_rate=0.02, decay=0.05, rho=0.95)),
    ("adam", "lunet.Adam()", Optimizer_Adam()),
    ("adam_decay", "lunet.Adam{ learning_rate = 0.05, decay = 0.1 }",
     Optimizer_Adam(learning_rate=0.05, decay=0.1)),
]

print("-- dweights = %s" % lua(Layer().dweights))
print("-- dbiases = %s" % lua(Layer().dbiases))
for key, ctor, opt in CASES:
    layer = Layer()
    lrs = []
    for _ in range(3):
        opt.pre_update_params()
        opt.update_params(layer)
        opt.post_update_params()
        lrs.append(opt.current_learning_rate)
    assert layer.weights.dtype == f32 and layer.biases.dtype == f32
    print("  %s = {" % key)
    print("    make = function() return %s end," % ctor)
    print("    weights = %s," % lua(layer.weights))
    print("    biases = %s," % lua(layer.biases))
    print("    lrs = {%s}," % ", ".join(repr(x) for x in lrs))
    print("  },")
