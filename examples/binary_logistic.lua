-- The book's chapter 16: binary logistic regression on spiral data with two
-- classes, by hand: Dense(2, 64) -> ReLU -> Dense(64, 1) -> Sigmoid, binary
-- cross-entropy, Adam(decay = 5e-7), L2 regularization on the first layer.
-- Run: lua5.4 examples/binary_logistic.lua
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

lunet.seed(0)
local X, labels = lunet.data.spiral(100, 2)
-- the book reshapes y to a column of 0/1 targets: labels 1..2 become 0..1
local y = (labels - 1):reshape(-1, 1)

local dense1 = lunet.Dense(2, 64, { weight_regularizer_l2 = 5e-4, bias_regularizer_l2 = 5e-4 })
local activation1 = lunet.ReLU()
local dense2 = lunet.Dense(64, 1)
local activation2 = lunet.Sigmoid()
local loss_function = lunet.BinaryCrossentropy()
local optimizer = lunet.Adam { decay = 5e-7 }
local accuracy = lunet.CategoricalAccuracy { binary = true }

local epochs = tonumber(arg and arg[1]) or 10000
for epoch = 0, epochs do
  dense1:forward(X)
  activation1:forward(dense1.output)
  dense2:forward(activation1.output)
  activation2:forward(dense2.output)
  local data_loss = loss_function:calculate(activation2.output, y)
  local regularization_loss = loss_function:regularization_loss(dense1) + loss_function:regularization_loss(dense2)
  local loss = data_loss + regularization_loss
  local predictions = activation2:predictions(activation2.output)
  local acc = accuracy:calculate(predictions, y)
  if epoch % 100 == 0 then
    print(string.format("epoch: %d, acc: %.3f, loss: %.3f (data_loss: %.3f, reg_loss: %.3f), lr: %s",
      epoch, acc, loss, data_loss, regularization_loss, lunet.float_repr(optimizer.current_learning_rate)))
  end
  loss_function:backward(activation2.output, y)
  activation2:backward(loss_function.dinputs)
  dense2:backward(activation2.dinputs)
  activation1:backward(dense2.dinputs)
  dense1:backward(activation1.dinputs)
  optimizer:pre_update_params()
  optimizer:update_params(dense1)
  optimizer:update_params(dense2)
  optimizer:post_update_params()
end

local X_test, labels_test = lunet.data.spiral(100, 2)
local y_test = (labels_test - 1):reshape(-1, 1)
dense1:forward(X_test)
activation1:forward(dense1.output)
dense2:forward(activation1.output)
activation2:forward(dense2.output)
local loss = loss_function:calculate(activation2.output, y_test)
local acc = accuracy:calculate(activation2:predictions(activation2.output), y_test)
print(string.format("validation, acc: %.3f, loss: %.3f", acc, loss))
