-- Chapter 6, "Introducing Optimization": random search on vertical data,
-- keeping the weights whenever the loss improves (then the book's better
-- variant: small random changes to the best weights).  Random numbers are
-- lunet's, so the printed losses differ from the book's; what is checked is
-- that the search only ever keeps lower losses and ends below the start.
-- Run: lua5.4 examples/book/ch06_optimization.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

lunet.seed(0)
local X, y = lunet.data.vertical(100, 3)
local dense1, dense2 = lunet.Dense(2, 3), lunet.Dense(3, 3)
local activation1, activation2 = lunet.ReLU(), lunet.Softmax()
local loss_function = lunet.CategoricalCrossentropy()

local function evaluate()
  dense1:forward(X); activation1:forward(dense1.output)
  dense2:forward(activation1.output); activation2:forward(dense2.output)
  local loss = loss_function:calculate(activation2.output, y)
  local accuracy = activation2.output:argmax(2):squeeze(2):eq(y):mean()
  return loss, accuracy
end

local lowest_loss = evaluate()
local first_loss, kept = lowest_loss, 0
local best = { dense1.weights:clone(), dense1.biases:clone(), dense2.weights:clone(), dense2.biases:clone() }
for iteration = 1, 1000 do
  -- small random changes around the best parameters (the chapter's second attempt)
  dense1.weights:copy_(best[1] + lunet.randn(2, 3) * 0.05)
  dense1.biases:copy_(best[2] + lunet.randn(1, 3) * 0.05)
  dense2.weights:copy_(best[3] + lunet.randn(3, 3) * 0.05)
  dense2.biases:copy_(best[4] + lunet.randn(1, 3) * 0.05)
  local loss, accuracy = evaluate()
  if loss < lowest_loss then
    print(string.format("New set of weights found, iteration: %d loss: %.7f acc: %.7f", iteration, loss, accuracy))
    check.that("a kept loss is lower than the one before", loss < lowest_loss)
    lowest_loss, kept = loss, kept + 1
    best = { dense1.weights:clone(), dense1.biases:clone(), dense2.weights:clone(), dense2.biases:clone() }
  end
end
check.that("the search found better weights", kept > 0 and lowest_loss < first_loss)
check.done(6)
