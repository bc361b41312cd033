-- bench/trainer_step.lua: how long one job:step(1) of model:trainer takes on
-- the book's Fashion-MNIST network (784-128-128-10, Adam, batch 128, with
-- the test set as validation data): median, 99th percentile and largest
-- over one epoch and its validation (issue 17's target: under 1 ms).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"

lunet.seed(0)
if arg[1] then lunet.set_threads(tonumber(arg[1])) end
local X, y, Xt, yt = lunet.data.fashion_mnist()
X:sub_(127.5):div_(127.5)
Xt:sub_(127.5):div_(127.5)
local model = lunet.Model()
model:add(lunet.Dense(784, 128)); model:add(lunet.ReLU())
model:add(lunet.Dense(128, 128)); model:add(lunet.ReLU())
model:add(lunet.Dense(128, 10)); model:add(lunet.Softmax())
model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { decay = 1e-3 },
            accuracy = lunet.CategoricalAccuracy() }
model:finalize()
local job = model:trainer(X, y, { epochs = 1, batch_size = 128, shuffle = true, validation_data = { Xt, yt },
                                  verbose = 0 })
local times = {}
while true do
  local t0 = lunet.now()
  local done = job:step(1)
  if done then break end
  times[#times + 1] = lunet.now() - t0
end
table.sort(times)
print(string.format("trainer_step_ms_median %.3f", times[#times // 2] * 1000))
print(string.format("trainer_step_ms_p99 %.3f", times[math.ceil(#times * 0.99)] * 1000))
print(string.format("trainer_step_ms_max %.3f", times[#times] * 1000))
print(string.format("trainer_steps %d", #times))
