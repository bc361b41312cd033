-- test/torch_layout.lua export|import DIR: the PyTorch-layout check (issue 17,
-- run by .ci/run with test/torch_layout.py between the two steps).
--   export: trains three lunet models (an MLP, a binary classifier, a CNN
--           with batch normalisation), writes each one's parameters with
--           save_parameters(..., { layout = "torch" }) and its inputs and
--           predictions; test/torch_layout.py loads them into the equivalent
--           torch.nn.Sequential with load_state_dict and compares.
--   import: loads the state_dicts test/torch_layout.py wrote from PyTorch
--           models into the same lunet models and compares predictions.
-- Prints one line per check and "N passed, N failed"; exits non-zero on a failure.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local mode, dir = arg[1], arg[2]
assert((mode == "export" or mode == "import") and dir, "usage: lua5.4 test/torch_layout.lua export|import DIR")

local nets = {
  mlp = function(m)
    m:add(lunet.Dense(4, 16)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.2)); m:add(lunet.Dense(16, 3))
    m:add(lunet.Softmax())
    return lunet.randn(20, 4), "categorical"
  end,
  binary = function(m)
    m:add(lunet.Dense(4, 8)); m:add(lunet.ReLU()); m:add(lunet.Dense(8, 1)); m:add(lunet.Sigmoid())
    return lunet.randn(20, 4), "binary"
  end,
  cnn = function(m) -- Input declares the shape (and is no PyTorch module: the numbering skips it)
    m:add(lunet.Input(1, 8, 8)); m:add(lunet.Conv2D(1, 4, 3, { padding = 1 })); m:add(lunet.BatchNormalization())
    m:add(lunet.ReLU())
    m:add(lunet.MaxPool2D(2)); m:add(lunet.Conv2D(4, 6, { 2, 3 }, { stride = { 1, 2 } })); m:add(lunet.ReLU())
    m:add(lunet.Flatten()); m:add(lunet.Dropout(0.2)); m:add(lunet.Dense(18, 5)); m:add(lunet.Softmax())
    return lunet.randn(20, 1, 8, 8), "categorical"
  end,
}
local order = { "mlp", "binary", "cnn" }

local function build(name)
  local m = lunet.Model()
  local X, kind = nets[name](m)
  if kind == "binary" then
    m:set { loss = lunet.BinaryCrossentropy(), optimizer = lunet.Adam(),
            accuracy = lunet.CategoricalAccuracy { binary = true } }
  else
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
  end
  m:finalize()
  return m, X, kind
end

local passed, failed = 0, 0
local function report(ok, what)
  if ok then passed = passed + 1 else failed = failed + 1 end
  print((ok and "ok: " or "FAILED: ") .. what)
end

for i, name in ipairs(order) do
  lunet.seed(i)
  local m, X, kind = build(name)
  if mode == "export" then
    local y = kind == "binary" and lunet.zeros(#X, 1) or lunet.zeros(#X)
    for r = 1, #X do
      if kind == "binary" then y:set(r, 1, r % 2) else y:set(r, 1 + r % 3) end
    end
    m:train(X, y, { epochs = 3, batch_size = 8, verbose = 0 })
    m:save_parameters(string.format("%s/%s.safetensors", dir, name), { layout = "torch" })
    lunet.safetensors.save(string.format("%s/%s_io.safetensors", dir, name), { X = X, P = m:predict(X) })
    report(true, name .. ": exported")
  else
    local io = lunet.safetensors.load(string.format("%s/torch_%s_io.safetensors", dir, name))
    local ok, err = pcall(m.load_parameters, m, string.format("%s/torch_%s.safetensors", dir, name),
                          { layout = "torch" })
    if not ok then report(false, name .. ": " .. tostring(err))
    else
      local diff = (m:predict(io.X) - io.P):abs():max()
      report(diff <= 1e-5, string.format("%s: PyTorch's state_dict loaded into lunet predicts the same "
        .. "(max |diff| %.3g)", name, diff))
    end
  end
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
