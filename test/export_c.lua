-- test/export_c.lua [DIR]: Model:export_c checked with a real compiler (issue
-- 17): exports an MLP classifier, a regression, a binary classifier and a CNN
-- with batch normalisation, compiles each with gcc -std=c99 -Wall -Wextra
-- -Werror -pedantic against test/export_c_driver.c, runs it on the inputs and
-- compares with model:predict (max |diff| <= 1e-6).  Prints "N passed, N failed".
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local dir = arg[1] or os.tmpname() .. ".d"
os.execute("mkdir -p '" .. dir .. "'")

local function f32(t, path) -- raw little-endian float32 values of t
  local n = t:numel()
  local flat, parts = t:view(n), {}
  for i = 1, n do parts[i] = string.pack("<f", flat:get(i)) end
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(parts)); f:close()
end

local function read_f32(path, n)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a"); f:close()
  local t = lunet.zeros(n)
  for i = 1, n do t:set(i, (string.unpack("<f", s, 4 * i - 3))) end
  return t
end

local nets = {
  { "mlp", function(m)
      m:add(lunet.Dense(6, 32)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.2)); m:add(lunet.Dense(32, 32))
      m:add(lunet.ReLU()); m:add(lunet.Dense(32, 4)); m:add(lunet.Softmax())
      return lunet.CategoricalCrossentropy(), lunet.randn(30, 6), "labels"
    end },
  { "regression", function(m)
      m:add(lunet.Dense(3, 64)); m:add(lunet.Sigmoid()); m:add(lunet.Dense(64, 2)); m:add(lunet.Linear())
      return lunet.MeanSquaredError(), lunet.randn(30, 3), "values"
    end },
  { "binary", function(m)
      m:add(lunet.Input(5)); m:add(lunet.Dense(5, 300)); m:add(lunet.ReLU()); m:add(lunet.Dense(300, 1))
      m:add(lunet.Sigmoid())
      return lunet.BinaryCrossentropy(), lunet.randn(30, 5), "binary"
    end },
  { "cnn", function(m)
      m:add(lunet.Input(2, 9, 7)); m:add(lunet.Conv2D(2, 4, 3, { padding = "same", stride = 2 }))
      m:add(lunet.BatchNormalization()); m:add(lunet.ReLU()); m:add(lunet.MaxPool2D(2, { stride = 1 }))
      m:add(lunet.Conv2D(4, 3, { 2, 1 }, { padding = { 1, 0 } })); m:add(lunet.ReLU()); m:add(lunet.Flatten())
      m:add(lunet.Dropout(0.3)); m:add(lunet.Dense(45, 5)); m:add(lunet.Softmax())
      return lunet.CategoricalCrossentropy(), lunet.randn(30, 2, 9, 7), "labels"
    end },
}

local passed, failed = 0, 0
for i, net in ipairs(nets) do
  local name = net[1]
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
  local d = dir .. "/" .. name
  os.execute("mkdir -p '" .. d .. "'")
  m:export_c(d .. "/net.c", { name = "net" })
  local cc = string.format("gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I'%s' -o '%s/driver' "
    .. "test/export_c_driver.c '%s/net.c' -lm 2>&1", d, d, d)
  local p = io.popen(cc)
  local msg = p:read("a")
  local ok = p:close()
  if not ok then
    failed = failed + 1
    print("FAILED: " .. name .. ": compile: " .. msg)
  else
    f32(X, d .. "/x.bin")
    local run = os.execute(string.format("'%s/driver' '%s/x.bin' '%s/out.bin' %d", d, d, d, n))
    local want = m:predict(X)
    if not run then
      failed = failed + 1
      print("FAILED: " .. name .. ": the driver did not run")
    else
      local got = read_f32(d .. "/out.bin", want:numel())
      local diff = (got - want:view(want:numel())):abs():max()
      local good = diff <= 1e-6
      if good then passed = passed + 1 else failed = failed + 1 end
      print(string.format("%s: %s: compiled with -std=c99 -Wall -Wextra -Werror -pedantic, max |diff| vs "
        .. "predict %.3g", good and "ok" or "FAILED", name, diff))
    end
  end
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
