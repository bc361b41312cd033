-- The book's chapter 22: predict the class of clothing pictures with the
-- model that examples/fashion_mnist.lua (or examples/fashion_cnn.lua) saved.  Preprocessing as the book:
-- read as gray, resize to 28x28 (bilinear, OpenCV's default), invert (the
-- data set has light clothes on black), scale to -1..1.
--
-- Run: lua5.4 examples/predict_image.lua [--model PATH] picture.png ...
--      (default model fashion_mnist.safetensors; default pictures: the
--       samples in examples/images/)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local labels = lunet.data.fashion_mnist_classes -- names by label 1..10

local model_path, files = "fashion_mnist.safetensors", {}
local i = 1
while arg and arg[i] do
  if arg[i] == "--model" then model_path = arg[i + 1]; i = i + 2
  else files[#files + 1] = arg[i]; i = i + 1 end
end
if #files == 0 then
  files = { "examples/images/tshirt.png", "examples/images/trouser.png", "examples/images/sneaker.png" }
end

local model = lunet.Model.load(model_path)
-- a convolutional network (examples/fashion_cnn.lua) takes 1 x 1 x 28 x 28
-- images, the book's dense one 1 x 784 rows
local image_input = false
for _, l in ipairs(model.layers) do
  local name = tostring(l)
  if name:match("^Conv2D") or (name:match("^Input%(") and l.shape and #l.shape == 3) then image_input = true break end
  if name:match("^Dense") then break end
end
for _, path in ipairs(files) do
  local img = lunet.image.load(path, { gray = true })
  img = lunet.image.resize(img, 28, 28)
  local x = (255 - img):reshape(1, 784)
  if image_input then x = x:reshape(1, 1, 28, 28) end
  x:sub_(127.5):div_(127.5)
  local confidences = model:predict(x)
  local predictions = model.output_layer_activation:predictions(confidences)
  local label = predictions[1]
  print(string.format("%s: %s (%.1f%%)", path, labels[label], 100 * confidences:get(1, label)))
end
