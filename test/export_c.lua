-- test/export_c.lua [DIR]: Model:export_c checked with a real compiler (issue
-- 17): exports the models of test/export_models.lua, compiles each with gcc -std=c99 -Wall -Wextra
-- -Werror -pedantic against test/export_c_driver.c, runs it on the inputs and
-- compares with model:predict (max |diff| <= 1e-6).  Prints "N passed, N failed".
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.path = "./test/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"
local models = require "export_models"

local dir = arg[1] or os.tmpname() .. ".d"
os.execute("mkdir -p '" .. dir .. "'")

local function read_f32(path, n)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a"); f:close()
  local t = lunet.zeros(n)
  for i = 1, n do t:set(i, (string.unpack("<f", s, 4 * i - 3))) end
  return t
end

local passed, failed = 0, 0
models.each(function(name, m, X)
  local n = #X
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
    models.f32(X, d .. "/x.bin")
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
end)
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
