--- lunet.data: data sets and loaders.
-- The C part (core.data) reads IDX files and PNG folders and shuffles;
-- this file adds the nnfs package's toy data sets and Fashion-MNIST.
-- Labels are 1-based everywhere: the files' 0..9 become 1..10.
local core = require "lunet.core"

local data = {}
for k, v in pairs(core.data) do data[k] = v end

local DEFAULT_FASHION = "/usr/share/datasets/fashion-mnist"

-- raise unless n is a positive integer
local function checkcount(who, name, n)
  if math.type(n) ~= "integer" or n < 1 then
    error(string.format("%s: %s must be a positive integer, got %s", who, name, tostring(n)), 3)
  end
end

-- numpy.linspace(start, stop, num) as a Lua array
local function linspace(start, stop, num)
  local t, step = {}, num > 1 and (stop - start) / (num - 1) or 0
  for i = 0, num - 1 do t[i + 1] = start + i * step end
  if num > 1 then t[num] = stop end
  return t
end

--- nnfs.datasets.spiral_data(samples, classes): `classes` interleaved
-- spirals of `samples` points each; X is (samples*classes) x 2, y holds
-- labels 1..classes.  Noise comes from lunet.randn (the seeded generator).
function data.spiral(samples, classes)
  checkcount("lunet.data.spiral", "samples", samples)
  checkcount("lunet.data.spiral", "classes", classes)
  local X, y = {}, {}
  for c = 0, classes - 1 do
    local r = linspace(0.0, 1, samples)
    local t = linspace(c * 4, (c + 1) * 4, samples)
    local noise = core.randn(samples)
    for i = 1, samples do
      local ti = (t[i] + noise:get(i) * 0.2) * 2.5
      X[#X + 1] = { r[i] * math.sin(ti), r[i] * math.cos(ti) }
      y[#y + 1] = c + 1
    end
  end
  return core.tensor(X), core.tensor(y)
end

--- nnfs.datasets.vertical_data(samples, classes): Gaussian blobs around
-- x = class/3, y = 0.5 (sd 0.1); labels 1..classes.
function data.vertical(samples, classes)
  checkcount("lunet.data.vertical", "samples", samples)
  checkcount("lunet.data.vertical", "classes", classes)
  local X, y = {}, {}
  for c = 0, classes - 1 do
    local nx = core.randn(samples)
    local ny = core.randn(samples)
    for i = 1, samples do
      X[#X + 1] = { nx:get(i) * 0.1 + c / 3, ny:get(i) * 0.1 + 0.5 }
      y[#y + 1] = c + 1
    end
  end
  return core.tensor(X), core.tensor(y)
end

--- nnfs.datasets.sine_data(samples = 1000): X = (0..N-1)/N and
-- y = sin(2 pi X), both N x 1.
function data.sine(samples)
  samples = samples == nil and 1000 or samples
  checkcount("lunet.data.sine", "samples", samples)
  local X, y = {}, {}
  for i = 0, samples - 1 do
    local x = i / samples
    X[i + 1] = { x }
    y[i + 1] = { math.sin(2 * math.pi * x) }
  end
  return core.tensor(X), core.tensor(y)
end

-- true when path names an existing file we can open
local function isfile(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- true when path names a directory ("path/." opens only for directories)
local function isdir(path)
  local f = io.open(path .. "/.", "rb")
  if f then f:close() return true end
  return false
end

local IDX_FILES = {
  "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

-- read images and labels IDX files into N x 784 pixels and labels 1..10
local function idx_pair(images, labels)
  local X, y = data.idx(images), data.idx(labels)
  local n, h, w = X:shape()
  if X:dim() ~= 3 or y:dim() ~= 1 or #y ~= n then
    error(string.format("lunet.data.fashion_mnist: %s and %s: expected N x H x W images and N labels",
      images, labels), 3)
  end
  return X:reshape(n, h * w), y + 1 -- the files' labels 0..9 become 1..10
end

--- Fashion-MNIST: X, y, X_test, y_test (X as N x 784 floats 0..255, labels
-- 1..10).  dir defaults to Debian's dataset-fashion-mnist folder and may
-- hold the four IDX files (gzip'd or not) or the book's train/<label>/*.png
-- and test/<label>/*.png layout (folders 0..9 become labels 1..10).
function data.fashion_mnist(dir)
  dir = dir or DEFAULT_FASHION
  if type(dir) ~= "string" then
    error("lunet.data.fashion_mnist: dir must be a string, got " .. type(dir), 2)
  end
  dir = dir:gsub("(.)/+$", "%1")
  local paths, missing = {}, {}
  for i, name in ipairs(IDX_FILES) do
    local p = dir .. "/" .. name
    if isfile(p .. ".gz") then paths[i] = p .. ".gz"
    elseif isfile(p) then paths[i] = p
    else missing[#missing + 1] = name .. "[.gz]" end
  end
  if #missing == 0 then
    local X, y = idx_pair(paths[1], paths[2])
    local X_test, y_test = idx_pair(paths[3], paths[4])
    return X, y, X_test, y_test
  end
  local train, test = dir .. "/train", dir .. "/test"
  if isdir(train) and isdir(test) then
    local X, y = data.image_folder(train)
    local X_test, y_test = data.image_folder(test)
    return X, y, X_test, y_test
  end
  local why = isdir(dir) and "" or " (the folder does not exist)"
  error(string.format("lunet.data.fashion_mnist: %s%s holds neither the IDX files (missing: %s) " ..
    "nor the train/ and test/ image folders; Debian's package dataset-fashion-mnist provides the data " ..
    "(apt-get install dataset-fashion-mnist)", dir, why, table.concat(missing, ", ")), 2)
end

return data
