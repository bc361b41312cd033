-- Chapter 3, "Adding Layers": a batch of inputs through two layers
-- (np.dot(inputs, np.array(weights).T) + biases), then the Dense class on
-- spiral data (nnfs's spiral_data is lunet.data.spiral).
-- Run: lua5.4 examples/book/ch03_layers.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

local inputs = lunet.tensor { { 1, 2, 3, 2.5 }, { 2, 5, -1, 2 }, { -1.5, 2.7, 3.3, -0.8 } }
local weights = lunet.tensor { { 0.2, 0.8, -0.5, 1 }, { 0.5, -0.91, 0.26, -0.5 }, { -0.26, -0.27, 0.17, 0.87 } }
local biases = lunet.tensor { 2, 3, 0.5 }
local weights2 = lunet.tensor { { 0.1, -0.14, 0.5 }, { -0.5, 0.12, -0.33 }, { -0.44, 0.73, -0.13 } }
local biases2 = lunet.tensor { -1, 2, -0.5 }

local layer1_outputs = lunet.dot(inputs, weights:t()) + biases -- a 1-D bias broadcasts over the rows
local layer2_outputs = lunet.dot(layer1_outputs, weights2:t()) + biases2
print(layer2_outputs)
check.close("layer 1", layer1_outputs, { { 4.8, 1.21, 2.385 }, { 8.9, -1.81, 0.2 }, { 1.41, 1.051, 0.026 } }, 1e-5)
check.close("layer 2", layer2_outputs, { { 0.5031, -1.04185, -2.03875 }, { 0.2434, -2.7332, -5.7633 },
  { -0.99314, 1.41254, -0.35655 } }, 1e-5)

-- the Dense layer of the chapter: weights 0.01 * randn(n_inputs, n_neurons), zero biases
lunet.seed(0)
local X = lunet.data.spiral(100, 3)
local dense1 = lunet.Dense(2, 3)
dense1:forward(X)
print(dense1.output:rows(1, 5))
local rows, cols = dense1.output:shape()
check.that("300 samples of 3 outputs", rows == 300 and cols == 3)
check.that("the first sample is at the origin, so its outputs are the zero biases",
  dense1.output:rows(1, 1):abs():max() == 0)
check.that("outputs are small (weights 0.01 * randn)", dense1.output:abs():max() < 0.1)
check.done(3)
