-- Model:train on the engine's threads against the book's layer-by-layer
-- loop, for every kind of built-in network: the same parameters bit for bit
-- on 1, 2 and 3 threads, whatever path the model takes (the plan with the
-- fused softmax/cross-entropy, the plan with the loss as its last node,
-- Lua layers between C segments, layers outside the plan), and the same
-- epoch loss and accuracy.
local lunet = require "lunet"

local N, IN = 250, 64

local function data(kind)
  lunet.seed(11)
  local X = lunet.randn(N, IN)
  if kind == "binary" then return X, X:narrow(2, 1, 1):gt(0) end
  if kind == "regression" then return X, X:narrow(2, 1, 1) * 0.5 + X:narrow(2, 2, 1):tanh() end
  local labels = {}
  for i = 1, N do labels[i] = (i * 7) % 10 + 1 end
  local y = lunet.tensor(labels)
  if kind == "onehot" then return X, lunet.data.one_hot(y, 10) end
  if kind == "images" then return X:reshape(N, 1, 8, 8), y end
  return X, y
end

-- a ReLU written in Lua
local LuaReLU = {}
LuaReLU.__index = LuaReLU
function LuaReLU:forward(x) self.inputs = x; return x:maximum(0) end
function LuaReLU:backward(dv) return dv * self.inputs:gt(0) end

-- a trainable per-feature scale written in Lua
local Scale = {}
Scale.__index = Scale
function Scale.new(n)
  local self = setmetatable({ s = lunet.full(1.5, 1, n), ds = lunet.zeros(1, n) }, Scale)
  self.params, self.grads = { self.s }, { self.ds }
  return self
end
function Scale:forward(x) self.inputs = x; return x * self.s end
function Scale:backward(dv) self.ds:copy_((dv * self.inputs):sum(1)); return dv * self.s end

local reg = { weight_regularizer_l1 = 1e-4, weight_regularizer_l2 = 5e-4, bias_regularizer_l1 = 1e-4,
              bias_regularizer_l2 = 5e-4 }

