-- Layers written in Lua inside a lunet.Model: a LeakyReLU and a trainable
-- per-feature Scale, trained on spiral data with the built-in layers around
-- them, saved, and loaded back through lunet.register_layer.
-- A Lua layer is any table with forward(self, inputs, training) -> output and
-- backward(self, dvalues) -> dinputs; a trainable one lists its tensors in
-- self.params and their gradients in self.grads, and every optimizer updates
-- them.  The Model runs its C layers on its threads and calls these on the
-- calling thread between them.
-- Run: lua5.4 examples/lua_layers.lua [epochs]   (from the repository, after `make`)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

-- LeakyReLU: x for x > 0, slope * x otherwise (no parameters)
local LeakyReLU = { saved = { "slope" } }
LeakyReLU.__index = LeakyReLU
function LeakyReLU.new(slope) return setmetatable({ slope = slope or 0.01 }, LeakyReLU) end
function LeakyReLU.load(fields) return LeakyReLU.new(fields.slope) end
function LeakyReLU:forward(inputs)
  self.inputs = inputs
  self.mask = inputs:gt(0)                       -- 1 where x > 0, else 0
  local factor = self.mask + (1 - self.mask) * self.slope
  self.factor = factor
  return inputs * factor
end
function LeakyReLU:backward(dvalues) return dvalues * self.factor end

-- Scale: y = x * s, one trained factor per feature (s is 1 x n)
local Scale = { saved = { "n" } }
Scale.__index = Scale
function Scale.new(n)
  local self = setmetatable({ n = n, s = lunet.ones(1, n), ds = lunet.zeros(1, n) }, Scale)
  self.params, self.grads = { self.s }, { self.ds }
  return self
end
function Scale.load(fields) return Scale.new(fields.n) end
function Scale:forward(inputs)
  self.inputs = inputs
  return inputs * self.s
end
function Scale:backward(dvalues)
  self.ds:copy_((dvalues * self.inputs):sum(1))  -- the gradient lands in the tensor listed in grads
  return dvalues * self.s
end

-- names under which Model:save writes them and Model.load finds them again
lunet.register_layer("example.LeakyReLU", LeakyReLU)
lunet.register_layer("example.Scale", Scale)

lunet.seed(0)
local X, y = lunet.data.spiral(1000, 3)
local X_test, y_test = lunet.data.spiral(100, 3)

local model = lunet.Model()
model:add(lunet.Dense(2, 64))
model:add(Scale.new(64))
model:add(LeakyReLU.new(0.05))
model:add(lunet.Dense(64, 64))
model:add(lunet.ReLU())
model:add(lunet.Dense(64, 3))
model:add(lunet.Softmax())
model:set {
  loss = lunet.CategoricalCrossentropy(),
  optimizer = lunet.Adam { learning_rate = 0.02, decay = 5e-5 },
  accuracy = lunet.CategoricalAccuracy(),
}
model:finalize()
model:summary()

local epochs = tonumber(arg and arg[1]) or 40
local t0 = lunet.now()
local history = model:train(X, y, { epochs = epochs, batch_size = 128, shuffle = true, verbose = 0 })
print(string.format("%d epochs in %.2f s: loss %.3f -> %.3f", epochs, lunet.now() - t0, history.loss[1],
  history.loss[epochs]))
local _, acc = model:evaluate(X_test, y_test)

local path = os.tmpname() .. ".safetensors"
model:save(path)
local loaded = lunet.Model.load(path)
os.remove(path)
local diff = (loaded:predict(X_test) - model:predict(X_test)):abs():max()
print(string.format("saved and loaded: largest prediction difference %g; scale factors %.3f .. %.3f", diff,
  loaded.layers[2].s:min(), loaded.layers[2].s:max()))
assert(diff == 0, "the loaded model predicts differently")
assert(acc > 0.8, "accuracy " .. acc .. " is lower than this network reaches")
