-- fuzz/make_seeds.lua OUTDIR: writes the seed corpus for the fuzz targets,
-- made with lunet itself: OUTDIR/st (safetensors files from
-- lunet.safetensors.save and Model:save), OUTDIR/idx (IDX files of every
-- element type, plain and gzip'd) and OUTDIR/png (PNGs from lunet.image.save
-- in gray, RGB and RGBA), OUTDIR/model and OUTDIR/net (whole model files).
local lunet = require "lunet"
local out = assert(arg[1], "usage: lua5.4 fuzz/make_seeds.lua OUTDIR")

-- mkdir -p through the shell (paths made here only)
local function mkdir(d) assert(os.execute("mkdir -p '" .. d .. "'")) end

-- write a string to a file
local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s); f:close()
end

for _, d in ipairs { "st", "idx", "png", "model", "net" } do mkdir(out .. "/" .. d) end

-- safetensors: a small tensor dict, metadata, and a whole model file
lunet.seed(1)
local small = lunet.tensor({ { 1, 2, 3 }, { 4, 5, 6 } })
lunet.safetensors.save(out .. "/st/one.safetensors", { w = small })
lunet.safetensors.save(out .. "/st/meta.safetensors", { a = lunet.tensor({ 1.5 }), b = lunet.zeros(2, 2) },
  { format = "lunet", note = "seed" })
local model = lunet.Model()
model:add(lunet.Dense(2, 4)); model:add(lunet.ReLU())
model:add(lunet.Dense(4, 3)); model:add(lunet.Softmax())
model:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
model:finalize()
local X, y = lunet.data.spiral(10, 3)
model:train(X, y, { epochs = 1, verbose = 0 })
model:save(out .. "/st/model.safetensors")
model:save_parameters(out .. "/st/params.safetensors")

