-- Chapter 4, "Activation Functions": ReLU and softmax written with the
-- tensor API (maximum, exp, max and sum over dimension 2 keeping it), then
-- the chapter's network on spiral data.
-- Run: lua5.4 examples/book/ch04_activations.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

-- ReLU: np.maximum(0, inputs)
local inputs = lunet.tensor { 0, 2, -1, 3.3, -2.7, 1.1, 2.2, -100 }
local output = lunet.maximum(0, inputs)
print(output)
check.close("ReLU", output, { 0, 2, 0, 3.3, 0, 1.1, 2.2, 0 })

-- softmax of one output vector: exponentiate, normalize
local layer_outputs = lunet.tensor { 4.8, 1.21, 2.385 }
local exp_values = layer_outputs:exp()
print(exp_values)
check.close("exponentiated", exp_values, { 121.51041752, 3.35348465, 10.85906266 }, 1e-6)
local norm_values = exp_values / exp_values:sum()
print(norm_values, norm_values:sum())
check.close("normalized", norm_values, { 0.89528266, 0.02470831, 0.08000903 }, 1e-6)
check.close("sums to 1", norm_values:sum(), 1, 1e-6)

-- a batch: np.exp(inputs - np.max(inputs, axis=1, keepdims=True)) / np.sum(..., axis=1, keepdims=True)
local batch = lunet.tensor { { 4.8, 1.21, 2.385 }, { 8.9, -1.81, 0.2 }, { 1.41, 1.051, 0.026 } }
print(batch:sum(2), batch:sum(1)) -- axis=1 and axis=0 with keepdims
check.close("row sums", batch:sum(2), { { 8.395 }, { 7.29 }, { 2.487 } }, 1e-6)
check.close("column sums", batch:sum(1), { { 15.11, 0.451, 2.611 } }, 1e-6)
local e = (batch - batch:max(2)):exp()
local probabilities = e / e:sum(2)
check.close("each row sums to 1", probabilities:sum(2), { { 1 }, { 1 }, { 1 } }, 1e-6)
check.close("softmax ignores a shift", probabilities, lunet.Softmax():forward(batch + 10), 1e-6)

-- the chapter's network: Dense(2, 3) -> ReLU -> Dense(3, 3) -> Softmax
lunet.seed(0)
local X = lunet.data.spiral(100, 3)
local dense1, dense2 = lunet.Dense(2, 3), lunet.Dense(3, 3)
local activation1, activation2 = lunet.ReLU(), lunet.Softmax()
dense1:forward(X); activation1:forward(dense1.output)
dense2:forward(activation1.output); activation2:forward(dense2.output)
print(activation2.output:rows(1, 5))
check.close("the first sample is at the origin: equal confidences", activation2.output:rows(1, 1),
  { { 1 / 3, 1 / 3, 1 / 3 } }, 1e-6)
check.that("every row a distribution", (activation2.output:sum(2) - 1):abs():max() < 1e-6)
check.that("confidences near 1/3 (tiny weights)", (activation2.output - 1 / 3):abs():max() < 1e-3)
check.done(4)
