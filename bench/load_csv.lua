-- bench/load_csv.lua DIR: writes DIR/bench.csv (100,000 rows x 10 columns of
-- numbers with a header, 9.5 MB, made with lunet's own generator) once, then
-- times lunet.data.csv on it; prints "load_csv <best of 3 seconds>"
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"
local dir = assert(arg[1], "usage: lua5.4 bench/load_csv.lua DIR")
local path = dir .. "/bench.csv"
local f = io.open(path, "rb")
if f then f:close() else
  lunet.seed(1)
  local X = lunet.randn(100000, 10)
  local out = assert(io.open(path, "wb"))
  out:write("c1,c2,c3,c4,c5,c6,c7,c8,c9,c10\n")
  local rows = X:totable()
  for i = 1, #rows do
    local r = rows[i]
    out:write(string.format("%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", table.unpack(r)))
  end
  out:close()
end
local best = math.huge
for _ = 1, 3 do
  local t = lunet.now()
  local X = lunet.data.csv(path)
  best = math.min(best, lunet.now() - t)
  assert(#X == 100000)
end
print(string.format("load_csv %.4f", best))
