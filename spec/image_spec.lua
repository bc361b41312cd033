local lunet = require "lunet"
local check = require "helpers.check"
local tmpdir, errmsg = check.tmpdir, check.err
local png = require "helpers.png_writer"

local TOL = 1e-4

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- files of a folder (ls -A)
local function listing(dir)
  local p = io.popen("ls -A '" .. dir .. "'")
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

local function assert_close(expected, t, tol)
  local got = t:totable()
  local function cmp(e, g, where)
    if type(e) == "table" then
      assert.are.equal(#e, #g, "length at " .. where)
      for i = 1, #e do cmp(e[i], g[i], where .. "[" .. i .. "]") end
    else
      assert(math.abs(e - g) <= (tol or TOL), string.format("%s: expected %.6g, got %.6g", where, e, g))
    end
  end
  cmp(expected, got, "t")
end

describe("lunet.image", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  describe("load()", function()
    it("reads 8-bit gray as H x W", function()
      local p = png.write(dir .. "/g8.png", { width = 3, height = 2, color = "gray", depth = 8,
        rows = { { 0, 1, 2 }, { 128, 254, 255 } } })
      local img = lunet.image.load(p)
      assert.same({ 2, 3 }, { img:shape() })
      assert_close({ { 0, 1, 2 }, { 128, 254, 255 } }, img)
    end)

    it("expands 1-, 2- and 4-bit gray to 0..255", function()
      local p1 = png.write(dir .. "/g1.png", { width = 10, height = 1, depth = 1,
        rows = { { 1, 0, 1, 1, 0, 0, 0, 1, 0, 1 } } })
      assert_close({ { 255, 0, 255, 255, 0, 0, 0, 255, 0, 255 } }, lunet.image.load(p1))
      local p2 = png.write(dir .. "/g2.png", { width = 3, height = 1, depth = 2, rows = { { 0, 1, 3 } } })
      assert_close({ { 0, 85, 255 } }, lunet.image.load(p2))
      local p4 = png.write(dir .. "/g4.png", { width = 3, height = 1, depth = 4, rows = { { 0, 1, 15 } } })
      assert_close({ { 0, 17, 255 } }, lunet.image.load(p4))
    end)

    it("scales 16-bit samples to 0..255", function()
      local p = png.write(dir .. "/g16.png", { width = 4, height = 1, depth = 16,
        rows = { { 0, 257, 32768, 65535 } } })
      assert_close({ { 0, 1, 32768 * 255 / 65535, 255 } }, lunet.image.load(p))
    end)

    it("reads RGB as H x W x 3 and RGBA as H x W x 4", function()
      local p = png.write(dir .. "/rgb.png", { width = 2, height = 1, color = "rgb",
        rows = { { 255, 0, 0, 10, 20, 30 } } })
      assert_close({ { { 255, 0, 0 }, { 10, 20, 30 } } }, lunet.image.load(p))
      local q = png.write(dir .. "/rgba.png", { width = 1, height = 2, color = "rgba",
        rows = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } } })
      assert_close({ { { 1, 2, 3, 4 } }, { { 5, 6, 7, 8 } } }, lunet.image.load(q))
    end)

    it("reads 16-bit RGB", function()
      local p = png.write(dir .. "/rgb16.png", { width = 1, height = 1, color = "rgb", depth = 16,
        rows = { { 65535, 0, 257 * 100 } } })
      assert_close({ { { 255, 0, 100 } } }, lunet.image.load(p))
    end)

    it("reads Adam7-interlaced images like plain ones", function()
      local rows = {}
      for y = 1, 5 do
        rows[y] = {}
        for x = 1, 6 * 3 do rows[y][x] = (y * 37 + x * 11) % 256 end
      end
      local a = png.write(dir .. "/plain.png", { width = 6, height = 5, color = "rgb", rows = rows })
      local b = png.write(dir .. "/adam7.png", { width = 6, height = 5, color = "rgb", rows = rows, interlace = true })
      local A, B = lunet.image.load(a), lunet.image.load(b)
      assert.same({ 5, 6, 3 }, { B:shape() })
      assert.same(A:totable(), B:totable())
      assert.are.equal((1 * 37 + 1 * 11) % 256, B:get(1, 1, 1))
      assert.are.equal((5 * 37 + 18 * 11) % 256, B:get(5, 6, 3))
    end)

    it("reads gray + alpha as RGBA (gray replicated) or as gray with gray = true", function()
      local p = png.write(dir .. "/ga.png", { width = 2, height = 1, color = "gray_alpha",
        rows = { { 10, 255, 200, 0 } } })
      assert_close({ { { 10, 10, 10, 255 }, { 200, 200, 200, 0 } } }, lunet.image.load(p))
      assert_close({ { 10, 200 } }, lunet.image.load(p, { gray = true }))
    end)

    it("reads palette images, with tRNS as alpha", function()
      local pal = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 } }
      local p = png.write(dir .. "/pal.png", { width = 3, height = 1, color = "palette", depth = 8,
        palette = pal, rows = { { 2, 0, 1 } } })
      assert_close({ { { 0, 0, 255 }, { 255, 0, 0 }, { 0, 255, 0 } } }, lunet.image.load(p))
      local q = png.write(dir .. "/palt.png", { width = 3, height = 1, color = "palette", depth = 2,
        palette = pal, trns = { 0, 128 }, rows = { { 2, 0, 1 } } })
      assert_close({ { { 0, 0, 255, 255 }, { 255, 0, 0, 0 }, { 0, 255, 0, 128 } } }, lunet.image.load(q))
    end)

    it("converts color to gray with 0.299 R + 0.587 G + 0.114 B, dropping alpha", function()
      local p = png.write(dir .. "/lu.png", { width = 3, height = 1, color = "rgba",
        rows = { { 255, 0, 0, 9, 0, 255, 0, 9, 10, 20, 30, 0 } } })
      local g = lunet.image.load(p, { gray = true })
      assert.same({ 1, 3 }, { g:shape() })
      assert_close({ { 0.299 * 255, 0.587 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30 } }, g, 1e-3)
    end)

    it("rejects unknown options", function()
      local p = dir .. "/g8.png"
      assert.matches("lunet.image.load: unknown option 'grey'", errmsg(lunet.image.load, p, { grey = true }), 1, true)
    end)

    it("raises with the path on a missing file", function()
      local p = dir .. "/nope.png"
      assert.matches("lunet.image.load: " .. p .. ": No such file or directory",
        errmsg(lunet.image.load, p), 1, true)
    end)

    it("raises on a file that is not a PNG", function()
      local p = dir .. "/text.png"
      local f = assert(io.open(p, "wb")); f:write("hello, world"); f:close()
      assert.matches(p .. ": not a PNG file", errmsg(lunet.image.load, p), 1, true)
      local e = dir .. "/empty.png"
      f = assert(io.open(e, "wb")); f:close()
      assert.matches(e .. ": not a PNG file", errmsg(lunet.image.load, e), 1, true)
    end)

    it("raises on a bad CRC", function()
      local p = png.write(dir .. "/crc.png", { width = 1, height = 1, rows = { { 7 } }, bad_crc = true })
      assert.matches(p .. ": IHDR: CRC error", errmsg(lunet.image.load, p), 1, true)
    end)

    it("raises on a truncated file", function()
      local s = png.encode{ width = 16, height = 16, rows = (function()
        local r = {}
        for y = 1, 16 do r[y] = {} for x = 1, 16 do r[y][x] = x * y % 256 end end
        return r
      end)() }
      local p = png.write(dir .. "/trunc.png", s:sub(1, 100))
      assert.matches(p .. ": truncated", errmsg(lunet.image.load, p), 1, true)
      local q = png.write(dir .. "/noend.png", s:sub(1, #s - 12)) -- IEND missing
      assert.matches(q .. ": truncated", errmsg(lunet.image.load, q), 1, true)
    end)

    it("refuses a small file that claims a huge image", function()
      local p = png.write(dir .. "/huge.png", { width = 1, height = 1, rows = { { 0 } }, ihdr = { 16000, 16000 } })
      assert.matches(p .. ": header declares 16000x16000 pixels", errmsg(lunet.image.load, p), 1, true)
      local q = png.write(dir .. "/huger.png", { width = 1, height = 1, rows = { { 0 } }, ihdr = { 100000, 1 } })
      assert.matches(q .. ": .*exceeds user limit", errmsg(lunet.image.load, q))
    end)

    it("raises on corrupt pixel data", function()
      local s = png.encode{ width = 4, height = 4,
                            rows = { { 1, 2, 3, 4 }, { 1, 2, 3, 4 }, { 1, 2, 3, 4 }, { 1, 2, 3, 4 } } }
      -- flip the stored block's LEN so that NLEN no longer matches
      local i = s:find("IDAT", 1, true) + 6
      local bad = s:sub(1, i) .. string.char(s:byte(i + 1) ~ 0xFF) .. s:sub(i + 2)
      local p = png.write(dir .. "/corrupt.png", bad)
      local msg = errmsg(lunet.image.load, p)
      assert.matches("lunet.image.load: " .. p .. ": ", msg, 1, true)
    end)
  end)

  describe("save()", function()
    it("round-trips gray and RGB images, rounding and clamping to 0..255", function()
      local g = lunet.tensor{ { -5, 0.4, 0.6 }, { 254.5, 300, 128 } }
      local p = dir .. "/sg.png"
      lunet.image.save(p, g)
      assert_close({ { 0, 0, 1 }, { 255, 255, 128 } }, lunet.image.load(p))
      local c = lunet.tensor{ { { 1, 2, 3 }, { 4, 5, 6 } } }
      local q = dir .. "/sc.png"
      lunet.image.save(q, c)
      assert_close({ { { 1, 2, 3 }, { 4, 5, 6 } } }, lunet.image.load(q))
    end)

    it("replaces an existing file and leaves no temporary behind", function()
      local sub = dir .. "/replace"
      os.execute("mkdir -p '" .. sub .. "'")
      local p = sub .. "/x.png"
      local f = assert(io.open(p, "wb")); f:write("old contents"); f:close()
      lunet.image.save(p, lunet.full(7, 2, 2))
      assert_close({ { 7, 7 }, { 7, 7 } }, lunet.image.load(p))
      assert.same({ "x.png" }, listing(sub))
    end)

    it("raises and leaves nothing when the folder is missing", function()
      local p = dir .. "/missing/x.png"
      assert.matches("lunet.image.save: " .. p .. ": No such file or directory",
        errmsg(lunet.image.save, p, lunet.zeros(2, 2)), 1, true)
      assert.is_false(exists(dir .. "/missing"))
    end)

    it("refuses a target that is not a regular file (a device), as safetensors.save does", function()
      assert.matches("lunet.image.save: /dev/full: not a regular file (a character device)",
        errmsg(lunet.image.save, "/dev/full", lunet.zeros(64, 64)), 1, true)
    end)

    it("raises with the path in a place that cannot be written", function()
      local msg = errmsg(lunet.image.save, "/proc/lunet_spec.png", lunet.zeros(2, 2))
      assert.matches("lunet.image.save: /proc/lunet_spec.png: ", msg, 1, true)
    end)

    it("rejects tensors that are not images", function()
      assert.matches("lunet.image.save: image is 2x2x2, expected H x W",
        errmsg(lunet.image.save, dir .. "/bad.png", lunet.zeros(2, 2, 2)), 1, true)
      assert.matches("lunet.image.save: image is 4, expected H x W",
        errmsg(lunet.image.save, dir .. "/bad.png", lunet.zeros(4)), 1, true)
    end)
  end)

  describe("resize()", function()
    it("upsamples 2x2 to 4x4 bilinearly like OpenCV (half-pixel centers)", function()
      local img = lunet.tensor{ { 0, 10 }, { 20, 30 } }
      local r = lunet.image.resize(img, 4, 4)
      assert_close({
        { 0, 2.5, 7.5, 10 },
        { 5, 7.5, 12.5, 15 },
        { 15, 17.5, 22.5, 25 },
        { 20, 22.5, 27.5, 30 },
      }, r)
    end)

    it("resizes width and height independently and keeps channels", function()
      local img = lunet.tensor{ { { 0, 100 }, { 10, 110 }, { 20, 120 } } } -- 1 x 3 x 2
      local r = lunet.image.resize(img, 2, 1)
      assert.same({ 1, 2, 2 }, { r:shape() })
      -- x = (d + 0.5) * 1.5 - 0.5: 0.25 and 1.75
      assert_close({ { { 2.5, 102.5 }, { 17.5, 117.5 } } }, r)
    end)

    it("averages boxes with method = \"area\"", function()
      local img = lunet.tensor{ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 }, { 13, 14, 15, 16 } }
      assert_close({ { 3.5, 5.5 }, { 11.5, 13.5 } }, lunet.image.resize(img, 2, 2, { method = "area" }))
      assert_close({ { 8.5 } }, lunet.image.resize(img, 1, 1, { method = "area" }))
      -- a non-integer factor weighs the partly covered pixel: 3 -> 2
      assert_close({ { 1, 5 } }, lunet.image.resize(lunet.tensor{ { 0, 3, 6 } }, 2, 1, { method = "area" }))
    end)

    it("halving bilinearly equals the 2x2 box means", function()
      local img = lunet.tensor{ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 }, { 13, 14, 15, 16 } }
      assert_close({ { 3.5, 5.5 }, { 11.5, 13.5 } }, lunet.image.resize(img, 2, 2))
    end)

    it("rejects bad arguments", function()
      local img = lunet.zeros(2, 2)
      assert.matches("unknown method 'cubic'", errmsg(lunet.image.resize, img, 2, 2, { method = "cubic" }), 1, true)
      assert.matches("width and height must be in", errmsg(lunet.image.resize, img, 0, 2), 1, true)
      assert.matches("image is 4, expected H x W", errmsg(lunet.image.resize, lunet.zeros(4), 2, 2), 1, true)
    end)
  end)
end)
