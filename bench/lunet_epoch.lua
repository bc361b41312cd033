-- bench/lunet_epoch.lua: seconds per epoch of the book's Fashion-MNIST run
-- (784-128-128-10, ReLU, Softmax + categorical cross-entropy, Adam decay 1e-3,
-- batch 128, 60,000 samples, reshuffled every epoch) and the load time of
-- lunet.data.fashion_mnist().  Prints "key value" lines for bench/run.sh.
-- Usage: lua5.4 bench/lunet_epoch.lua [epochs=3] [threads] [subset]
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"

local epochs = tonumber(arg[1]) or 3
local threads = tonumber(arg[2])
local subset = tonumber(arg[3])
if threads then lunet.set_threads(threads) end

lunet.seed(0)
local t0 = lunet.now()
local X, y = lunet.data.fashion_mnist()
print(string.format("load_idx %.4f", lunet.now() - t0))
if subset then X, y = X:rows(1, subset):clone(), y:rows(1, subset):clone() end
X:sub_(127.5):div_(127.5)

local model = lunet.Model()
model:add(lunet.Dense(784, 128))
model:add(lunet.ReLU())
model:add(lunet.Dense(128, 128))
model:add(lunet.ReLU())
model:add(lunet.Dense(128, 10))
model:add(lunet.Softmax())
model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { decay = 1e-3 },
            accuracy = lunet.CategoricalAccuracy() }
model:finalize()

local times = {}
local h
for e = 1, epochs do
  local t = lunet.now()
  h = model:train(X, y, { epochs = 1, batch_size = 128, shuffle = true, verbose = 0 })
  times[e] = lunet.now() - t
end
table.sort(times)
print(string.format("epoch_best %.4f", times[1]))
print(string.format("epoch_median %.4f", times[(#times + 1) // 2]))
print(string.format("final_loss %.4f", h.loss[1]))
print(string.format("final_acc %.4f", h.accuracy[1]))
local c = lunet.config()
print("blas " .. c.blas)
print("threads " .. c.threads)