-- IDX: big-endian header 00 00 type ndim, dims, then the data
local function be32(n) return string.pack(">I4", n) end
local function idx(name, type, dims, body)
  local h = { "\0\0", string.char(type, #dims) }
  for _, d in ipairs(dims) do h[#h + 1] = be32(d) end
  write(out .. "/idx/" .. name, table.concat(h) .. body)
end
idx("u8_1d.idx", 0x08, { 5 }, "\0\1\2\3\255")
idx("u8_3d.idx", 0x08, { 2, 2, 3 }, string.rep("\7", 12))
idx("i8.idx", 0x09, { 4 }, "\0\127\128\255")
idx("i16.idx", 0x0B, { 2, 2 }, string.pack(">i2i2i2i2", 1, -1, 32767, -32768))
idx("i32.idx", 0x0C, { 3 }, string.pack(">i4i4i4", 0, -7, 123456))
idx("f32.idx", 0x0D, { 1, 2 }, string.pack(">ff", 1.5, -2.25))
idx("f64.idx", 0x0E, { 2 }, string.pack(">dd", 3.125, -1e10))
idx("labels.idx", 0x08, { 10 }, "\0\1\2\3\4\5\6\7\8\9")
assert(os.execute("cd '" .. out .. "/idx' && gzip -nc u8_3d.idx > u8_3d.idx.gz && gzip -nc f32.idx > f32.idx.gz"))

-- PNG: lunet.image.save in every channel layout, several sizes
local function img(h, w, c)
  local t = c == 1 and lunet.zeros(h, w) or lunet.zeros(h, w, c)
  local flat = t:reshape(h * w * c)
  for i = 1, h * w * c do flat:set(i, (i * 37) % 256) end
  return flat:reshape(t:shape())
end
lunet.image.save(out .. "/png/gray.png", img(4, 5, 1))
lunet.image.save(out .. "/png/rgb.png", img(2, 7, 3))
lunet.image.save(out .. "/png/rgba.png", img(6, 2, 4))
lunet.image.save(out .. "/png/one.png", img(1, 1, 1))

-- model files for model_fuzz (fuzz/model_fuzz.c): "A" + a whole file from
-- Model:save, or "J" + its architecture JSON, for models of every layer,
-- loss, accuracy and optimizer kind
local function model_seed(name, layers, set, X, y)
  local m = lunet.Model()
  for _, l in ipairs(layers) do m:add(l) end
  m:set(set)
  m:finalize()
  m:train(X, y, { epochs = 1, verbose = 0 })
  local p = out .. "/model/" .. name .. ".safetensors"
  m:save(p)
  local f = assert(io.open(p, "rb"))
  local whole = f:read("a"); f:close()
  local _, meta = lunet.safetensors.load(p)
  os.remove(p)
  write(out .. "/model/" .. name .. ".A", "A" .. whole)
  write(out .. "/net/" .. name .. ".safetensors", whole) -- net_fuzz: the file itself
  write(out .. "/model/" .. name .. ".J", "J" .. meta["lunet.model"])
end
local Xs, ys = lunet.data.spiral(10, 3)
model_seed("classifier", { lunet.Dense(2, 4), lunet.ReLU(), lunet.Dense(4, 3), lunet.Softmax() },
  { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }, Xs, ys)
local Xr, yr = lunet.data.sine(16)
model_seed("regression", { lunet.Dense(1, 8, { weight_regularizer_l2 = 1e-4 }), lunet.Sigmoid(), lunet.Dense(8, 1),
  lunet.Linear() }, { loss = lunet.MeanSquaredError(), optimizer = lunet.SGD { momentum = 0.9, decay = 1e-3 },
  accuracy = lunet.RegressionAccuracy() }, Xr, yr)
model_seed("binary", { lunet.Input(), lunet.Dense(2, 4), lunet.Dropout(0.1), lunet.ReLU(), lunet.Dense(4, 1),
  lunet.Sigmoid() }, { loss = lunet.BinaryCrossentropy(), optimizer = lunet.RMSprop(),
  accuracy = lunet.CategoricalAccuracy { binary = true } }, Xs, lunet.zeros(30, 1))
model_seed("mae", { lunet.Dense(1, 1), lunet.Linear() }, { loss = lunet.MeanAbsoluteError(),
  optimizer = lunet.Adagrad(), accuracy = lunet.RegressionAccuracy() }, Xr, yr)
local Xc = lunet.randn(6, 1, 6, 5)
model_seed("cnn", { lunet.Input(1, 6, 5), lunet.Conv2D(1, 2, 3, { padding = "same", stride = 2 }),
  lunet.BatchNormalization(), lunet.ReLU(), lunet.MaxPool2D(2, { stride = 1 }), lunet.Flatten(), lunet.Dense(8, 3),
  lunet.Softmax() }, { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(),
  accuracy = lunet.CategoricalAccuracy() }, Xc, lunet.zeros(6) + 1)
print("seeds written to " .. out)

-- image folders for folder_fuzz: records of (folder | file << 2, length
-- as 2 bytes little-endian, content); see fuzz/folder_fuzz.c
mkdir(out .. "/folder")
local function png(name)
  local f = assert(io.open(out .. "/png/" .. name, "rb"))
  local s = f:read("a"); f:close()
  return s
end
local function record(folder, file, content, txt)
  return string.char(folder | (file << 2) | (txt and 32 or 0)) .. string.pack("<I2", #content) .. content
end
write(out .. "/folder/two_labels", "\0" .. record(0, 0, png("gray.png")) .. record(0, 1, png("gray.png")) ..
  record(1, 0, png("gray.png")))
write(out .. "/folder/color", "\1" .. record(0, 0, png("rgb.png")) .. record(2, 3, png("rgb.png")) ..
  record(2, 4, "not an image", true))
write(out .. "/folder/named", "\0" .. record(3, 0, png("one.png")) .. record(0, 2, png("one.png")))
write(out .. "/folder/sizes_differ", "\0" .. record(0, 0, png("gray.png")) .. record(1, 0, png("rgba.png")))
