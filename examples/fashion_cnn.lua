-- A small convolutional network on Fashion-MNIST (issue 16): two Conv2D +
-- ReLU + MaxPool2D stages, Flatten, Dense(1600, 128) ReLU Dropout, Dense(128,
-- 10) Softmax, Adam; images as N x 1 x 28 x 28.  Prints the time of every
-- epoch, the validation accuracy, and the peak resident memory against what
-- the run must hold.
--
-- Run:   lua5.4 examples/fashion_cnn.lua [options]
--   --data DIR       Fashion-MNIST folder (default: Debian's dataset-fashion-mnist)
--   --epochs N       epochs (default 10)
--   --subset N       train on the first N shuffled samples (and validate on N / 6)
--   --batchnorm 1    add BatchNormalization after each convolution
--   --dropout R      the dropout rate after Dense(1600, 128) (default 0.3)
--   --lr R           Adam's learning rate (default 0.002)
--   --decay R        its decay per step (default 0.0005)
--   --out PATH       save the model there (predict with examples/predict_image.lua --model PATH)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local opts = { epochs = 10, batchnorm = 0, dropout = 0.3, lr = 2e-3, decay = 5e-4 }
local i = 1
while arg and arg[i] do
  local k, v = arg[i]:match("^%-%-(%w+)$"), arg[i + 1]
  if not k or v == nil then error("usage: lua5.4 examples/fashion_cnn.lua [--data DIR] [--epochs N] [--subset N] " ..
    "[--batchnorm 1] [--dropout R] [--lr R] [--decay R] [--out PATH]") end
  opts[k] = tonumber(v) or v
  i = i + 2
end
local batchnorm = opts.batchnorm ~= 0 and opts.batchnorm ~= "0"

lunet.seed(0)
local t0 = lunet.now()
local X, y, X_test, y_test = lunet.data.fashion_mnist(opts.data, { shape = "image" })
print(string.format("loaded %d training and %d test images (%s) in %.2f s", #X, #X_test,
  table.concat({ X:shape() }, "x"), lunet.now() - t0))
local loaded = X:numel() + X_test:numel() + #y + #y_test -- floats the loader had to hold
if opts.subset then
  X, y = lunet.data.shuffle(X, y)
  X, y = X:rows(1, opts.subset):clone(), y:rows(1, opts.subset):clone()
  local nt = math.max(opts.subset // 6, 1)
  X_test, y_test = X_test:rows(1, nt):clone(), y_test:rows(1, nt):clone()
end
X:sub_(127.5):div_(127.5)
X_test:sub_(127.5):div_(127.5)

local model = lunet.Model()
model:add(lunet.Input(1, 28, 28))
model:add(lunet.Conv2D(1, 32, 3))
if batchnorm then model:add(lunet.BatchNormalization()) end
model:add(lunet.ReLU())
model:add(lunet.MaxPool2D(2))
model:add(lunet.Conv2D(32, 64, 3))
if batchnorm then model:add(lunet.BatchNormalization()) end
model:add(lunet.ReLU())
model:add(lunet.MaxPool2D(2))
model:add(lunet.Flatten())
model:add(lunet.Dense(1600, 128, { init = "he_normal" }))
model:add(lunet.ReLU())
model:add(lunet.Dropout(opts.dropout))
model:add(lunet.Dense(128, 10, { init = "glorot_uniform" }))
model:add(lunet.Softmax())
model:set {
  loss = lunet.CategoricalCrossentropy(),
  optimizer = lunet.Adam { learning_rate = opts.lr, decay = opts.decay },
  accuracy = lunet.CategoricalAccuracy(),
}
model:finalize()
model:summary()

local batch = 128
local epoch_start
local timer = { -- an epoch's time: training and its validation
  on_train_begin = function() epoch_start = lunet.now() end,
  on_epoch_end = function(_, _, epoch, logs)
    local t = lunet.now()
    print(string.format("epoch %d: %.2f s, loss %.4f, acc %.4f, val_acc %.4f", epoch, t - epoch_start,
      logs.loss, logs.accuracy, logs.val_accuracy or 0 / 0))
    epoch_start = t
  end,
}
t0 = lunet.now()
model:train(X, y, { validation_data = { X_test, y_test }, epochs = opts.epochs, batch_size = batch, shuffle = true,
                    verbose = 0, callbacks = { timer } })
local seconds = lunet.now() - t0
local _, val_acc = model:evaluate(X_test, y_test, { batch_size = batch })
print(string.format("trained %d epochs in %.1f s (%.2f s/epoch); validation accuracy %.4f", opts.epochs, seconds,
  seconds / opts.epochs, val_acc or 0 / 0))
if opts.out then
  model:save(opts.out)
  print("saved " .. opts.out)
end

-- memory: the peak resident size against what the run must hold (the data
-- set, parameters with their gradients and Adam's two states, one batch's
-- activations and gradients, the convolutions' patch matrices)
local function peak_rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match("VmHWM:%s*(%d+)")
  return kb and tonumber(kb) / 1024
end
local floats = math.max(loaded, X:numel() + X_test:numel() + #y + #y_test)
local params = 0
for _, l in ipairs(model.layers) do
  if l.weights then params = params + l.weights:numel() + l.biases:numel() end
end
floats = floats + 4 * params
local shapes = model:_shapes()
for li, l in ipairs(model.layers) do
  local n = 1
  for _, d in ipairs(shapes[li]) do n = n * d end
  floats = floats + 2 * batch * n -- output and dinputs
  if tostring(l):match("^Conv2D") then
    local _, oh, ow = table.unpack(shapes[li])
    local ckk = l.in_channels * l.kernel[1] * l.kernel[2]
    floats = floats + batch * oh * ow * (2 * ckk + l.out_channels) -- patches, their gradient, rows
  end
end
local rss = peak_rss_mb()
local need = floats * 4 / 2 ^ 20
print(string.format("memory: peak resident %.0f MB, needed %.0f MB (ratio %.2f; the Lua interpreter and " ..
  "libraries add about 10 MB)", rss or 0 / 0, need, (rss or 0 / 0) / need))
