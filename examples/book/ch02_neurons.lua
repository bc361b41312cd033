-- Chapter 2, "Coding Our First Neurons": one neuron, a layer of three, then
-- the same with the dot product (np.dot is lunet.dot).
-- Run: lua5.4 examples/book/ch02_neurons.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

-- a single neuron with 4 inputs
local inputs = { 1, 2, 3, 2.5 }
local weights = { 0.2, 0.8, -0.5, 1.0 }
local bias = 2
local output = inputs[1] * weights[1] + inputs[2] * weights[2] + inputs[3] * weights[3] +
               inputs[4] * weights[4] + bias
print(output)
check.close("one neuron", output, 4.8)

-- a layer of 3 neurons, by hand
local W = { { 0.2, 0.8, -0.5, 1 }, { 0.5, -0.91, 0.26, -0.5 }, { -0.26, -0.27, 0.17, 0.87 } }
local biases = { 2, 3, 0.5 }
local layer_outputs = {}
for n, w in ipairs(W) do
  local s = 0
  for i, x in ipairs(inputs) do s = s + x * w[i] end
  layer_outputs[n] = s + biases[n]
end
print(table.concat(layer_outputs, " "))
check.close("a layer by hand", layer_outputs, { 4.8, 1.21, 2.385 })

-- the same with tensors: np.dot(weights, inputs) + biases
local out = lunet.dot(lunet.tensor(W), lunet.tensor(inputs):reshape(4, 1)):squeeze(2) + lunet.tensor(biases)
print(out)
check.close("a layer with lunet.dot", out, { 4.8, 1.21, 2.385 })
-- the dot product of two vectors
local dp = lunet.dot(lunet.tensor { { 1, 2, 3 } }, lunet.tensor { { 2 }, { 3 }, { 4 } }):get(1, 1)
print(dp)
check.close("a dot product", dp, 20)
check.done(2)
