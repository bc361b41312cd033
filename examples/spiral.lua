-- The book's chapters 14-18 training loop on spiral data, by hand:
-- Dense(2, 64) -> ReLU -> Dense(64, 3) -> softmax + categorical cross-entropy,
-- Adam(learning_rate = 0.05, decay = 5e-7), 10,001 epochs, printing every 100.
-- Run: lua5.4 examples/spiral.lua   (from the repository, after `make`)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

lunet.seed(0)
local X, y = lunet.data.spiral(100, 3)

local dense1 = lunet.Dense(2, 64, { weight_regularizer_l2 = 5e-4, bias_regularizer_l2 = 5e-4 })
local activation1 = lunet.ReLU()
local dense2 = lunet.Dense(64, 3)
local loss_activation = lunet.SoftmaxCategoricalCrossentropy()
local optimizer = lunet.Adam { learning_rate = 0.05, decay = 5e-7 }
local accuracy = lunet.CategoricalAccuracy()

local epochs = tonumber(arg and arg[1]) or 10000
for epoch = 0, epochs do
  dense1:forward(X)
  activation1:forward(dense1.output)
  dense2:forward(activation1.output)
  local data_loss = loss_activation:forward(dense2.output, y)
  local regularization_loss = loss_activation:regularization_loss(dense1) +
                              loss_activation:regularization_loss(dense2)
  local loss = data_loss + regularization_loss

  local predictions = loss_activation.output:argmax()
  local acc = accuracy:calculate(predictions, y)

  if epoch % 100 == 0 then
    print(string.format("epoch: %d, acc: %.3f, loss: %.3f (data_loss: %.3f, reg_loss: %.3f), lr: %s",
      epoch, acc, loss, data_loss, regularization_loss, lunet.float_repr(optimizer.current_learning_rate)))
  end

  loss_activation:backward(loss_activation.output, y)
  dense2:backward(loss_activation.dinputs)
  activation1:backward(dense2.dinputs)
  dense1:backward(activation1.dinputs)

  optimizer:pre_update_params()
  optimizer:update_params(dense1)
  optimizer:update_params(dense2)
  optimizer:post_update_params()
end

-- validate on new data from the same distribution (chapter 14)
local X_test, y_test = lunet.data.spiral(100, 3)
dense1:forward(X_test)
activation1:forward(dense1.output)
dense2:forward(activation1.output)
local loss = loss_activation:forward(dense2.output, y_test)
local acc = accuracy:calculate(loss_activation.output:argmax(), y_test)
print(string.format("validation, acc: %.3f, loss: %.3f", acc, loss))