-- each network: its layers (made fresh after lunet.seed), loss, optimizer, data kind[, accuracy]
local nets = {
  { "Dropout after wide hidden layers (Adam)", function()
      return { lunet.Dense(IN, 256), lunet.ReLU(), lunet.Dropout(0.3), lunet.Dense(256, 256), lunet.ReLU(),
               lunet.Dropout(0.2), lunet.Dense(256, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.Adam { learning_rate = 0.005 } end, "labels" },
  { "Sigmoid hidden layers (SGD with momentum)", function()
      return { lunet.Dense(IN, 128), lunet.Sigmoid(), lunet.Dense(128, 128), lunet.Sigmoid(), lunet.Dense(128, 10),
               lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.SGD { learning_rate = 0.5, momentum = 0.9 } end,
    "labels" },
  { "L1/L2 on every Dense (RMSprop)", function()
      return { lunet.Dense(IN, 128, reg), lunet.ReLU(), lunet.Dense(128, 10, reg), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.RMSprop { learning_rate = 0.01, decay = 1e-3 } end,
    "labels" },
  { "one-hot targets, Linear between (Adagrad)", function()
      return { lunet.Dense(IN, 128), lunet.Linear(), lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.Adagrad { learning_rate = 0.1 } end, "onehot" },
  { "binary classifier (Sigmoid, binary cross-entropy)", function()
      return { lunet.Dense(IN, 128), lunet.ReLU(), lunet.Dense(128, 1), lunet.Sigmoid() }
    end, lunet.BinaryCrossentropy, function() return lunet.Adam { learning_rate = 0.01 } end, "binary" },
  { "regression with MSE", function()
      return { lunet.Dense(IN, 128), lunet.ReLU(), lunet.Dense(128, 128), lunet.ReLU(), lunet.Dense(128, 1),
               lunet.Linear() }
    end, lunet.MeanSquaredError, function() return lunet.Adam { learning_rate = 0.005 } end, "regression" },
  { "regression with MAE", function()
      return { lunet.Dense(IN, 128), lunet.Sigmoid(), lunet.Dense(128, 1), lunet.Linear() }
    end, lunet.MeanAbsoluteError, function() return lunet.Adam { learning_rate = 0.005 } end, "regression" },
  { "a Lua layer in the middle", function()
      return { lunet.Dense(IN, 128), setmetatable({}, LuaReLU), lunet.Dense(128, 128), lunet.ReLU(),
               lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.Adam { learning_rate = 0.005 } end, "labels" },
  { "Lua layers between three segments (a split sum after the first)", function()
      return { lunet.Dense(IN, 300), setmetatable({}, LuaReLU), lunet.Dense(300, 128), lunet.Sigmoid(), Scale.new(128),
               lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.Adam { learning_rate = 0.005 } end, "labels" },
  { "a trainable Lua layer first", function()
      return { Scale.new(IN), lunet.Dense(IN, 128), lunet.ReLU(), lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.SGD { learning_rate = 0.1, momentum = 0.5 } end,
    "labels" },
  { "categorical cross-entropy on Sigmoid outputs, one-hot rows (the loss as the plan's last node)", function()
      return { lunet.Dense(IN, 128), lunet.Sigmoid(), lunet.Dense(128, 10), lunet.Sigmoid() }
    end, lunet.CategoricalCrossentropy, function() return lunet.SGD { learning_rate = 0.2 } end, "onehot",
    function() return lunet.CategoricalAccuracy { binary = true } end },
  { "CNN: Conv2D same, ReLU, MaxPool2D, Conv2D, Flatten, Dense (Adam)", function()
      return { lunet.Conv2D(1, 4, 3, { padding = "same" }), lunet.ReLU(), lunet.MaxPool2D(2), lunet.Conv2D(4, 6, 3),
               lunet.ReLU(), lunet.Flatten(), lunet.Dense(24, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.Adam { learning_rate = 0.005 } end, "images" },
  { "CNN: stride 2 with L2, batch norm, Dropout (SGD with momentum)", function()
      local reg2 = { stride = 2, padding = 1, weight_regularizer_l2 = 1e-3, bias_regularizer_l1 = 1e-4 }
      return { lunet.Conv2D(1, 4, 3, reg2),
               lunet.BatchNormalization(), lunet.ReLU(), lunet.Dropout(0.2), lunet.Flatten(), lunet.Dense(64, 10),
               lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.SGD { learning_rate = 0.1, momentum = 0.9 } end,
    "images" },
  { "batch norm on a matrix: Input(n) then BatchNormalization first, between Dense layers (RMSprop)", function()
      return { lunet.Input(IN), lunet.BatchNormalization(), lunet.Dense(IN, 128), lunet.BatchNormalization(),
               lunet.ReLU(), lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.CategoricalCrossentropy, function() return lunet.RMSprop { learning_rate = 0.005 } end, "labels" },
  { "Input first, Softmax with a plain loss", function()
      return { lunet.Input(), lunet.Dense(IN, 128), lunet.ReLU(), lunet.Dense(128, 10), lunet.Softmax() }
    end, lunet.MeanSquaredError, function() return lunet.Adam { learning_rate = 0.005 } end, "onehot" },
}

local function trainable(l)
  if getmetatable(l) == Scale then return true end
  local ok, w = pcall(function() return l.weights end)
  return ok and w ~= nil
end

local function accuracy(net)
  return net[6] and net[6]() or net[5] == "regression" and lunet.RegressionAccuracy()
    or lunet.CategoricalAccuracy { binary = net[5] == "binary" }
end

-- the book's loop over batches, one epoch
local function book(net, bs)
  local X, y = data(net[5])
  lunet.seed(3)
  local layers = net[2]()
  local loss, opt, acc = net[3](), net[4](), accuracy(net)
  acc:init(y)
  local combined = layers[#layers].predictions and tostring(layers[#layers]) == "Softmax"
    and tostring(loss) == "CategoricalCrossentropy()" and lunet.SoftmaxCategoricalCrossentropy() or nil
  lunet.seed(5)
  for s = 1, N, bs do
    local e = math.min(N, s + bs - 1)
    local bx, by = X:rows(s, e), y:rows(s, e)
    local out = bx
    for _, l in ipairs(layers) do out = l:forward(out, true) end
    local d, last
    if combined then
      d, last = combined:backward(out, by), #layers - 1
    else
      d, last = loss:backward(out, by), #layers
    end
    loss:calculate(out, by)
    acc:calculate(layers[#layers]:predictions(out), by)
    for i = last, 1, -1 do d = layers[i]:backward(d) end
    opt:pre_update_params()
    for _, l in ipairs(layers) do if trainable(l) then opt:update_params(l) end end
    opt:post_update_params()
  end
  return layers, loss:calculate_accumulated(), acc:calculate_accumulated()
end

local function trained(net, bs, threads)
  local X, y = data(net[5])
  lunet.seed(3)
  local layers = net[2]()
  local m = lunet.Model()
  for _, l in ipairs(layers) do m:add(l) end
  m:set { loss = net[3](), optimizer = net[4](), accuracy = accuracy(net) }
  m:finalize()
  lunet.set_threads(threads)
  m:seed(5) -- the model's own generator draws the dropout masks (the loop's: lunet.seed(5))
  local ok, history = pcall(m.train, m, X, y, { epochs = 1, batch_size = bs, verbose = 0 })
  lunet.set_threads(2)
  assert(ok, history)
  return layers, history.data_loss[1], history.accuracy[1]
end

describe("Model:train equals the layer-by-layer loop for every built-in network", function()
  for _, net in ipairs(nets) do
    it(net[1] .. ", batches of 37 and 100, on 1, 2 and 3 threads", function()
      for _, bs in ipairs { 37, 100 } do
        local want, want_loss, want_acc = book(net, bs)
        for _, threads in ipairs { 1, 2, 3 } do
          local got, got_loss, got_acc = trained(net, bs, threads)
          assert(got_acc == want_acc, string.format("epoch accuracy %.17g, the loop's %.17g (batch %d, %d threads)",
            got_acc, want_acc, bs, threads))
          assert(got_loss == want_loss, string.format("epoch loss %.17g, the loop's %.17g (batch %d, %d threads)",
            got_loss, want_loss, bs, threads))
          local n = 0
          for i, l in ipairs(want) do
            if trainable(l) then
              n = n + 1
              for _, f in ipairs(getmetatable(l) == Scale and { "s" } or { "weights", "biases" }) do
                assert((l[f] - got[i][f]):abs():max() == 0,
                  string.format("%s differs at layer %d, batch %d, %d threads", f, i, bs, threads))
              end
            end
          end
          assert(n >= 2)
        end
      end
    end)
  end
end)
