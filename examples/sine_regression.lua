-- The book's chapter 17: regression on sine data with the Model class:
-- Dense(1, 64) -> ReLU -> Dense(64, 64) -> ReLU -> Dense(64, 1) -> Linear,
-- mean squared error, Adam(learning_rate = 0.005, decay = 1e-3),
-- RegressionAccuracy (precision = std(y) / 250).
-- Run: lua5.4 examples/sine_regression.lua
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

lunet.seed(0)
local X, y = lunet.data.sine()

local model = lunet.Model()
model:add(lunet.Dense(1, 64))
model:add(lunet.ReLU())
model:add(lunet.Dense(64, 64))
model:add(lunet.ReLU())
model:add(lunet.Dense(64, 1))
model:add(lunet.Linear())
model:set {
  loss = lunet.MeanSquaredError(),
  optimizer = lunet.Adam { learning_rate = 0.005, decay = 1e-3 },
  accuracy = lunet.RegressionAccuracy(),
}
model:finalize()
local epochs = tonumber(arg and arg[1]) or 10000
-- chapter 18 prints one line every 100 epochs: a callback does that here
model:train(X, y, {
  epochs = epochs,
  verbose = 0,
  callbacks = {
    function(epoch, logs)
      if epoch % 100 == 0 then
        print(string.format("epoch: %d, acc: %.3f, loss: %.3f (data_loss: %.3f, reg_loss: %.3f), lr: %s", epoch,
          logs.accuracy, logs.loss, logs.data_loss, logs.regularization_loss, lunet.float_repr(logs.learning_rate)))
      end
    end,
  },
})

local X_test, y_test = lunet.data.sine()
model:evaluate(X_test, y_test)
