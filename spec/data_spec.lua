local lunet = require "lunet"
local check = require "helpers.check"
local tmpdir, errmsg = check.tmpdir, check.err
local png = require "helpers.png_writer"

local TOL = 1e-5
local FASHION = "/usr/share/datasets/fashion-mnist"

local function writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  return path
end

local function gzip(path)
  assert(os.execute("gzip -k -f '" .. path .. "'"))
  return path .. ".gz"
end

-- an IDX file's bytes: header for type code and dims, then body
local function idx_bytes(type, dims, body)
  local h = { string.char(0, 0, type, #dims) }
  for _, d in ipairs(dims) do h[#h + 1] = string.pack(">I4", d) end
  return table.concat(h) .. body
end

local function flat(t)
  local out = {}
  local function walk(v) if type(v) == "table" then for _, x in ipairs(v) do walk(x) end else out[#out + 1] = v end end
  walk(t:totable())
  return out
end

local function assert_values(expected, t, tol)
  local got = flat(t)
  assert.are.equal(#expected, #got)
  for i = 1, #expected do
    assert(math.abs(expected[i] - got[i]) <= (tol or TOL),
      string.format("element %d: expected %.9g, got %.9g", i, expected[i], got[i]))
  end
end

describe("lunet.data", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  describe("idx()", function()
    local cases = {
      { "u8", 0x08, ">BBBB", { 0, 1, 128, 255 } },
      { "i8", 0x09, ">bbbb", { -128, -1, 0, 127 } },
      { "i16", 0x0B, ">i2i2i2i2", { -32768, -1, 1000, 32767 } },
      { "i32", 0x0C, ">i4i4i4i4", { -2147483648, -1, 123456, 16777216 } },
      { "f32", 0x0D, ">ffff", { 1.5, -2.25, 0, 1e-3 } },
      { "f64", 0x0E, ">dddd", { 3.25, -1e10, 0.1, 1e300 * 0 } },
    }
    for _, c in ipairs(cases) do
      it("reads " .. c[1] .. " values, plain and gzip'd", function()
        local body = string.pack(c[3], table.unpack(c[4]))
        local p = writefile(dir .. "/" .. c[1] .. ".idx", idx_bytes(c[2], { 2, 2 }, body))
        for _, path in ipairs{ p, gzip(p) } do
          local t = lunet.data.idx(path)
          assert.same({ 2, 2 }, { t:shape() })
          local want = {}
          for i, v in ipairs(c[4]) do want[i] = string.unpack("f", string.pack("f", v)) end
          assert_values(want, t, 0)
        end
      end)
    end

    it("keeps the header's shape, 1 to 4 dimensions", function()
      local p1 = writefile(dir .. "/d1", idx_bytes(8, { 3 }, "\1\2\3"))
      assert.same({ 3 }, { lunet.data.idx(p1):shape() })
      local body = {}
      for i = 1, 2 * 3 * 4 * 5 do body[i] = string.char(i) end
      local p4 = writefile(dir .. "/d4", idx_bytes(8, { 2, 3, 4, 5 }, table.concat(body)))
      local t = lunet.data.idx(p4)
      assert.same({ 2, 3, 4, 5 }, { t:shape() })
      assert.are.equal(120, t:get(2, 3, 4, 5))
      assert.are.equal(1, t:get(1, 1, 1, 1))
    end)

    it("raises on a truncated plain file, naming the path", function()
      local p = writefile(dir .. "/short", idx_bytes(8, { 10 }, "12345"))
      assert.matches("lunet.data.idx: " .. p .. ": truncated: header declares 10 bytes of data, file holds 5",
        errmsg(lunet.data.idx, p), 1, true)
    end)

    it("raises on trailing data in a plain file", function()
      local p = writefile(dir .. "/long", idx_bytes(8, { 3 }, "12345"))
      assert.matches(p .. ": trailing data: header declares 3 bytes of data, file holds 5",
        errmsg(lunet.data.idx, p), 1, true)
    end)

    it("raises on a truncated gzip stream", function()
      local p = gzip(writefile(dir .. "/gshort", idx_bytes(0x0B, { 10 }, "12345")))
      assert.matches(p .. ": truncated: header declares 20 bytes of data, file holds 5",
        errmsg(lunet.data.idx, p), 1, true)
    end)

    it("raises on trailing data in a gzip stream", function()
      local p = gzip(writefile(dir .. "/glong", idx_bytes(8, { 3 }, "12345")))
      assert.matches(p .. ": trailing data: header declares 3 bytes of data, file holds 5",
        errmsg(lunet.data.idx, p), 1, true)
    end)

    it("refuses a small gzip file whose header claims more than it can hold", function()
      local p = gzip(writefile(dir .. "/glie", idx_bytes(8, { 60000, 28, 28, 1000 }, "")))
      assert.matches(p .. ": truncated: header declares 47040000000 bytes of data, a gzip file of",
        errmsg(lunet.data.idx, p), 1, true)
    end)

    it("raises on a damaged gzip stream", function()
      local body = string.rep("abcdefgh", 1000)
      local g = gzip(writefile(dir .. "/gbad", idx_bytes(8, { #body }, body)))
      local s = io.open(g, "rb"):read("a")
      local p = writefile(dir .. "/gbad2.gz", s:sub(1, 20) .. string.rep("\255", 40) .. s:sub(61))
      assert.matches("lunet.data.idx: " .. p .. ": corrupt gzip data: ", errmsg(lunet.data.idx, p), 1, true)
      local q = writefile(dir .. "/gcut.gz", s:sub(1, #s // 2))
      assert.matches("lunet.data.idx: " .. q .. ": truncated", errmsg(lunet.data.idx, q), 1, true)
      local r = writefile(dir .. "/gtrailer.gz", s:sub(1, #s - 4) .. "\0\0\0\0")
      assert.matches("lunet.data.idx: " .. r .. ": corrupt gzip data: incorrect length check",
        errmsg(lunet.data.idx, r), 1, true)
    end)

    it("checks every header field", function()
      local function e(name, bytes) return errmsg(lunet.data.idx, writefile(dir .. "/" .. name, bytes)) end
      assert.matches("bad magic number 01 00 08 01", e("magic", "\1\0\8\1\0\0\0\1x"), 1, true)
      assert.matches("unknown element type 0x0a", e("type", "\0\0\10\1\0\0\0\1x"), 1, true)
      assert.matches("header declares 0 dimensions", e("nd0", "\0\0\8\0"), 1, true)
      assert.matches("header declares 5 dimensions (lunet reads 1 to 4)", e("nd5", "\0\0\8\5"), 1, true)
      assert.matches("dimension 2 is 0", e("zero", idx_bytes(8, { 3, 0 }, "")), 1, true)
      assert.matches("dimensions overflow",
        e("ovf", idx_bytes(8, { 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF }, "")), 1, true)
      assert.matches("too short for the IDX header", e("hdr", "\0\0\8\2\0\0\0\1"), 1, true)
    end)

    it("raises on a missing file and on a folder", function()
      local p = dir .. "/nothing.idx"
      assert.matches("lunet.data.idx: " .. p .. ": No such file or directory", errmsg(lunet.data.idx, p), 1, true)
      assert.matches("lunet.data.idx: " .. dir .. ": Is a directory", errmsg(lunet.data.idx, dir), 1, true)
    end)
  end)

  describe("image_folder()", function()
    local function gray(v) return { width = 2, height = 1, rows = { { v, v + 1 } } } end

    it("reads label folders in numeric order, files in strcmp order; folder n is label n + 1", function()
      local root = dir .. "/folder_num"
      for _, l in ipairs{ "0", "1", "2", "10" } do os.execute("mkdir -p '" .. root .. "/" .. l .. "'") end
      png.write(root .. "/10/a.png", gray(100))
      png.write(root .. "/2/b.png", gray(21))
      png.write(root .. "/2/B.png", gray(20))
      png.write(root .. "/2/a.png", gray(22))
      png.write(root .. "/0/x.png", gray(0))
      png.write(root .. "/1/x.png", gray(10))
      writefile(root .. "/1/notes.txt", "ignored")
      local X, y, classes = lunet.data.image_folder(root)
      assert.same({ 6, 2 }, { X:shape() })
      assert_values({ 1, 2, 3, 3, 3, 11 }, y, 0)
      -- 2/B.png < 2/a.png < 2/b.png in strcmp order
      assert_values({ 0, 1, 10, 11, 20, 21, 22, 23, 21, 22, 100, 101 }, X, 0)
      assert.are.equal("0", classes[1])
      assert.are.equal("10", classes[11])
    end)

    it("labels named folders 1..K in sorted order", function()
      local root = dir .. "/folder_named"
      for _, l in ipairs{ "dog", "cat" } do os.execute("mkdir -p '" .. root .. "/" .. l .. "'") end
      png.write(root .. "/dog/1.png", gray(50))
      png.write(root .. "/cat/1.png", gray(60))
      local X, y, classes = lunet.data.image_folder(root)
      assert_values({ 1, 2 }, y, 0)
      assert_values({ 60, 61, 50, 51 }, X, 0)
      assert.same({ "cat", "dog" }, classes)
    end)

    it("keeps color channels with gray = false and converts them by default", function()
      local root = dir .. "/folder_rgb"
      os.execute("mkdir -p '" .. root .. "/0'")
      png.write(root .. "/0/c.png", { width = 1, height = 1, color = "rgb", rows = { { 255, 0, 0 } } })
      local X = lunet.data.image_folder(root, { gray = false })
      assert_values({ 255, 0, 0 }, X, 0)
      local G = lunet.data.image_folder(root)
      assert_values({ 0.299 * 255 }, G, 1e-3)
    end)

    it("raises when images differ in size, naming the file", function()
      local root = dir .. "/folder_sizes"
      os.execute("mkdir -p '" .. root .. "/0'")
      png.write(root .. "/0/a.png", gray(1))
      png.write(root .. "/0/b.png", { width = 3, height = 1, rows = { { 1, 2, 3 } } })
      local msg = errmsg(lunet.data.image_folder, root)
      assert.matches("all images must have the same size: " .. root .. "/0/b.png is 1x3", msg, 1, true)
    end)

    it("raises on a corrupt image, naming the file", function()
      local root = dir .. "/folder_bad"
      os.execute("mkdir -p '" .. root .. "/0'")
      writefile(root .. "/0/a.png", "garbage")
      assert.matches("lunet.data.image_folder: " .. root .. "/0/a.png: not a PNG file",
        errmsg(lunet.data.image_folder, root), 1, true)
    end)

    it("raises on missing or empty folders", function()
      assert.matches("lunet.data.image_folder: " .. dir .. "/none: No such file or directory",
        errmsg(lunet.data.image_folder, dir .. "/none"), 1, true)
      os.execute("mkdir -p '" .. dir .. "/empty/0'")
      assert.matches("no .png files", errmsg(lunet.data.image_folder, dir .. "/empty"), 1, true)
    end)
  end)

  describe("export_image_folder()", function()
    it("writes dir/<label - 1>/NNNN.png that image_folder reads back", function()
      local X = lunet.tensor{ { 1, 2, 3, 4, 5, 6 }, { 7, 8, 9, 10, 11, 12 }, { 13, 14, 15, 16, 17, 18 },
        { 19, 20, 21, 22, 23, 24 }, { 25, 26, 27, 28, 29, 255 } }
      local y = lunet.tensor{ 1, 3, 1, 2, 3 }
      local root = dir .. "/export/deep/train"
      lunet.data.export_image_folder(X, y, root, 3, 2)
      assert.are.equal(2, #lunet.image.load(root .. "/0/0001.png"))
      assert.same({ 2, 3 }, { lunet.image.load(root .. "/2/0000.png"):shape() })
      local X2, y2, classes = lunet.data.image_folder(root)
      assert_values({ 1, 1, 2, 3, 3 }, y2, 0)
      assert_values(flat(X:index{ 1, 3, 4, 2, 5 }), X2, 0)
      assert.same({ "0", "1", "2" }, classes)
    end)

    it("checks shapes and labels", function()
      local X = lunet.zeros(2, 6)
      assert.matches("X is 2x6, expected N x 4 (width 2 * height 2)",
        errmsg(lunet.data.export_image_folder, X, lunet.tensor{ 1, 1 }, dir .. "/e", 2, 2), 1, true)
      assert.matches("y is 3, expected 2 labels (X is 2x6)",
        errmsg(lunet.data.export_image_folder, X, lunet.tensor{ 1, 1, 1 }, dir .. "/e", 3, 2), 1, true)
      assert.matches("label 2 is 0, expected an integer >= 1",
        errmsg(lunet.data.export_image_folder, X, lunet.tensor{ 1, 0 }, dir .. "/e", 3, 2), 1, true)
    end)
  end)

  describe("shuffle()", function()
    it("applies one permutation to X and y", function()
      local rows, labels = {}, {}
      for i = 1, 50 do rows[i] = { i, -i } labels[i] = i end
      local X, y = lunet.tensor(rows), lunet.tensor(labels)
      local Xs, ys = lunet.data.shuffle(X, y)
      assert.same({ 50, 2 }, { Xs:shape() })
      local seen, moved = {}, 0
      for i = 1, 50 do
        local v = ys:get(i)
        assert.are.equal(v, Xs:get(i, 1))
        assert.are.equal(-v, Xs:get(i, 2))
        seen[v] = true
        if v ~= i then moved = moved + 1 end
      end
      for i = 1, 50 do assert.is_true(seen[i]) end
      assert.is_true(moved > 0)
      assert.are.equal(1, X:get(1, 1)) -- the inputs are untouched
    end)

    it("is reproducible with lunet.seed and accepts 2-D targets", function()
      local X, y = lunet.rand(20, 3), lunet.rand(20, 2)
      lunet.seed(7)
      local a, b = lunet.data.shuffle(X, y)
      lunet.seed(7)
      local c, d = lunet.data.shuffle(X, y)
      assert.same(a:totable(), c:totable())
      assert.same(b:totable(), d:totable())
    end)

    it("raises when the rows differ, with both shapes", function()
      assert.matches("lunet.data.shuffle: X is 3x2 and y is 4: their numbers of rows differ",
        errmsg(lunet.data.shuffle, lunet.zeros(3, 2), lunet.zeros(4)), 1, true)
    end)
  end)

  describe("spiral()", function()
    it("makes samples * classes points with labels 1..K", function()
      lunet.seed(0)
      local X, y = lunet.data.spiral(100, 3)
      assert.same({ 300, 2 }, { X:shape() })
      assert.same({ 300 }, { y:shape() })
      assert.are.equal(1, y:min()); assert.are.equal(3, y:max())
      assert.are.equal(1, y:get(100)); assert.are.equal(2, y:get(101)); assert.are.equal(3, y:get(300))
      -- r = linspace(0, 1): each arm starts at the origin and ends on the unit circle
      assert.are.equal(0, X:get(101, 1)); assert.are.equal(0, X:get(101, 2))
      local x, z = X:get(200, 1), X:get(200, 2)
      assert.is_true(math.abs(x * x + z * z - 1) < 1e-5)
    end)

    it("is reproducible with lunet.seed and rejects bad counts", function()
      lunet.seed(3); local a = lunet.data.spiral(10, 2)
      lunet.seed(3); local b = lunet.data.spiral(10, 2)
      assert.same(a:totable(), b:totable())
      assert.matches("lunet.data.spiral: samples must be a positive integer, got 0",
        errmsg(lunet.data.spiral, 0, 3), 1, true)
    end)
  end)

  describe("vertical()", function()
    it("makes blobs around (class / 3, 0.5)", function()
      lunet.seed(1)
      local X, y = lunet.data.vertical(200, 3)
      assert.same({ 600, 2 }, { X:shape() })
      assert.are.equal(1, y:min()); assert.are.equal(3, y:max())
      for c = 0, 2 do
        local part = X:rows(c * 200 + 1, c * 200 + 200)
        local sx, sy = 0, 0
        for i = 1, 200 do sx = sx + part:get(i, 1); sy = sy + part:get(i, 2) end
        assert.is_true(math.abs(sx / 200 - c / 3) < 0.03)
        assert.is_true(math.abs(sy / 200 - 0.5) < 0.03)
      end
    end)
  end)

  describe("sine()", function()
    it("makes X = (0..N-1)/N and y = sin(2 pi X), both N x 1", function()
      local X, y = lunet.data.sine()
      assert.same({ 1000, 1 }, { X:shape() })
      assert.same({ 1000, 1 }, { y:shape() })
      assert.are.equal(0, X:get(1, 1))
      assert.is_true(math.abs(X:get(251, 1) - 0.25) < 1e-7)
      assert.is_true(math.abs(y:get(251, 1) - 1) < 1e-6)
      assert.is_true(math.abs(X:get(1000, 1) - 0.999) < 1e-6)
      local X2 = lunet.data.sine(10)
      assert.same({ 10, 1 }, { X2:shape() })
    end)
  end)

  describe("fashion_mnist()", function()
    it("reads Debian's dataset-fashion-mnist files", function()
      local f = io.open(FASHION .. "/train-labels-idx1-ubyte.gz", "rb")
      if not f then pending("dataset-fashion-mnist is not installed") return end
      f:close()
      local X, y, Xt, yt = lunet.data.fashion_mnist()
      assert.same({ 60000, 784 }, { X:shape() })
      assert.same({ 60000 }, { y:shape() })
      assert.same({ 10000, 784 }, { Xt:shape() })
      assert.same({ 10000 }, { yt:shape() })
      assert.are.equal(1, y:min()); assert.are.equal(10, y:max())
      assert.are.equal(1, yt:min()); assert.are.equal(10, yt:max())
      assert.are.equal(0, X:min()); assert.are.equal(255, X:max())
      assert.are.equal(10, y:get(1)) -- the first training image is an ankle boot (label 9 in the file)
    end)

    it("reads plain IDX files from another folder", function()
      local root = dir .. "/fm_idx"
      os.execute("mkdir -p '" .. root .. "'")
      local img = string.rep("\0\255", 4 * 3) -- 3 images of 2x2... as 3 x 2 x 4
      writefile(root .. "/train-images-idx3-ubyte", idx_bytes(8, { 3, 2, 4 }, img))
      writefile(root .. "/train-labels-idx1-ubyte", idx_bytes(8, { 3 }, "\0\9\4"))
      writefile(root .. "/t10k-images-idx3-ubyte", idx_bytes(8, { 1, 2, 4 }, string.rep("\7", 8)))
      gzip(writefile(root .. "/t10k-labels-idx1-ubyte", idx_bytes(8, { 1 }, "\2")))
      os.remove(root .. "/t10k-labels-idx1-ubyte")
      local X, y, Xt, yt = lunet.data.fashion_mnist(root)
      assert.same({ 3, 8 }, { X:shape() })
      assert_values({ 1, 10, 5 }, y, 0)
      assert.same({ 1, 8 }, { Xt:shape() })
      assert_values({ 3 }, yt, 0)
    end)

    it("reads the book's train/ and test/ PNG folders", function()
      local root = dir .. "/fm_png"
      local X = lunet.tensor{ { 0, 1, 2, 3 }, { 4, 5, 6, 7 } }
      lunet.data.export_image_folder(X, lunet.tensor{ 1, 10 }, root .. "/train", 2, 2)
      lunet.data.export_image_folder(X, lunet.tensor{ 2, 2 }, root .. "/test", 2, 2)
      local Xa, ya, Xb, yb = lunet.data.fashion_mnist(root)
      assert_values({ 0, 1, 2, 3, 4, 5, 6, 7 }, Xa, 0)
      assert_values({ 1, 10 }, ya, 0)
      assert_values({ 0, 1, 2, 3, 4, 5, 6, 7 }, Xb, 0)
      assert_values({ 2, 2 }, yb, 0)
    end)

    it("names the folder, what is missing and the Debian package", function()
      local msg = errmsg(lunet.data.fashion_mnist, dir .. "/no_such_folder")
      assert.matches("lunet.data.fashion_mnist: " .. dir .. "/no_such_folder", msg, 1, true)
      assert.matches("missing: train-images-idx3-ubyte[.gz]", msg, 1, true)
      assert.matches("train/ and test/", msg, 1, true)
      assert.matches("dataset-fashion-mnist", msg, 1, true)
    end)
  end)
end)
