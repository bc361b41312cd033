-- bench/soak.lua [SECONDS=180]: a soak run, not a test.  Builds, trains,
-- saves, loads and drops models and tensors in a loop (also taking the
-- error paths: bad shapes, bad files) and prints the resident memory every
-- few seconds, so a leak shows as a rising column.  At the end it compares
-- the median RSS of the first and last quarters and says whether it stayed
-- flat (within 10% + 8 MB); the exit status is 1 when it did not.
--   lua5.4 bench/soak.lua 300
--   (from the source tree: LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;")
local lunet = require "lunet"

local seconds = tonumber(arg and arg[1]) or 180
local tmp = os.tmpname()
local now = lunet._now

-- resident set size in MB from /proc/self/status (nil elsewhere)
local function rss_mb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a"); f:close()
  local kb = s:match("VmRSS:%s*(%d+)")
  return kb and tonumber(kb) / 1024
end

-- one round of everything a training script does, plus failing calls
local function round(i)
  lunet.seed(i)
  local n = 50 + i % 50
  local X, y = lunet.data.spiral(n, 3)
  local model = lunet.Model()
  model:add(lunet.Dense(2, 32, { weight_regularizer_l2 = 5e-4 }))
  model:add(lunet.ReLU())
  model:add(lunet.Dropout(0.1))
  model:add(lunet.Dense(32, 3))
  model:add(lunet.Softmax())
  model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam { learning_rate = 0.01, decay = 1e-3 },
              accuracy = lunet.CategoricalAccuracy() }
  model:finalize()
  model:train(X, y, { epochs = 3, batch_size = 32, shuffle = true, verbose = 0, validation_data = { X, y } })
  model:evaluate(X, y, { verbose = 0 })
  local p = model:predict(X, { batch_size = 17 })
  model:save(tmp)
  local m2 = lunet.Model.load(tmp)
  m2:predict(X)
  model:save_parameters(tmp)
  model:load_parameters(tmp)
  -- tensors of changing sizes, views, arithmetic
  local a = lunet.randn(100 + i % 37, 64)
  local b = (a * 2 + 1):rows(2, 10):clone()
  local _ = (b / 3):sum() + p:argmax():sum() + a:index({ 1, 3, 5 }):mean()
  -- error paths must not leak either
  pcall(model.predict, model, lunet.zeros(4, 5))
  pcall(lunet.Dense, 0, 3)
  pcall(model.train, model, X, lunet.zeros(n * 3 + 1), { verbose = 0 })
  pcall(lunet.tensor, { { 1, 2 }, { 3 } })
  pcall(lunet.Model.load, "/nonexistent/model.safetensors")
  local f = assert(io.open(tmp, "wb")); f:write("\16\0\0\0\0\0\0\0{\"a\":1}        "); f:close()
  pcall(lunet.safetensors.load, tmp)
  pcall(lunet.data.idx, tmp)
  pcall(lunet.image.load, tmp)
end

local samples, start, last, i = {}, now(), -math.huge, 0
print(string.format("soak for %d s; columns: seconds, rounds, RSS MB, Lua heap MB", seconds))
while now() - start < seconds do
  i = i + 1
  round(i)
  if now() - last >= 5 then
    collectgarbage()
    last = now()
    local r = rss_mb()
    samples[#samples + 1] = r
    print(string.format("%6.0f %7d %9.1f %9.1f", last - start, i, r or -1, collectgarbage("count") / 1024))
    io.stdout:flush()
  end
end
os.remove(tmp)

-- median of samples[a..b]
local function median(a, b)
  local t = {}
  for k = a, b do t[#t + 1] = samples[k] end
  table.sort(t)
  return t[(#t + 1) // 2]
end
local q = #samples // 4
if q < 1 or not samples[1] then print("too short to judge (or no /proc)"); os.exit(0) end
local first, final = median(1, q), median(#samples - q + 1, #samples)
local flat = final <= first * 1.10 + 8
print(string.format("RSS median first quarter %.1f MB, last quarter %.1f MB: %s", first, final,
  flat and "flat" or "GROWING"))
os.exit(flat and 0 or 1)
