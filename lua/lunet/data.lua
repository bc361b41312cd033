--- lunet.data: data sets and loaders.
-- The C part (core.data) reads IDX files and PNG folders and shuffles;
-- this file adds the nnfs package's toy data sets and Fashion-MNIST.
-- Labels are 1-based everywhere: the files' 0..9 become 1..10.
local core = require "lunet.core"

local data = {}
for k, v in pairs(core.data) do data[k] = v end

local DEFAULT_FASHION = "/usr/share/datasets/fashion-mnist"

-- raise when a function that takes at most `most` arguments got n
local function nargs(who, most, n)
  if n > most then
    error(string.format("%s: takes at most %d argument%s, got %d", who, most, most == 1 and "" or "s", n), 3)
  end
end

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

-- the checked arguments of a 2-D toy set (extra: how many more were given)
-- and its zero-filled X (N x 2) and y (N)
local function toyset(who, samples, classes, extra)
  nargs(who, 2, extra + 2)
  checkcount(who, "samples", samples)
  checkcount(who, "classes", classes)
  local n = rowcount(who, samples, classes, 2)
  return core.zeros(n, 2), core.zeros(n)
end

--- nnfs.datasets.spiral_data(samples, classes): `classes` interleaved
-- spirals of `samples` points each; X is (samples*classes) x 2, y holds
-- labels 1..classes.  Noise comes from lunet.randn (the seeded generator).
function data.spiral(samples, classes, ...)
  local X, y = toyset("lunet.data.spiral", samples, classes, select("#", ...))
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
function data.vertical(samples, classes, ...)
  local X, y = toyset("lunet.data.vertical", samples, classes, select("#", ...))
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
function data.sine(samples, ...)
  local who = "lunet.data.sine"
  nargs(who, 1, select("#", ...) + 1)
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

-- read images and labels IDX files into N x 784 pixels (N x 1 x 28 x 28
-- when image) and labels 1..10
local function idx_pair(images, labels, image)
  local X, y = data.idx(images), data.idx(labels)
  local n, h, w = X:shape()
  if X:dim() ~= 3 or y:dim() ~= 1 or #y ~= n then
    error(string.format("lunet.data.fashion_mnist: %s and %s: expected N x H x W images and N labels",
      images, labels), 3)
  end
  if image then return X:reshape(n, 1, h, w), y + 1 end
  return X:reshape(n, h * w), y + 1 -- the files' labels 0..9 become 1..10
end

