-- bench/cnn.lua [peak_gflops] [torch_seconds] [samples]: the CNN of
-- examples/fashion_cnn.lua (issue 16).  Prints each convolution layer's
-- GFLOP/s at batch 128 (2 flops per multiply-add; forward, backward, and both
-- as one training pass) against the FMA peak, and the seconds of one epoch of
-- training on `samples` random 1 x 28 x 28 images (default 60,000) against
-- PyTorch's (bench/torch_cnn.py, timed by bench/run.sh in the same run).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"

local peak = tonumber(arg[1])
local torch_s = tonumber(arg[2])
local n = tonumber(arg[3]) or 60000

-- per-layer timings, best of 5 rounds of 10 calls
local function best_ms(f, reps)
  local best = math.huge
  for _ = 1, 5 do
    local t0 = lunet.now()
    for _ = 1, reps do f() end
    best = math.min(best, (lunet.now() - t0) / reps)
  end
  return best * 1e3
end
lunet.seed(0)
print(string.format("%-30s %9s %9s %9s %9s %9s", "layer (batch 128)", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s",
  "pass/peak"))
-- the workers stay awake between the calls, as in Model:train's steps (called
-- alone, each call would wake parked workers)
lunet._threads_hold(true)
for _, cfg in ipairs { { 1, 32, 28 }, { 32, 64, 13 } } do
  local cin, cout, hw = table.unpack(cfg)
  local conv = lunet.Conv2D(cin, cout, 3)
  local x = lunet.randn(128, cin, hw, hw)
  local y = conv:forward(x)
  local dy = lunet.randn(y:shape())
  conv:backward(dy)
  local flops = 2 * 128 * (hw - 2) * (hw - 2) * cout * cin * 9
  local f = best_ms(function() conv:forward(x) end, 10)
  local b = best_ms(function() conv:backward(dy) end, 10)
  print(string.format("%-30s %9.2f %9.2f %9.0f %9.0f %9s", tostring(conv), f, b, flops / f * 1e-6,
    2 * flops / b * 1e-6, peak and string.format("%.2f", 3 * flops / (f + b) * 1e-6 / peak) or "?"))
end

lunet._threads_hold(false)

-- one epoch of the example's network on random images
local X = lunet.randn(n, 1, 28, 28)
local y = lunet.zeros(n)
for i = 1, n do y:set(i, (i % 10) + 1) end
local model = lunet.Model()
model:add(lunet.Input(1, 28, 28))
model:add(lunet.Conv2D(1, 32, 3)); model:add(lunet.ReLU()); model:add(lunet.MaxPool2D(2))
model:add(lunet.Conv2D(32, 64, 3)); model:add(lunet.ReLU()); model:add(lunet.MaxPool2D(2))
model:add(lunet.Flatten()); model:add(lunet.Dense(1600, 128, { init = "he_normal" })); model:add(lunet.ReLU())
model:add(lunet.Dropout(0.3)); model:add(lunet.Dense(128, 10)); model:add(lunet.Softmax())
model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
model:finalize()
local best = math.huge
for _ = 1, 2 do
  local t0 = lunet.now()
  model:train(X, y, { epochs = 1, batch_size = 128, shuffle = true, verbose = 0 })
  best = math.min(best, lunet.now() - t0)
end
print(string.format("cnn_epoch %.2f s per epoch of %d samples (best of 2)%s", best, n,
  torch_s and string.format("; PyTorch %.2f s; lunet / PyTorch %.2f (target <= 0.5)", torch_s, best / torch_s) or ""))
