-- test/export_models.lua: the models the export checks share (test/export_c.lua,
-- test/onnx_export.lua): an MLP classifier, a binary classifier, a regression
-- with batch normalisation on a matrix and a CNN with batch normalisation,
-- each trained a little; and a writer of raw float32 files.
local lunet = require "lunet"
local M = {}

local nets = {
  { "mlp", function(m)
      m:add(lunet.Dense(6, 32)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.2)); m:add(lunet.Dense(32, 4))
      m:add(lunet.Softmax())
      return lunet.CategoricalCrossentropy(), lunet.randn(24, 6), "labels"
    end },
  { "binary", function(m)
      m:add(lunet.Input(5)); m:add(lunet.Dense(5, 300)); m:add(lunet.ReLU()); m:add(lunet.Dense(300, 1))
      m:add(lunet.Sigmoid())
      return lunet.BinaryCrossentropy(), lunet.randn(24, 5), "binary"
    end },
  { "regression", function(m)
      m:add(lunet.Input(3)); m:add(lunet.Dense(3, 64)); m:add(lunet.Sigmoid()); m:add(lunet.Dense(64, 2))
      m:add(lunet.BatchNormalization()); m:add(lunet.Linear())
      return lunet.MeanSquaredError(), lunet.randn(24, 3), "values"
    end },
  { "cnn", function(m)
      m:add(lunet.Input(2, 9, 7)); m:add(lunet.Conv2D(2, 4, 3, { padding = "same", stride = 2 }))
      m:add(lunet.BatchNormalization()); m:add(lunet.ReLU()); m:add(lunet.MaxPool2D(2, { stride = 1 }))
      m:add(lunet.Conv2D(4, 3, { 2, 1 }, { padding = { 1, 0 } })); m:add(lunet.ReLU()); m:add(lunet.Flatten())
      m:add(lunet.Dropout(0.3)); m:add(lunet.Dense(45, 5)); m:add(lunet.Softmax())
      return lunet.CategoricalCrossentropy(), lunet.randn(24, 2, 9, 7), "labels"
    end },
}

--- each model, trained 5 epochs: f(name, model, X) in order
function M.each(f)
  for i, net in ipairs(nets) do
    lunet.seed(i)
    local m = lunet.Model()
    local loss, X, ykind = net[2](m)
    local n = #X
    local y
    if ykind == "values" then y = lunet.randn(n, 2)
    elseif ykind == "binary" then y = lunet.zeros(n, 1); for r = 1, n do y:set(r, 1, r % 2) end
    else y = lunet.zeros(n); for r = 1, n do y:set(r, 1 + r % 3) end end
    m:set { loss = loss, optimizer = lunet.Adam(), accuracy = ykind == "values" and lunet.RegressionAccuracy()
            or lunet.CategoricalAccuracy { binary = ykind == "binary" } }
    m:finalize()
    m:train(X, y, { epochs = 5, batch_size = 8, verbose = 0 })
    f(net[1], m, X)
  end
end

--- the values of t as raw little-endian float32 at path
function M.f32(t, path)
  local n = t:numel()
  local flat, parts = t:view(n), {}
  for i = 1, n do parts[i] = string.pack("<f", flat:get(i)) end
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(parts)); f:close()
end

return M
