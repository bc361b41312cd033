-- Chapter 1, "Introducing Neural Networks": a neuron sums its inputs times
-- its weights and adds a bias; a network is layers of such neurons.  The
-- chapter has no code of its own; this is its picture in a few lines of
-- plain Lua, before chapter 2 writes it with tensors.
-- Run: lua5.4 examples/book/ch01_neural_networks.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"

local inputs = { 1.0, 2.0, 3.0 }
local weights = { 0.2, 0.8, -0.5 }
local bias = 2.0
local output = bias
for i = 1, #inputs do output = output + inputs[i] * weights[i] end
print(output)
check.close("the neuron's output", output, 2.3)
check.done(1)
