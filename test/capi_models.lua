-- test/capi_models.lua DIR: models for test/capi_test.c.  Each is trained a
-- little and saved with Model:save as DIR/<name>.safetensors, with rows X and
-- Lua's predictions Y = model:predict(X) in DIR/<name>.data.safetensors; the
-- C test loads the model through the C API and compares bit for bit.  A model
-- with a Lua layer goes to DIR/lua.safetensors (the C API must refuse it).
local lunet = require "lunet"
local dir = assert(arg[1], "usage: lua5.4 test/capi_models.lua DIR")
local names = {}

local function save(name, model, X)
  model:save(dir .. "/" .. name .. ".safetensors")
  lunet.safetensors.save(dir .. "/" .. name .. ".data.safetensors", { X = X, Y = model:predict(X) })
  names[#names + 1] = name
end

local function build(layers, loss, acc)
  local m = lunet.Model()
  for _, l in ipairs(layers) do m:add(l) end
  m:set { loss = loss, optimizer = lunet.Adam { learning_rate = 0.01 }, accuracy = acc }
  return m:finalize()
end

lunet.seed(7)
-- a classifier on 784 inputs (the first Dense sums in two halves), Dropout
do
  local X = lunet.randn(1000, 784)
  local y = (X:narrow(2, 1, 1):squeeze(2):gt(0) + 1)
  local m = build({ lunet.Dense(784, 128), lunet.ReLU(), lunet.Dropout(0.2), lunet.Dense(128, 10), lunet.Softmax() },
    lunet.CategoricalCrossentropy(), lunet.CategoricalAccuracy())
  m:train(X, y, { epochs = 1, batch_size = 128, verbose = 0 })
  save("mlp", m, X)
end
-- a binary classifier (Sigmoid, binary cross-entropy)
do
  local X = lunet.randn(333, 4)
  local y = X:narrow(2, 1, 1):gt(0)
  local m = build({ lunet.Dense(4, 16), lunet.ReLU(), lunet.Dense(16, 1), lunet.Sigmoid() },
    lunet.BinaryCrossentropy(), lunet.CategoricalAccuracy { binary = true })
  m:train(X, y, { epochs = 5, batch_size = 32, verbose = 0 })
  save("binary", m, X)
end
-- a regression (Input first, Linear last, MSE)
do
  local X, y = lunet.data.sine(500)
  local m = build({ lunet.Input(), lunet.Dense(1, 64), lunet.ReLU(), lunet.Dense(64, 64), lunet.ReLU(),
    lunet.Dense(64, 1), lunet.Linear() }, lunet.MeanSquaredError(), lunet.RegressionAccuracy())
  m:train(X, y, { epochs = 5, batch_size = 64, verbose = 0 })
  save("regression", m, X)
end
-- widths that are no multiple of anything, a split sum over 300 inputs, Sigmoid hidden
do
  local X = lunet.randn(777, 300)
  local y = lunet.tensor((function() local t = {} for i = 1, 777 do t[i] = i % 3 + 1 end return t end)())
  local m = build({ lunet.Dense(300, 513), lunet.Sigmoid(), lunet.Dense(513, 3), lunet.Softmax() },
    lunet.CategoricalCrossentropy(), lunet.CategoricalAccuracy())
  m:train(X, y, { epochs = 1, batch_size = 100, verbose = 0 })
  save("wide", m, X)
end
-- a CNN: Conv2D with "same" padding and stride 2, batch norm on images,
-- MaxPool2D, a second Conv2D, Flatten, Dense; batch norm on a matrix
do
  local X = lunet.randn(301, 1, 12, 10)
  local y = lunet.tensor((function() local t = {} for i = 1, 301 do t[i] = i % 5 + 1 end return t end)())
  local m = build({ lunet.Input(1, 12, 10), lunet.Conv2D(1, 4, 3, { padding = "same", stride = 2 }),
    lunet.BatchNormalization(), lunet.ReLU(), lunet.MaxPool2D(2), lunet.Conv2D(4, 6, 2), lunet.ReLU(),
    lunet.Flatten(), lunet.Dropout(0.1), lunet.Dense(12, 8), lunet.BatchNormalization(), lunet.Dense(8, 5),
    lunet.Softmax() }, lunet.CategoricalCrossentropy(), lunet.CategoricalAccuracy())
  m:train(X, y, { epochs = 2, batch_size = 50, verbose = 0 })
  save("cnn", m, X)
end
-- a Lua layer: saved by Lua, refused by the C API
do
  local Id = {}
  Id.__index = Id
  function Id.load() return setmetatable({}, Id) end
  function Id:forward(x) return x end
  function Id:backward(dv) return dv end
  lunet.register_layer("capi.Identity", Id)
  local m = build({ lunet.Dense(2, 3), Id.load(), lunet.Softmax() }, lunet.CategoricalCrossentropy(),
    lunet.CategoricalAccuracy())
  m:save(dir .. "/lua.safetensors")
end

local f = assert(io.open(dir .. "/models.txt", "w"))
f:write(table.concat(names, "\n"), "\n")
f:close()
print("capi_models: " .. #names .. " models in " .. dir)
