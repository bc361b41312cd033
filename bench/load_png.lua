-- bench/load_png.lua DIR: writes Fashion-MNIST as PNGs in the book's layout
-- (DIR/train/<label>/*.png, DIR/test/<label>/*.png) unless DIR/done exists,
-- then times lunet.data.fashion_mnist(DIR), which reads both folders,
-- REPEAT times (default 3; the machine is shared): prints the best and the
-- median (bench/load_png_cv2.py does the same for the book's loader).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"
local dir = assert(arg[1], "usage: load_png.lua DIR")
local f = io.open(dir .. "/done")
if f then f:close() else
  local X, y, Xt, yt = lunet.data.fashion_mnist()
  os.execute("mkdir -p '" .. dir .. "'")
  lunet.data.export_image_folder(X, y, dir .. "/train", 28, 28)
  lunet.data.export_image_folder(Xt, yt, dir .. "/test", 28, 28)
  io.open(dir .. "/done", "w"):close()
end
local times, count = {}, 0
for i = 1, tonumber(os.getenv("REPEAT") or "3") do
  collectgarbage()
  local t = lunet.now()
  local X, _, Xt = lunet.data.fashion_mnist(dir)
  times[i] = lunet.now() - t
  count = #X + #Xt
end
table.sort(times)
print(string.format("load_png %.4f", times[1]))
print(string.format("load_png_median %.4f", times[(#times + 1) // 2]))
print("png_images " .. count)
