local lunet = require "lunet"
local check = require "helpers.check"
local readall, writeall = check.readall, check.writeall
local st = lunet.safetensors

-- a fresh folder per run, removed at the end
local dir
local function path(name) return dir .. "/" .. name end

-- a safetensors file from a header JSON text and a data section
local function rawfile(name, json, data)
  local p = path(name)
  writeall(p, string.pack("<I8", #json) .. json .. (data or ""))
  return p
end

-- the names in folder d (without . and ..), sorted
local function listdir(d)
  local names = {}
  local pipe = assert(io.popen("ls -A '" .. d .. "'"))
  for line in pipe:lines() do names[#names + 1] = line end
  pipe:close()
  table.sort(names)
  return names
end

-- the error message of f(...) (which must fail)
local function errof(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return tostring(err)
end

local function assert_has(msg, sub)
  assert(msg:find(sub, 1, true), "expected error containing:\n  " .. sub .. "\ngot:\n  " .. msg)
end

-- every element of two tensors equal (float32 values round-trip exactly)
local function assert_same_tensor(a, b)
  assert.same({ a:shape() }, { b:shape() })
  local fa, fb = a:reshape(-1), b:reshape(-1)
  for i = 1, a:numel() do assert.equal(fa:get(i), fb:get(i)) end
end

-- sum of all elements in double precision
local function tsum(t)
  local s, f = 0.0, t:reshape(-1)
  for i = 1, t:numel() do s = s + f:get(i) end
  return s
end

setup(function()
  local pipe = assert(io.popen("mktemp -d /tmp/lunet_st_spec.XXXXXX"))
  dir = pipe:read("l")
  pipe:close()
  assert(dir and #dir > 0)
end)

teardown(function()
  if dir then os.execute("rm -rf '" .. dir .. "'") end
end)

describe("lunet.safetensors", function()
  describe("save() and load()", function()
    it("round-trips 1-D to 4-D tensors and the metadata", function()
      lunet.seed(7)
      local tensors = {
        ["bias"] = lunet.randn(5),
        ["dense1.weights"] = lunet.randn(3, 4),
        ["cube"] = lunet.randn(2, 3, 4),
        ["conv.kernel"] = lunet.randn(2, 1, 3, 3),
      }
      local p = path("round.safetensors")
      st.save(p, tensors, { epoch = "12", note = "héllo wörld", lr = 0.5 })
      local back, meta = st.load(p)
      local n = 0
      for name, t in pairs(back) do
        n = n + 1
        assert.is_true(lunet.is_tensor(t))
        assert_same_tensor(tensors[name], t)
      end
      assert.equal(4, n)
      assert.same({ epoch = "12", note = "héllo wörld", lr = "0.5" }, meta)
    end)

    it("returns an empty metadata table when there is none", function()
      local p = path("nometa.safetensors")
      st.save(p, { x = lunet.tensor{ 1, 2, 3 } })
      local back, meta = st.load(p)
      assert.same({}, meta)
      assert.same({ 1, 2, 3 }, back.x:totable())
    end)

    it("saves and loads an empty set of tensors", function()
      local p = path("empty.safetensors")
      st.save(p, {}, { k = "v" })
      local back, meta = st.load(p)
      assert.same({}, back)
      assert.same({ k = "v" }, meta)
    end)

    it("saves a view (row range) with its own shape", function()
      local m = lunet.tensor{ { 1, 2 }, { 3, 4 }, { 5, 6 } }
      local p = path("view.safetensors")
      st.save(p, { rows = m:rows(2, 3) })
      assert.same({ { 3, 4 }, { 5, 6 } }, st.load(p).rows:totable())
    end)

    it("writes identical bytes for identical contents (sorted names)", function()
      local a, b = lunet.tensor{ 1 }, lunet.tensor{ 2, 3 }
      st.save(path("d1.safetensors"), { zeta = a, alpha = b, mid = a }, { y = "1", x = "2" })
      st.save(path("d2.safetensors"), { mid = a, alpha = b, zeta = a }, { x = "2", y = "1" })
      local s = readall(path("d1.safetensors"))
      assert.equal(s, readall(path("d2.safetensors")))
      local ia, im, iz = s:find('"alpha"', 1, true), s:find('"mid"', 1, true), s:find('"zeta"', 1, true)
      assert.is_true(ia < im and im < iz)
    end)

    it("replaces an earlier file and leaves no temporary file", function()
      local d = path("replace")
      os.execute("mkdir '" .. d .. "'")
      local p = d .. "/m.safetensors"
      st.save(p, { a = lunet.tensor{ 1, 2, 3, 4 } })
      st.save(p, { b = lunet.tensor{ 9 } })
      local back = st.load(p)
      assert.is_nil(back.a)
      assert.same({ 9 }, back.b:totable())
      assert.same({ "m.safetensors" }, listdir(d))
    end)
  end)

  describe("file layout", function()
    it("is the header length, the padded JSON header, then little-endian floats", function()
      local p = path("tiny.safetensors")
      st.save(p, { b = lunet.tensor{ 1, -2 }, a = lunet.tensor{ { 0.5 } } }, { k = "v" })
      local s = readall(p)
      local n, pos = string.unpack("<I8", s)
      assert.equal(9, pos)
      local json = '{"__metadata__":{"k":"v"},' ..
        '"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},' ..
        '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
      local padded = json .. string.rep(" ", (8 - #json % 8) % 8)
      assert.equal(#padded, n)
      assert.equal(0, n % 8)
      assert.equal(padded, s:sub(9, 8 + n))
      assert.equal(8 + n + 12, #s)
      local x, y, z = string.unpack("<fff", s, 9 + n)
      assert.equal(0.5, x); assert.equal(1, y); assert.equal(-2, z)
      -- the bytes themselves: 0.5f = 0x3F000000, 1.0f = 0x3F800000, -2.0f = 0xC0000000
      assert.equal("\0\0\0\63\0\0\128\63\0\0\0\192", s:sub(9 + n))
    end)

    it("reads a file written by hand, padded header and metadata included", function()
      local json = '{"w":{"data_offsets":[0,8],"shape":[2,1],"dtype":"F32"},"__metadata__":{"a":"b"}}   '
      local p = rawfile("hand.safetensors", json, string.pack("<ff", 1.5, -3.25))
      local back, meta = st.load(p)
      assert.same({ { 1.5 }, { -3.25 } }, back.w:totable())
      assert.same({ a = "b" }, meta)
    end)
  end)

  describe("the Python reader (examples/read_safetensors.py)", function()
    local test = require("helpers.check").has_numpy and it or pending
    test("gives the same metadata, shapes and sums", function()
      lunet.seed(3)
      local tensors = { v = lunet.randn(7), ["layer 1.w"] = lunet.randn(4, 3),
                        c = lunet.randn(2, 2, 2), k = lunet.randn(1, 2, 3, 2) }
      local p = path("py.safetensors")
      st.save(p, tensors, { epoch = "4", name = "spiral" })
      local pipe = assert(io.popen("/usr/bin/python3 examples/read_safetensors.py '" .. p .. "' 2>&1"))
      local out = pipe:read("a")
      pipe:close()
      local meta, seen = {}, 0
      for line in out:gmatch("[^\n]+") do
        local k, v = line:match('^metadata "(.-)": "(.-)"$')
        if k then
          meta[k] = v
        else
          local name, shape, sum = line:match('^tensor "(.-)" shape %[(.-)%] sum (%S+)$')
          assert(name, "unexpected line: " .. line)
          local t = assert(tensors[name], name)
          assert.equal(table.concat({ t:shape() }, ", "), shape)
          assert.near(tsum(t), tonumber(sum), 1e-9)
          seen = seen + 1
        end
      end
      assert.equal(4, seen)
      assert.same({ epoch = "4", name = "spiral" }, meta)
    end)
  end)

  describe("load() errors", function()
    local W = '"w":{"dtype":"F32","shape":%s,"data_offsets":%s}'
    local function entry(shape, offs) return W:format(shape, offs) end
    local function bad(name, json, data, sub)
      local p = rawfile(name, json, data)
      local msg = errof(st.load, p)
      assert_has(msg, "lunet.safetensors.load: " .. p .. ": ")
      assert_has(msg, sub)
    end

    it("rejects a missing file", function()
      local msg = errof(st.load, path("nope.safetensors"))
      assert_has(msg, "lunet.safetensors.load: " .. path("nope.safetensors") .. ": No such file or directory")
    end)

    it("rejects a folder", function()
      assert_has(errof(st.load, dir), "Is a directory")
    end)

    it("rejects a truncated header length", function()
      local p = path("short.safetensors")
      writeall(p, "\5\0\0\0\0")
      assert_has(errof(st.load, p), "file is 5 bytes, too short for the 8-byte header length")
    end)

    it("rejects a header length beyond the file", function()
      local p = path("long.safetensors")
      writeall(p, string.pack("<I8", 1000) .. "{}")
      assert_has(errof(st.load, p), "header length 1000 exceeds the file size (10 bytes)")
      writeall(p, string.pack("<I8", -1) .. "{}")
      assert_has(errof(st.load, p), "header length 18446744073709551615 exceeds the file size (10 bytes)")
    end)

    it("rejects a header length over 100 MB", function()
      local p = path("sparse.safetensors")
      local f = assert(io.open(p, "wb"))
      f:write(string.pack("<I8", 100000001))
      f:seek("set", 100000015)
      f:write(" ")
      f:close()
      assert_has(errof(st.load, p), "header length 100000001 exceeds the limit (100000000 bytes)")
    end)

    it("rejects bad JSON and JSON that is not an object", function()
      bad("json1.safetensors", '{"w": ', "", "header is not valid JSON")
      bad("json2.safetensors", "", "", "header is empty")
      bad("json3.safetensors", "[1, 2]", "", "header is an array, expected a JSON object")
      bad("json4.safetensors", '"w"', "", "header is a string, expected a JSON object")
      bad("json5.safetensors", '{} x', "", "header has data after the JSON value (byte 3 of 4)")
      bad("json6.safetensors", '{"\255":1}', "", "header is not valid UTF-8")
    end)

    it("reads and writes I64 scalars as Lua integers (PyTorch's num_batches_tracked) and refuses other I64s",
       function()
      local p = dir .. "/i64.safetensors"
      lunet.safetensors.save(p, { w = lunet.ones(2), n = 42, big = math.maxinteger, neg = -3 })
      local t = lunet.safetensors.load(p)
      assert.equal(42, t.n); assert.equal(math.maxinteger, t.big); assert.equal(-3, t.neg)
      assert.equal("integer", math.type(t.n))
      assert.same({ 1, 1 }, t.w:totable())
      bad("i64v.safetensors", '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', string.rep("\0", 16),
          "tensor 'n': an I64 tensor must be a scalar (shape [])")
      bad("i64b.safetensors", '{"n":{"dtype":"I64","shape":[],"data_offsets":[0,4]}}', "\0\0\0\0",
          "tensor 'n': data_offsets [0, 4] hold 4 bytes but shape [] (I64) needs 8")
      os.remove(p)
    end)

    it("rejects other dtypes than F32", function()
      bad("f16.safetensors", '{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', "\0\0\0\0",
          "tensor 'w': dtype F16 not supported (only F32, and I64 scalars)")
      bad("dt.safetensors", '{"w":{"dtype":3,"shape":[1],"data_offsets":[0,4]}}', "\0\0\0\0",
          "tensor 'w': dtype is a number, expected a string")
    end)

    it("rejects entries with missing fields", function()
      bad("nodtype.safetensors", '{"w":{"shape":[1],"data_offsets":[0,4]}}', "\0\0\0\0", "tensor 'w': missing dtype")
      bad("noshape.safetensors", '{"w":{"dtype":"F32","data_offsets":[0,4]}}', "\0\0\0\0", "tensor 'w': missing shape")
      bad("nooffs.safetensors", '{"w":{"dtype":"F32","shape":[1]}}', "\0\0\0\0", "tensor 'w': missing data_offsets")
      bad("notobj.safetensors", '{"w":[1]}', "", "tensor 'w': entry is an array, expected an object")
    end)

    it("rejects negative, zero, float and huge shapes", function()
      local d = string.rep("\0", 12)
      bad("neg.safetensors", "{" .. entry("[-3]", "[0,12]") .. "}", d,
          "tensor 'w': shape size 1 (-3) is not a positive integer")
      bad("zero.safetensors", "{" .. entry("[3,0]", "[0,0]") .. "}", "",
          "tensor 'w': shape size 2 (0) is not a positive integer")
      bad("float.safetensors", "{" .. entry("[2.5]", "[0,12]") .. "}", d,
          "tensor 'w': shape size 1 (2.5) is not a positive integer")
      bad("huge.safetensors", "{" .. entry("[1e300]", "[0,12]") .. "}", d,
          "tensor 'w': shape size 1 (1.0000000000000001e+300) is not a positive integer")
      bad("str.safetensors", "{" .. entry('["3"]', "[0,12]") .. "}", d,
          "tensor 'w': shape size 1 (a string) is not a positive integer")
      bad("0d.safetensors", "{" .. entry("[]", "[0,4]") .. "}", "\0\0\0\0",
          "tensor 'w': shape has 0 dimensions (only 1 to 4 supported)")
      bad("5d.safetensors", "{" .. entry("[1,1,1,1,1]", "[0,4]") .. "}", "\0\0\0\0",
          "tensor 'w': shape has 5 dimensions (only 1 to 4 supported)")
      bad("shp.safetensors", "{" .. entry("3", "[0,12]") .. "}", d, "tensor 'w': shape is a number, expected an array")
    end)

    it("rejects a shape whose element count overflows", function()
      bad("ovf.safetensors", "{" .. entry("[4294967296,4294967296]", "[0,4]") .. "}", "\0\0\0\0",
          "tensor 'w': shape element count overflows")
      bad("ovf2.safetensors", "{" .. entry("[9007199254740992,9007199254740992,2]", "[0,4]") .. "}", "\0\0\0\0",
          "tensor 'w': shape element count overflows")
    end)

    it("rejects data_offsets beyond the data section", function()
      local json = '{"layer1.weights":{"dtype":"F32","shape":[10,10],"data_offsets":[0,400]}}'
      local p = rawfile("model.safetensors", json, string.rep("\0", 96))
      assert.equal("lunet.safetensors.load: " .. p .. ": tensor 'layer1.weights': data_offsets [0, 400] " ..
                   "exceed the data section (96 bytes)", errof(st.load, p))
    end)

    it("rejects data_offsets that do not match the shape or are malformed", function()
      local d = string.rep("\0", 8)
      bad("mis.safetensors", "{" .. entry("[3]", "[0,8]") .. "}", d,
          "tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] needs 12")
      bad("rev.safetensors", "{" .. entry("[1]", "[8,4]") .. "}", d,
          "tensor 'w': data_offsets [8, 4] end before they begin")
      bad("one.safetensors", "{" .. entry("[2]", "[8]") .. "}", d,
          "tensor 'w': data_offsets must be two non-negative integers")
      bad("negoff.safetensors", "{" .. entry("[2]", "[-8,0]") .. "}", d,
          "tensor 'w': data_offsets must be two non-negative integers")
      bad("fltoff.safetensors", "{" .. entry("[2]", "[0,8.5]") .. "}", d,
          "tensor 'w': data_offsets must be two non-negative integers")
    end)

    it("rejects overlapping tensors, holes and unused bytes", function()
      local d = string.rep("\0", 12)
      bad("overlap.safetensors",
          '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            .. '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
          d, "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]")
      bad("same.safetensors",
          '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},'
            .. '"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}',
          d, "overlap tensor")
      bad("hole.safetensors",
          '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            .. '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
          d, "bytes [4, 8) of the data section belong to no tensor (hole before 'b')")
      bad("tail.safetensors", "{" .. entry("[2]", "[0,8]") .. "}", d,
          "bytes [8, 12) at the end of the data section belong to no tensor")
      bad("nodata.safetensors", "{}", d, "bytes [0, 12) at the end of the data section belong to no tensor")
    end)

    it("rejects a tensor named twice", function()
      bad("dup.safetensors", "{" .. entry("[1]", "[0,4]") .. "," .. entry("[1]", "[4,8]") .. "}", string.rep("\0", 8),
          "tensor 'w' appears twice")
    end)

    it("rejects bad metadata", function()
      local d = "\0\0\0\0"
      bad("meta1.safetensors", '{"__metadata__":{"epoch":1},' .. entry("[1]", "[0,4]") .. "}", d,
          "__metadata__ value of 'epoch' is a number, expected a string")
      bad("meta2.safetensors", '{"__metadata__":["x"],' .. entry("[1]", "[0,4]") .. "}", d,
          "__metadata__ is an array, expected an object of strings")
      bad("meta3.safetensors", '{"__metadata__":{"a":"1","a":"2"}}', "", "__metadata__ key 'a' appears twice")
    end)
  end)

  describe("save() errors", function()
    local t = lunet.tensor{ 1, 2 }

    it("rejects bad arguments before touching any file", function()
      local p = path("keep.safetensors")
      st.save(p, { a = t }, { v = "1" })
      local before = readall(p)
      assert_has(errof(st.save, 42, { a = t }),
                 "lunet.safetensors.save: argument 1 (path) must be a string, got number")
      assert_has(errof(st.save, p, "x"), "argument 2 (tensors) must be a table of name -> tensor, got string")
      assert_has(errof(st.save, p, { a = t }, 5),
                 "argument 3 (metadata) must be a table of string -> string, got number")
      assert_has(errof(st.save, p, { a = t, b = "x" }),
                 "lunet.safetensors.save: " .. p .. ": tensors['b'] is string, expected a lunet.Tensor")
      assert_has(errof(st.save, p, { t }), "tensor names must be strings, got number")
      assert_has(errof(st.save, p, { [""] = t }), "tensor names must be non-empty")
      assert_has(errof(st.save, p, { __metadata__ = t }), "tensor name '__metadata__' is reserved")
      assert_has(errof(st.save, p, { ["a\0b"] = t }), "is not valid UTF-8 (or holds a zero byte)")
      assert_has(errof(st.save, p, { ["\255"] = t }), "is not valid UTF-8")
      assert_has(errof(st.save, p, { a = t }, { ok = true }), "metadata['ok'] is boolean, expected a string")
      assert_has(errof(st.save, p, { a = t }, { "x" }), "metadata names must be strings, got number")
      assert.equal(before, readall(p))
      local _, meta = st.load(p)
      local keys = {}
      for k in pairs(meta) do keys[#keys + 1] = k end
      assert.same({ "v" }, keys)
      for _, name in ipairs(listdir(dir)) do
        assert.is_nil(name:find("%.tmp")); assert.is_nil(name:find("^%.lunet%-"))
      end
    end)

    it("fails on a missing folder", function()
      local p = path("no/such/folder.safetensors")
      assert.equal("lunet.safetensors.save: " .. p .. ": No such file or directory",
                   errof(st.save, p, { a = t }))
    end)

    it("fails on a target in an unwritable place", function()
      local msg = errof(st.save, "/proc/lunet_spec.safetensors", { a = t })
      assert_has(msg, "lunet.safetensors.save: /proc/lunet_spec.safetensors: ")
    end)

    it("refuses /dev/full and other non-regular targets, leaving no temporary file", function()
      assert.equal("lunet.safetensors.save: /dev/full: not a regular file (a character " ..
        "device)", errof(st.save, "/dev/full", { a = t }))
      for _, name in ipairs(listdir("/dev")) do assert.is_nil(name:find("^full%.tmp")) end
      assert_has(errof(st.save, dir, { a = t }), "Is a directory")
    end)

    it("keeps the earlier file and removes the temporary when writing fails", function()
      -- a child process whose file size limit (ulimit -f, SIGXFSZ ignored) makes
      -- the data writes fail with EFBIG half-way through the file
      local d = path("full")
      os.execute("mkdir '" .. d .. "'")
      local p = d .. "/m.safetensors"
      st.save(p, { small = t }, { v = "old" })
      local before = readall(p)
      local script = path("child.lua")
      writeall(script, ("package.path = %q; package.cpath = %q\n"):format(package.path, package.cpath) ..
        "local lunet = require 'lunet'\n" ..
        ("local ok, err = pcall(lunet.safetensors.save, %q, { big = lunet.ones(100000) })\n"):format(p) ..
        "io.write(tostring(ok), '|', tostring(err))\n")
      local pipe = assert(io.popen("sh -c 'trap \"\" XFSZ; ulimit -f 64; exec lua5.4 \"$0\"' '"
                                   .. script .. "' 2>&1"))
      local out = pipe:read("a")
      pipe:close()
      assert_has(out, "false|lunet.safetensors.save: " .. p .. ": write failed: File too large")
      assert.equal(before, readall(p))
      assert.same({ "m.safetensors" }, listdir(d))
      local back, meta = st.load(p)
      assert.same({ 1, 2 }, back.small:totable())
      assert.same({ v = "old" }, meta)
    end)
  end)
end)
