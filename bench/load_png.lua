-- bench/load_png.lua DIR: writes Fashion-MNIST as PNGs in the book's layout
-- (DIR/train/<label>/*.png, DIR/test/<label>/*.png) unless DIR/done exists,
-- then times lunet.data.fashion_mnist(DIR), which reads both folders.
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
local t = lunet._now()
local X, _, Xt = lunet.data.fashion_mnist(dir)
print(string.format("load_png %.4f", lunet._now() - t))
print("png_images " .. (#X + #Xt))
