-- The book's chapters 19-22 in Lua: Fashion-MNIST, 784-128-128-10 with ReLU
-- and Softmax, categorical cross-entropy, Adam(decay = 1e-3), 10 epochs of
-- batch 128 with validation after each, then evaluation and saving.
--
-- Run:   lua5.4 examples/fashion_mnist.lua [options]
--   --data DIR      Fashion-MNIST folder (default: Debian's dataset-fashion-mnist,
--                   /usr/share/datasets/fashion-mnist; or a folder in the book's
--                   PNG layout train/<label>/*.png, test/<label>/*.png)
--   --out PATH      where to save the model (default fashion_mnist.safetensors)
--   --epochs N      epochs (default 10)
--   --subset N      train on the first N shuffled samples only (for quick runs)
--   --plots DIR     also draw history, sample and confusion pictures (gnuplot)
--   --verbose N     0, 1 (progress bar) or 2; default: the book's output
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local opts = { data = nil, out = "fashion_mnist.safetensors", epochs = 10, subset = nil, plots = nil }
local i = 1
while arg and arg[i] do
  local k, v = arg[i]:match("^%-%-(%w+)$"), arg[i + 1]
  if not k or v == nil then error("usage: lua5.4 examples/fashion_mnist.lua [--data DIR] [--out PATH] " ..
    "[--epochs N] [--subset N] [--plots DIR] [--verbose N]") end
  opts[k] = tonumber(v) or v
  i = i + 2
end

-- the class names, in label order 1..10
local labels = lunet.data.fashion_mnist_classes -- names by label 1..10

lunet.seed(0)
local t0 = lunet.now()
local X, y, X_test, y_test = lunet.data.fashion_mnist(opts.data)
print(string.format("loaded %d training and %d test images in %.2f s", #X, #X_test, lunet.now() - t0))

if opts.subset then
  X, y = lunet.data.shuffle(X, y)
  X, y = X:rows(1, opts.subset):clone(), y:rows(1, opts.subset):clone()
end

-- scale to -1..1 in place: no extra copy of the 188 MB training set
X:sub_(127.5):div_(127.5)
X_test:sub_(127.5):div_(127.5)

local model = lunet.Model()
model:add(lunet.Dense(784, 128))
model:add(lunet.ReLU())
model:add(lunet.Dense(128, 128))
model:add(lunet.ReLU())
model:add(lunet.Dense(128, 10))
model:add(lunet.Softmax())
model:set {
  loss = lunet.CategoricalCrossentropy(),
  optimizer = lunet.Adam { decay = 1e-3 },
  accuracy = lunet.CategoricalAccuracy(),
}
model:finalize()

-- the book shuffles the samples once before training; `shuffle = true`
-- reshuffles every epoch without copying the data set
t0 = lunet.now()
local history = model:train(X, y, {
  validation_data = { X_test, y_test },
  epochs = opts.epochs, batch_size = 128, print_every = 100, shuffle = true, verbose = opts.verbose,
})
local seconds = lunet.now() - t0
model:evaluate(X_test, y_test)
model:save(opts.out)
print(string.format("trained %d epochs in %.1f s (%.2f s/epoch); saved %s", opts.epochs, seconds,
  seconds / opts.epochs, opts.out))

if opts.plots then
  local dir = opts.plots
  os.execute("mkdir -p '" .. dir .. "'")
  local predicted = model.output_layer_activation:predictions(model:predict(X_test, { batch_size = 1000 }))
  local raw = X_test:rows(1, 40) * 127.5 + 127.5
  lunet.plot.history(history, dir .. "/history.png", { title = "Fashion-MNIST, 784-128-128-10" })
  lunet.plot.images(raw, y_test:rows(1, 40), dir .. "/samples.png",
    { predicted = predicted:rows(1, 40), labels = labels })
  lunet.plot.confusion(y_test, predicted, dir .. "/confusion.png", { labels = labels })
  print("pictures: " .. dir .. "/history.png, " .. dir .. "/samples.png, " .. dir .. "/confusion.png")
end
