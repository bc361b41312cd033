-- bench/networks.lua [epochs=2] [peak_gflops] [only] [subset]: training speed of the kinds of
-- networks users build, on Fashion-MNIST (60,000 x 784), each against the
-- book's network: seconds per epoch (best of the epochs), GFLOP/s of the
-- Dense layers' products (2 flops per multiply-add: forward N*in*out, weight
-- gradients N*in*out, input gradients N*in*out except the first layer's,
-- which train does not compute), and that rate's ratio to the book's network
-- and to the FMA peak (measured by bench/fma_peak.c in the same run and
-- passed in).  The Lua-layer row also gives its time against the same
-- network with the built-in layer.  Prints a table and "key value" lines.
-- only: train just that network (its number in the list); subset: the first
-- rows of the data set only (bench/run.sh counts allocations that way).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"

local epochs = tonumber(arg[1]) or 2
local peak = tonumber(arg[2])
local only = tonumber(arg[3])
local subset = tonumber(arg[4])

lunet.seed(0)
local X, y = lunet.data.fashion_mnist()
if subset then X, y = X:rows(1, subset):clone(), y:rows(1, subset):clone() end
X:sub_(127.5):div_(127.5)
local ybin = y:gt(5)                                  -- classes 6..10 against 1..5
local yreg = (y - 5.5) / 4.5                           -- a regression target in [-1, 1]
ybin = ybin:reshape(#ybin, 1)
yreg = yreg:reshape(#yreg, 1)

-- a ReLU written in Lua
local LuaReLU = {}
LuaReLU.__index = LuaReLU
function LuaReLU.new() return setmetatable({}, LuaReLU) end
function LuaReLU:forward(x) self.inputs = x; return x:maximum(0) end
function LuaReLU:backward(dv) return dv * self.inputs:gt(0) end

local reg = { weight_regularizer_l1 = 1e-5, weight_regularizer_l2 = 5e-4, bias_regularizer_l1 = 1e-5,
              bias_regularizer_l2 = 5e-4 }
local function cce() return lunet.CategoricalCrossentropy() end

local nets = {
  { "book: 784-128-128-10 ReLU, Adam, batch 128", 128, "labels", cce,
    function() return lunet.Adam { decay = 1e-3 } end,
    function() return { lunet.Dense(784, 128), lunet.ReLU(), lunet.Dense(128, 128), lunet.ReLU(),
                        lunet.Dense(128, 10), lunet.Softmax() } end },
  { "Dropout: 784-512-512-10, Dropout 0.2 after each, batch 128", 128, "labels", cce,
    function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 512), lunet.ReLU(), lunet.Dropout(0.2), lunet.Dense(512, 512), lunet.ReLU(),
                        lunet.Dropout(0.2), lunet.Dense(512, 10), lunet.Softmax() } end },
  { "Sigmoid: 784-256-256-10, SGD momentum 0.9, batch 64", 64, "labels", cce,
    function() return lunet.SGD { learning_rate = 0.1, momentum = 0.9 } end,
    function() return { lunet.Dense(784, 256), lunet.Sigmoid(), lunet.Dense(256, 256), lunet.Sigmoid(),
                        lunet.Dense(256, 10), lunet.Softmax() } end },
  { "wide: 784-2048-2048-10, batch 1024", 1024, "labels", cce,
    function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 2048), lunet.ReLU(), lunet.Dense(2048, 2048), lunet.ReLU(),
                        lunet.Dense(2048, 10), lunet.Softmax() } end },
  { "L1/L2 on every Dense: 784-256-256-10, batch 128", 128, "labels", cce,
    function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256, reg), lunet.ReLU(), lunet.Dense(256, 256, reg), lunet.ReLU(),
                        lunet.Dense(256, 10, reg), lunet.Softmax() } end },
  { "binary: 784-256-256-1 Sigmoid, binary cross-entropy, batch 128", 128, "binary",
    function() return lunet.BinaryCrossentropy() end, function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256), lunet.ReLU(), lunet.Dense(256, 256), lunet.ReLU(), lunet.Dense(256, 1),
                        lunet.Sigmoid() } end },
  { "regression: 784-256-256-1 Linear, MSE, batch 128", 128, "regression",
    function() return lunet.MeanSquaredError() end, function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256), lunet.ReLU(), lunet.Dense(256, 256), lunet.ReLU(), lunet.Dense(256, 1),
                        lunet.Linear() } end },
  { "regression with MAE, same layers", 128, "regression",
    function() return lunet.MeanAbsoluteError() end, function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256), lunet.ReLU(), lunet.Dense(256, 256), lunet.ReLU(), lunet.Dense(256, 1),
                        lunet.Linear() } end },
  { "built-in twin: 784-256-256-10 ReLU, batch 128", 128, "labels", cce, function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256), lunet.ReLU(), lunet.Dense(256, 256), lunet.ReLU(),
                        lunet.Dense(256, 10), lunet.Softmax() } end },
  { "Lua layer: the twin with its first ReLU in Lua", 128, "labels", cce, function() return lunet.Adam() end,
    function() return { lunet.Dense(784, 256), LuaReLU.new(), lunet.Dense(256, 256), lunet.ReLU(),
                        lunet.Dense(256, 10), lunet.Softmax() } end },
}

