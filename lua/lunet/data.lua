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

-- samples * classes rows, refused before anything is built when a tensor of
-- that many rows could not exist (2^40 elements; the tensors are allocated
-- first, so an absurd size fails at once instead of filling Lua tables)
local function rowcount(who, samples, classes, cols)
  if samples > (1 << 40) // (classes * cols) then
    error(string.format("%s: %s is too many (a tensor holds at most 2^40 elements)", who,
      classes > 1 and string.format("%d samples x %d classes", samples, classes) or samples .. " samples"), 3)
  end
  return samples * classes
end

-- value i (0-based) of numpy.linspace(start, stop, num)
local function linspace_at(start, stop, num, i)
  if num > 1 and i == num - 1 then return stop end
  return start + i * (num > 1 and (stop - start) / (num - 1) or 0)
end

--- nnfs.datasets.spiral_data(samples, classes): `classes` interleaved
-- spirals of `samples` points each; X is (samples*classes) x 2, y holds
-- labels 1..classes.  Noise comes from lunet.randn (the seeded generator).
function data.spiral(samples, classes)
  local who = "lunet.data.spiral"
  checkcount(who, "samples", samples)
  checkcount(who, "classes", classes)
  local n = rowcount(who, samples, classes, 2)
  local X, y = core.zeros(n, 2), core.zeros(n)
  local row = 0
  for c = 0, classes - 1 do
    local noise = core.randn(samples)
    for i = 1, samples do
      local r = linspace_at(0.0, 1, samples, i - 1)
      local ti = (linspace_at(c * 4, (c + 1) * 4, samples, i - 1) + noise:get(i) * 0.2) * 2.5
      row = row + 1
      X:set(row, 1, r * math.sin(ti)); X:set(row, 2, r * math.cos(ti))
      y:set(row, c + 1)
    end
  end
  return X, y
end

--- nnfs.datasets.vertical_data(samples, classes): Gaussian blobs around
-- x = class/3, y = 0.5 (sd 0.1); labels 1..classes.
function data.vertical(samples, classes)
  local who = "lunet.data.vertical"
  checkcount(who, "samples", samples)
  checkcount(who, "classes", classes)
  local n = rowcount(who, samples, classes, 2)
  local X, y = core.zeros(n, 2), core.zeros(n)
  local row = 0
  for c = 0, classes - 1 do
    local nx = core.randn(samples)
    local ny = core.randn(samples)
    for i = 1, samples do
      row = row + 1
      X:set(row, 1, nx:get(i) * 0.1 + c / 3); X:set(row, 2, ny:get(i) * 0.1 + 0.5)
      y:set(row, c + 1)
    end
  end
  return X, y
end

--- nnfs.datasets.sine_data(samples = 1000): X = (0..N-1)/N and
-- y = sin(2 pi X), both N x 1.
function data.sine(samples)
  local who = "lunet.data.sine"
  samples = samples == nil and 1000 or samples
  checkcount(who, "samples", samples)
  local n = rowcount(who, samples, 1, 1)
  local X, y = core.zeros(n, 1), core.zeros(n, 1)
  for i = 0, samples - 1 do
    local x = i / samples
    X:set(i + 1, 1, x)
    y:set(i + 1, 1, math.sin(2 * math.pi * x))
  end
  return X, y
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