--- Fashion-MNIST: X, y, X_test, y_test (X as N x 784 floats 0..255, labels
-- 1..10).  dir defaults to Debian's dataset-fashion-mnist folder and may
-- hold the four IDX files (gzip'd or not) or the book's train/<label>/*.png
-- and test/<label>/*.png layout (folders 0..9 become labels 1..10).
-- options: shape = "flat" (N x 784, the default) or "image" (N x 1 x 28 x 28).
function data.fashion_mnist(dir, options, ...)
  nargs("lunet.data.fashion_mnist", 2, select("#", ...) + 2)
  local image = false
  if options ~= nil then
    if type(options) ~= "table" then
      error("lunet.data.fashion_mnist: options must be a table, got " .. type(options), 2)
    end
    for k in pairs(options) do
      if k ~= "shape" then error("lunet.data.fashion_mnist: unknown option '" .. tostring(k) .. "'", 2) end
    end
    if options.shape ~= nil and options.shape ~= "flat" and options.shape ~= "image" then
      error("lunet.data.fashion_mnist: option 'shape' must be \"flat\" or \"image\", got " .. tostring(options.shape),
        2)
    end
    image = options.shape == "image"
  end
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
    local X, y = idx_pair(paths[1], paths[2], image)
    local X_test, y_test = idx_pair(paths[3], paths[4], image)
    return X, y, X_test, y_test
  end
  local train, test = dir .. "/train", dir .. "/test"
  if isdir(train) and isdir(test) then
    local shape = image and "image" or "flat"
    local X, y = data.image_folder(train, { shape = shape })
    local X_test, y_test = data.image_folder(test, { shape = shape })
    return X, y, X_test, y_test
  end
  local why = isdir(dir) and "" or " (the folder does not exist)"
  error(string.format("lunet.data.fashion_mnist: %s%s holds neither the IDX files (missing: %s) " ..
    "nor the train/ and test/ image folders; Debian's package dataset-fashion-mnist provides the data " ..
    "(apt-get install dataset-fashion-mnist)", dir, why, table.concat(missing, ", ")), 2)
end

--- the Fashion-MNIST class names by label 1..10 (the data set's own order)
data.fashion_mnist_classes = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
  "Bag", "Ankle boot" }

local function typename(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.__name) == "string" and mt.__name or type(v)
end

local function checkopts(opts, allowed, who)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(who .. ": options must be a table, got " .. typename(opts), 3) end
  for k in pairs(opts) do
    if not allowed[k] then error(string.format("%s: unknown option '%s'", who, tostring(k)), 3) end
  end
  return opts
end

--- lunet.data.split(X, y, { test = 0.2, shuffle = true }) -> X_train,
-- y_train, X_test, y_test: the last round(test * N) rows of one permutation
-- (or of the data's own order without shuffle) are the test set; y may be nil
function data.split(X, y, opts, ...)
  local who = "lunet.data.split"
  nargs(who, 3, select("#", ...) + 3)
  opts = checkopts(opts, { test = true, shuffle = true }, who)
  if not core.is_tensor(X) then error(who .. ": X must be a tensor, got " .. typename(X), 2) end
  if y ~= nil and not core.is_tensor(y) then error(who .. ": y must be a tensor or nil, got " .. typename(y), 2) end
  local n = #X
  if y and #y ~= n then error(string.format("%s: X has %d rows but y has %d", who, n, #y), 2) end
  local test = opts.test == nil and 0.2 or opts.test
  if type(test) ~= "number" or not (test > 0 and test < 1) then
    error(who .. ": option 'test' must be a fraction in (0, 1), got " .. tostring(test), 2)
  end
  local shuffle = opts.shuffle ~= false
  if opts.shuffle ~= nil and type(opts.shuffle) ~= "boolean" then error(who .. ": option 'shuffle' must be a " ..
    "boolean", 2) end
  local ntest = math.floor(test * n + 0.5)
  if ntest < 1 or ntest >= n then
    error(string.format("%s: a test fraction of %g of %d rows leaves %d for one side", who, test, n,
      ntest < 1 and 0 or n - ntest), 2)
  end
  local order = shuffle and core.randperm(n) or core.arange(n)
  local tr, te = order:narrow(1, 1, n - ntest), order:narrow(1, n - ntest + 1, ntest)
  return X:index(tr), y and y:index(tr), X:index(te), y and y:index(te)
end

--- lunet.data.standardize(X, { mean = nil, std = nil }) -> X_scaled, mean,
-- std: (X - mean) / std per column, mean and std 1 x N rows (from X unless
-- given, so test data take the training set's); a column whose std is 0 is
-- only centred
function data.standardize(X, opts, ...)
  local who = "lunet.data.standardize"
  nargs(who, 2, select("#", ...) + 2)
  opts = checkopts(opts, { mean = true, std = true }, who)
  if not core.is_tensor(X) or X:dim() ~= 2 then
    error(who .. ": X must be a 2-D tensor (samples x features), got " ..
      (core.is_tensor(X) and table.concat({ X:shape() }, "x") or typename(X)), 2)
  end
  local cols = select(2, X:shape())
  for _, k in ipairs { "mean", "std" } do
    local v = opts[k]
    if v ~= nil and not (core.is_tensor(v) and v:numel() == cols) then
      error(string.format("%s: option '%s' must be a tensor of %d values (1 x %d), got %s", who, k, cols, cols,
        core.is_tensor(v) and table.concat({ v:shape() }, "x") or typename(v)), 2)
    end
  end
  local mean = opts.mean and opts.mean:reshape(1, cols) or X:mean(1)
  local std = opts.std and opts.std:reshape(1, cols) or X:std(1)
  local div = core.where(std:eq(0), 1, std)
  return (X - mean) / div, mean, std
end

--- lunet.data.one_hot(y, K) -> N x K rows of 0 and a 1 at each label (1..K;
-- K defaults to the largest label)
function data.one_hot(y, K, ...)
  local who = "lunet.data.one_hot"
  nargs(who, 2, select("#", ...) + 2)
  if not core.is_tensor(y) or y:numel() ~= #y then
    error(who .. ": y must be a 1-D tensor (or N x 1) of labels 1..K, got " ..
      (core.is_tensor(y) and table.concat({ y:shape() }, "x") or typename(y)), 2)
  end
  local n = #y
  local labels = y:reshape(n)
  if K == nil then K = math.tointeger(labels:max()) or math.floor(labels:max()) end
  if math.type(K) ~= "integer" or K < 1 then error(who .. ": K must be a positive integer, got " .. tostring(K), 2) end
  local out = core.zeros(n, K)
  for i = 1, n do
    local v = labels:get(i)
    if v < 1 or v > K or v ~= math.floor(v) then
      error(string.format("%s: label %g at row %d is not an integer in 1..%d", who, v, i, K), 2)
    end
    out:set(i, math.tointeger(v), 1)
  end
  return out
end

return data