-- multiply-adds per sample of one training step's products
local function macs(layers)
  local total, first = 0, true
  for _, l in ipairs(layers) do
    local ok, n_in = pcall(function() return l.n_inputs end)
    if ok and math.type(n_in) == "integer" then
      local w = n_in * l.n_neurons
      total = total + (first and 2 or 3) * w
      first = false
    end
  end
  return total
end

local rows, results = {}, {}
for i, net in ipairs(nets) do
  if only and i ~= only then goto continue end
  local name, bs, kind, loss, opt, layers = table.unpack(net)
  lunet.seed(1)
  local ls = layers()
  local m = lunet.Model()
  -- an older build (timed side by side) may refuse a layer it does not know
  if not pcall(function() for _, l in ipairs(ls) do m:add(l) end end) then
    results[i] = { name = name, secs = 0 / 0, gflops = 0 / 0 }
    rows[#rows + 1] = results[i]
    goto continue
  end
  local acc = kind == "regression" and lunet.RegressionAccuracy()
    or lunet.CategoricalAccuracy { binary = kind == "binary" }
  m:set { loss = loss(), optimizer = opt(), accuracy = acc }
  m:finalize()
  local target = kind == "binary" and ybin or kind == "regression" and yreg or y
  local best = math.huge
  for _ = 1, epochs do
    local t = lunet.now()
    m:train(X, target, { epochs = 1, batch_size = bs, verbose = 0 })
    best = math.min(best, lunet.now() - t)
  end
  local gflops = 2 * macs(ls) * #X / best / 1e9
  results[i] = { name = name, secs = best, gflops = gflops }
  rows[#rows + 1] = results[i]
  ::continue::
end
if only then
  print(string.format("net%d_secs %.4f", only, results[only].secs))
  return
end

local book = results[1].gflops
print(string.format("%-64s %8s %8s %9s %8s", "network", "s/epoch", "GFLOP/s", "vs book", "vs peak"))
for i, r in ipairs(rows) do
  print(string.format("%-64s %8.3f %8.1f %9.2f %8s", r.name, r.secs, r.gflops, r.gflops / book,
    peak and string.format("%.2f", r.gflops / peak) or "-"))
  print(string.format("net%d_gflops %.2f", i, r.gflops))
  print(string.format("net%d_ratio %.3f", i, r.gflops / book))
end
local twin, lua = results[#results - 1], results[#results]
print(string.format("lua_layer_time_ratio %.3f", lua.secs / twin.secs))
local worst = math.huge
for i = 2, #results - 1 do worst = math.min(worst, results[i].gflops / book) end
print(string.format("worst_builtin_ratio %.3f", worst))
print(string.format("networks %d", #nets))
