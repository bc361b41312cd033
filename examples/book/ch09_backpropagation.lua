-- Chapter 9, "Backpropagation": one neuron with ReLU by hand, then a layer
-- (dinputs = dvalues . W^T, dweights = X^T . dvalues, dbiases = column
-- sums), ReLU's derivative with a mask, and softmax with cross-entropy,
-- separately and combined.
-- Run: lua5.4 examples/book/ch09_backpropagation.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

-- one neuron: z = x . w + b, relu(z), backward from dvalue 1.0
local x = lunet.tensor { 1.0, -2.0, 3.0 }
local w = lunet.tensor { -3.0, -1.0, 2.0 }
local b = 1.0
local z = (x * w):sum() + b
local y = math.max(z, 0)
local dvalue = 1.0
local drelu_dz = dvalue * (z > 0 and 1 or 0)
local dx, dw, db = w * drelu_dz, x * drelu_dz, drelu_dz
print(dx, dw, db)
check.close("dx", dx, { -3, -1, 2 }); check.close("dw", dw, { 1, -2, 3 }); check.close("db", db, 1)
w = w - dw * 0.001
b = b - db * 0.001
print(w, b)
check.close("updated weights", w, { -3.001, -0.998, 1.997 }, 1e-6)
check.close("updated bias", b, 0.999, 1e-12)
local z2 = (x * w):sum() + b
print(math.max(z2, 0))
check.close("relu output after the step", math.max(z2, 0), 5.985, 1e-5)
check.that("the step lowered the output", z2 < y)

-- a layer: gradients of a batch of 3 samples
local dvalues = lunet.tensor { { 1, 1, 1 }, { 2, 2, 2 }, { 3, 3, 3 } }
local weights = lunet.tensor { { 0.2, 0.8, -0.5, 1 }, { 0.5, -0.91, 0.26, -0.5 }, { -0.26, -0.27, 0.17, 0.87 } }:t()
local inputs = lunet.tensor { { 1, 2, 3, 2.5 }, { 2, 5, -1, 2 }, { -1.5, 2.7, 3.3, -0.8 } }
local dinputs = lunet.dot(dvalues, weights:t())
print(dinputs)
check.close("dinputs", dinputs, { { 0.44, -0.38, -0.07, 1.37 }, { 0.88, -0.76, -0.14, 2.74 },
  { 1.32, -1.14, -0.21, 4.11 } }, 1e-5)
local dweights = lunet.dot(inputs:t(), dvalues)
print(dweights)
check.close("dweights", dweights, { { 0.5, 0.5, 0.5 }, { 20.1, 20.1, 20.1 }, { 10.9, 10.9, 10.9 },
  { 4.1, 4.1, 4.1 } }, 1e-5)
local dbiases = dvalues:sum(1) -- np.sum(dvalues, axis=0, keepdims=True)
print(dbiases)
check.close("dbiases", dbiases, { { 6, 6, 6 } })

-- ReLU's derivative: drelu[z <= 0] = 0
local zl = lunet.tensor { { 1, 2, -3, -4 }, { 2, -7, -1, 3 }, { -1, 2, 5, -1 } }
local dv = lunet.tensor { { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 } }
local drelu = dv:clone():masked_fill_(zl:le(0), 0)
print(drelu)
check.close("drelu", drelu, { { 1, 2, 0, 0 }, { 5, 0, 0, 8 }, { 0, 10, 11, 0 } })
local relu = lunet.ReLU()
relu:forward(zl)
check.close("ReLU:backward agrees", relu:backward(dv), drelu)

-- softmax and cross-entropy: the combined gradient equals the two separate ones
local softmax_outputs = lunet.tensor { { 0.7, 0.1, 0.2 }, { 0.1, 0.5, 0.4 }, { 0.02, 0.9, 0.08 } }
local class_targets = lunet.tensor { 1, 2, 2 }
local combined = lunet.SoftmaxCategoricalCrossentropy()
local dvalues1 = combined:backward(softmax_outputs, class_targets)
local activation, loss = lunet.Softmax(), lunet.CategoricalCrossentropy()
activation:forward(softmax_outputs:log()) -- the book sets output by hand; this forward gives the same
local dvalues2 = activation:backward(loss:backward(activation.output, class_targets))
print("Gradients: combined loss and activation:")
print(dvalues1)
print("Gradients: separate loss and activation:")
print(dvalues2)
check.close("combined", dvalues1, { { -0.1, 0.03333333, 0.06666667 }, { 0.03333333, -0.16666667, 0.13333333 },
  { 0.00666667, -0.03333333, 0.02666667 } }, 1e-6)
check.close("separate equals combined", dvalues2, dvalues1, 1e-6)
check.done(9)
