-- Makes the sample pictures in examples/images/ that predict_image.lua reads:
-- Fashion-MNIST test items (light clothes on black, 28x28) turned into what a
-- photo of clothing looks like: scaled up to 112x112, inverted to dark on a
-- white background, and tinted into RGB.  Run once; the pictures are committed.
-- Run: lua5.4 examples/make_sample_images.lua
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local _, _, X_test, y_test = lunet.data.fashion_mnist()
-- first test item of each wanted class: label 1 T-shirt/top, 2 Trouser, 8 Sneaker
local wanted = { [1] = "tshirt", [2] = "trouser", [8] = "sneaker" }
local done = {}
os.execute("mkdir -p examples/images")
for i = 1, #y_test do
  local label = y_test[i]
  local name = wanted[label]
  if name and not done[label] then
    done[label] = true
    local img = X_test[i]:reshape(28, 28)
    local big = lunet.image.resize(img, 112, 112)
    local photo = lunet.zeros(112, 112, 3)
    for r = 1, 112 do
      for c = 1, 112 do
        local v = 255 - big:get(r, c) -- dark clothes on white
        photo:set(r, c, 1, v)
        photo:set(r, c, 2, v * 0.96)
        photo:set(r, c, 3, v * 0.90)
      end
    end
    local path = "examples/images/" .. name .. ".png"
    lunet.image.save(path, photo)
    print(string.format("%s: test item %d (label %d)", path, i, label))
  end
end
