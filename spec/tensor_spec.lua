-- spec/tensor_spec.lua: lunet.Tensor (src/tensor.c), API.md "Tensors".
local lunet = require "lunet"
local check = require "helpers.check"
local errmsg = check.err

local TOL = 1e-6

-- f(...) must fail with a message containing each plain substring
local function assert_error_has(f, args, ...)
  local msg = errmsg(f, table.unpack(args, 1, args.n or #args))
  for _, sub in ipairs{...} do
    assert.is_truthy(msg:find(sub, 1, true), ("expected %q in the error: %s"):format(sub, msg))
  end
end

-- flatten a nested table of numbers in row-major order
local function flatten(t, out)
  out = out or {}
  if type(t) == "number" then out[#out + 1] = t; return out end
  for _, v in ipairs(t) do flatten(v, out) end
  return out
end

-- t holds the values of the nested table `expected` (row-major), within tol
local function assert_values(expected, t, tol)
  local want, got = flatten(expected), flatten(t:totable())
  assert.are.equal(#want, #got)
  for i = 1, #want do
    assert.is_near(want[i], got[i], tol or TOL, ("element %d"):format(i))
  end
end

local function shape(t) return {t:shape()} end

describe("lunet.Tensor", function()

  describe("lunet.tensor()", function()
    it("builds 1-D to 4-D tensors from nested tables", function()
      local t1 = lunet.tensor{1, 2, 3}
      assert.same({3}, shape(t1))
      assert_values({1, 2, 3}, t1)
      local t2 = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      assert.same({2, 3}, shape(t2))
      assert_values({1, 2, 3, 4, 5, 6}, t2)
      local t3 = lunet.tensor{{{1, 2}, {3, 4}, {5, 6}}, {{7, 8}, {9, 10}, {11, 12}}}
      assert.same({2, 3, 2}, shape(t3))
      assert.are.equal(12, t3:get(2, 3, 2))
      assert.are.equal(7, t3:get(2, 1, 1))
      local t4 = lunet.tensor{{{{1}, {2}}}, {{{3}, {4}}}}
      assert.same({2, 1, 2, 1}, shape(t4))
      assert.are.equal(4, t4:get(2, 1, 2, 1))
    end)

    it("stores float32 values", function()
      local t = lunet.tensor{0.1, -2.5, 1e10}
      assert.are.equal(-2.5, t[2])
      assert.is_near(0.1, t[1], 1e-8)
      assert.are_not.equal(0.1, t[1]) -- rounded to float32
      assert.are.equal(string.unpack("<f", string.pack("<f", 0.1)), t[1])
    end)

    it("builds a 1-element tensor from a number", function()
      local t = lunet.tensor(3.5)
      assert.same({1}, shape(t))
      assert.are.equal(3.5, t[1])
    end)

    it("copies a tensor (independent storage)", function()
      local a = lunet.tensor{{1, 2}, {3, 4}}
      local b = lunet.tensor(a)
      assert.same({2, 2}, shape(b))
      b:set(1, 1, 99)
      assert.are.equal(1, a:get(1, 1))
      assert.are.equal(99, b:get(1, 1))
    end)

    it("rejects ragged tables", function()
      assert_error_has(lunet.tensor, {{{1, 2}, {3}}}, "lunet.tensor", "ragged",
                       "level 2 has 1 elements where 2 were expected")
      assert_error_has(lunet.tensor, {{{1, 2}, 3}}, "lunet.tensor", "ragged")
      assert_error_has(lunet.tensor, {{1, {2}}}, "lunet.tensor", "element 2 at level 1 is table, not a number")
      assert_error_has(lunet.tensor, {{{{1, 2}}, {{3, 4}, {5, 6}}}}, "ragged")
    end)

    it("rejects empty tables", function()
      assert_error_has(lunet.tensor, {{}}, "lunet.tensor: empty table at level 1")
      assert_error_has(lunet.tensor, {{{}}}, "lunet.tensor: empty table at level 2")
    end)

    it("rejects non-numbers", function()
      assert_error_has(lunet.tensor, {{1, "a"}}, "lunet.tensor: element 2 at level 1 is string, not a number")
      assert_error_has(lunet.tensor, {{{1, true}}}, "is boolean, not a number")
      assert_error_has(lunet.tensor, {"x"}, "lunet.tensor: argument 1 must be a table of numbers", "got string")
      assert_error_has(lunet.tensor, {n = 0}, "got no value")
    end)

    it("rejects more than 4 levels of nesting", function()
      assert_error_has(lunet.tensor, {{{{{{1}}}}}}, "lunet.tensor: more than 4 levels of nesting")
    end)
  end)

  describe("lunet.zeros() / ones() / full() / randn() / rand()", function()
    it("take sizes as arguments", function()
      local z = lunet.zeros(2, 3)
      assert.same({2, 3}, shape(z))
      assert.are.equal(0, z:sum())
      local o = lunet.ones(4)
      assert.same({4}, shape(o))
      assert_values({1, 1, 1, 1}, o)
      local f = lunet.full(7.5, 2, 1, 3)
      assert.same({2, 1, 3}, shape(f))
      assert_values({7.5, 7.5, 7.5, 7.5, 7.5, 7.5}, f)
      assert.same({1, 2, 3, 4}, shape(lunet.randn(1, 2, 3, 4)))
      assert.same({5, 2}, shape(lunet.rand(5, 2)))
    end)

    it("take sizes as one table", function()
      assert.same({2, 3}, shape(lunet.zeros{2, 3}))
      assert.same({3}, shape(lunet.ones{3}))
      assert.same({2, 2}, shape(lunet.full(-1, {2, 2})))
      assert_values({-1, -1, -1, -1}, lunet.full(-1, {2, 2}))
      assert.same({4, 1}, shape(lunet.randn{4, 1}))
      assert.same({1, 1, 1}, shape(lunet.rand{1, 1, 1}))
    end)

    it("reject a size of 0 or below", function()
      assert_error_has(lunet.zeros, {0}, "lunet.zeros: size 1 must be positive, got 0")
      assert_error_has(lunet.ones, {3, -2}, "lunet.ones: size 2 must be positive, got -2")
      assert_error_has(lunet.zeros, {{2, 0}}, "lunet.zeros: size 2 must be a positive integer")
      assert_error_has(lunet.randn, {-1}, "lunet.randn: size 1 must be positive")
    end)

    it("reject non-integer sizes", function()
      assert_error_has(lunet.zeros, {2.5}, "lunet.zeros: size 1 must be an integer, got 2.5")
      assert_error_has(lunet.rand, {2, {}}, "lunet.rand: size 2 must be an integer, got table")
      assert_error_has(lunet.zeros, {{1.5}}, "lunet.zeros: size 1 must be a positive integer")
      assert_error_has(lunet.zeros, {math.huge}, "lunet.zeros: size 1 must be an integer")
      assert_error_has(lunet.zeros, {0 / 0}, "lunet.zeros: size 1 must be an integer")
      assert_error_has(lunet.zeros, {2, nil, n = 2}, "size 2 must be an integer, got nil")
    end)

    it("reject no sizes or too many dimensions", function()
      assert_error_has(lunet.zeros, {}, "lunet.zeros: expected 1 to 4 sizes, got 0")
      assert_error_has(lunet.zeros, {{}}, "lunet.zeros: expected 1 to 4 sizes, got 0")
      assert_error_has(lunet.ones, {1, 2, 3, 4, 5}, "lunet.ones: expected 1 to 4 sizes, got 5")
      assert_error_has(lunet.randn, {{1, 1, 1, 1, 1}}, "lunet.randn: expected 1 to 4 sizes, got 5")
      assert_error_has(lunet.full, {1}, "lunet.full: expected 1 to 4 sizes, got 0")
    end)

    it("reject absurdly large sizes with an error, not a crash", function()
      assert_error_has(lunet.zeros, {2 ^ 41}, "lunet.zeros: size 1 is too large")
      assert_error_has(lunet.zeros, {math.maxinteger}, "lunet.zeros: size 1 is too large")
      assert_error_has(lunet.zeros, {2 ^ 30, 2 ^ 30}, "lunet.zeros: tensor too large")
      assert_error_has(lunet.ones, {2 ^ 20, 2 ^ 20, 2 ^ 20, 2 ^ 20}, "lunet.ones: tensor too large")
      assert_error_has(lunet.randn, {{2 ^ 30, 2 ^ 30}}, "lunet.randn: tensor too large")
      assert_error_has(lunet.zeros, {{2 ^ 41}}, "lunet.zeros: tensor too large")
    end)

    it("full() needs a number value", function()
      assert_error_has(lunet.full, {"x", 2}, "lunet.full: argument 1 (value) must be a number, got string")
    end)
  end)

  describe("lunet.is_tensor()", function()
    it("tells tensors from other values", function()
      assert.is_true(lunet.is_tensor(lunet.zeros(1)))
      assert.is_false(lunet.is_tensor({}))
      assert.is_false(lunet.is_tensor(1))
      assert.is_false(lunet.is_tensor(io.stdout))
    end)
  end)

  describe("shape() / dim() / numel() / size() / #", function()
    it("describe the tensor", function()
      local t = lunet.zeros(2, 3, 4)
      local a, b, c, d = t:shape()
      assert.are.same({2, 3, 4}, {a, b, c})
      assert.is_nil(d)
      assert.are.equal(3, t:dim())
      assert.are.equal(24, t:numel())
      assert.are.equal(2, #t)
      assert.are.same({2, 3, 4}, {t:size()})
      assert.are.equal(3, t:size(2))
      assert.are.equal(5, #lunet.zeros(5))
      assert.are.equal(1, lunet.zeros(5):dim())
      assert.is_true(math.type(t:numel()) == "integer")
    end)

    it("size(d) checks the dimension", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.size, {t, 3}, "Tensor:size: dimension 3 out of range for a 2-D tensor")
      assert_error_has(t.size, {t, 0}, "Tensor:size: dimension 0 out of range")
    end)

    it("methods check self", function()
      local t = lunet.zeros(2)
      assert_error_has(t.numel, {{}}, "Tensor:numel: self must be a lunet.Tensor, got table: call the method with ':'")
      assert_error_has(t.sum, {nil, n = 1}, "Tensor:sum: self must be a lunet.Tensor, got nil: call the method " ..
        "with ':' (obj:sum(...)), not '.'")
    end)
  end)

  describe("get() / set()", function()
    it("are 1-based, row-major", function()
      local t = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      assert.are.equal(1, t:get(1, 1))
      assert.are.equal(6, t:get(2, 3))
      assert.are.equal(4, t:get(2, 1))
      assert.is_nil(t:set(2, 1, -8))
      assert.are.equal(-8, t:get(2, 1))
      assert_values({1, 2, 3, -8, 5, 6}, t)
      local v = lunet.zeros(3)
      v:set(3, 0.5)
      assert.are.equal(0.5, v:get(3))
      local q = lunet.zeros(2, 2, 2, 2)
      q:set(2, 1, 2, 1, 9)
      assert.are.equal(9, q:get(2, 1, 2, 1))
      assert.are.equal(9, q:sum())
    end)

    it("raise on out-of-range indices, naming the shape", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.get, {t, 3, 1}, "Tensor:get: index 1 is 3, out of range 1..2 (shape 2x3)")
      assert_error_has(t.get, {t, 1, 0}, "Tensor:get: index 2 is 0, out of range 1..3 (shape 2x3)")
      assert_error_has(t.get, {t, 1, -1}, "(shape 2x3)")
      assert_error_has(t.set, {t, 1, 4, 0}, "Tensor:set: index 2 is 4, out of range 1..3 (shape 2x3)")
    end)

    it("raise on a wrong number of indices or bad values", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.get, {t, 1}, "Tensor:get: 1 indices given for a 2-D tensor of shape 2x3")
      assert_error_has(t.get, {t, 1, 1, 1}, "Tensor:get: 3 indices given")
      assert_error_has(t.get, {t, 1, 1.5}, "Tensor:get: index 2 must be an integer")
      assert_error_has(t.set, {t, 1, 1}, "Tensor:set: 1 indices given for a 2-D tensor")
      assert_error_has(t.set, {t, 1, 1, "x"}, "Tensor:set: expected indices then a number value, got string last")
      assert_error_has(t.set, {t, 1}, "Tensor:set: expected indices then a number value")
    end)
  end)

  describe("totable()", function()
    it("round-trips nested tables of 1 to 4 levels", function()
      local cases = {
        {1, -2, 3.5},
        {{1, 2}, {3, 4}, {5, 6}},
        {{{1, 2, 3}}, {{4, 5, 6}}},
        {{{{1}, {2}}, {{3}, {4}}}, {{{5}, {6}}, {{7}, {8}}}},
      }
      for _, c in ipairs(cases) do
        assert.are.same(c, lunet.tensor(c):totable())
      end
    end)
  end)

  describe("clone()", function()
    it("copies values into independent storage", function()
      local a = lunet.tensor{{1, 2}, {3, 4}}
      local b = a:clone()
      assert.are.same(a:totable(), b:totable())
      b:set(1, 2, 20)
      a:set(2, 1, 30)
      assert.are.same({{1, 2}, {30, 4}}, a:totable())
      assert.are.same({{1, 20}, {3, 4}}, b:totable())
    end)

    it("of a view copies only the view", function()
      local a = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
      local c = a:rows(2, 3):clone()
      assert.are.same({{3, 4}, {5, 6}}, c:totable())
      c:fill_(0)
      assert.are.same({{1, 2}, {3, 4}, {5, 6}}, a:totable())
    end)
  end)

  describe("reshape()", function()
    it("returns a view that shares data", function()
      local t = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local r = t:reshape(3, 2)
      assert.same({3, 2}, shape(r))
      assert.are.same({{1, 2}, {3, 4}, {5, 6}}, r:totable())
      r:set(3, 1, 50)
      assert.are.equal(50, t:get(2, 2))
      t:set(1, 1, -1)
      assert.are.equal(-1, r:get(1, 1))
      assert.same({2, 3}, shape(t)) -- the original keeps its shape
    end)

    it("takes sizes as one table, and view() is an alias", function()
      local t = lunet.zeros(2, 3)
      assert.same({6}, shape(t:reshape{6}))
      assert.same({1, 6, 1}, shape(t:view(1, 6, 1)))
    end)

    it("infers one -1 size", function()
      local t = lunet.zeros(2, 3, 4)
      assert.same({24}, shape(t:reshape(-1)))
      assert.same({6, 4}, shape(t:reshape(-1, 4)))
      assert.same({2, 12}, shape(t:reshape(2, -1)))
      assert.same({3, 2, 4}, shape(t:reshape{3, -1, 4}))
    end)

    it("raises on element-count mismatches, naming both shapes", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.reshape, {t, 4}, "Tensor:reshape: cannot reshape 2x3 (6 elements) to 4 (4 elements)")
      assert_error_has(t.reshape, {t, 2, 2, 2}, "cannot reshape 2x3 (6 elements) to 2x2x2 (8 elements)")
      assert_error_has(t.reshape, {t, 4, -1},
                       "Tensor:reshape: cannot infer size 2: 6 elements (shape 2x3) not divisible by 4")
    end)

    it("raises on bad sizes", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.reshape, {t, -1, -1}, "Tensor:reshape: size 2 must be positive (or one -1), got -1")
      assert_error_has(t.reshape, {t, 0, 6}, "Tensor:reshape: size 1 must be positive")
      assert_error_has(t.reshape, {t, -2}, "size 1 must be positive")
      assert_error_has(t.reshape, {t, 1.5}, "Tensor:reshape: size 1 must be an integer")
      assert_error_has(t.reshape, {t}, "Tensor:reshape: expected 1 to 4 sizes, got 0")
      assert_error_has(t.reshape, {t, 1, 1, 1, 2, 3}, "Tensor:reshape: expected 1 to 4 sizes, got 5")
      assert_error_has(t.reshape, {t, {2, 3, 1, 1, 1}}, "Tensor:reshape: expected 1 to 4 sizes, got 5")
    end)

    it("raises (no crash) when sizes overflow", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.reshape, {t, 2 ^ 32, 2 ^ 32, -1}, "Tensor:reshape: sizes too large")
      assert_error_has(t.reshape, {t, 2 ^ 32, 2 ^ 32}, "Tensor:reshape: sizes too large")
      assert_error_has(t.reshape, {t, 2 ^ 41}, "Tensor:reshape: size 1 must be positive")
    end)
  end)

  describe("rows()", function()
    it("returns a view of a row range that shares data", function()
      local t = lunet.tensor{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
      local v = t:rows(2, 3)
      assert.same({2, 2}, shape(v))
      assert.are.same({{3, 4}, {5, 6}}, v:totable())
      v:set(1, 1, 30)
      assert.are.equal(30, t:get(2, 1))
      t:set(3, 2, 60)
      assert.are.equal(60, v:get(2, 2))
      v:mul_(10)
      assert.are.same({{1, 2}, {300, 40}, {50, 600}, {7, 8}}, t:totable())
    end)

    it("defaults last to the last row and works on 1-D and 3-D tensors", function()
      local t = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
      assert.are.same({{3, 4}, {5, 6}}, t:rows(2):totable())
      assert.are.same({{5, 6}}, t:rows(3, 3):totable())
      assert.are.same({20, 30}, lunet.tensor{10, 20, 30}:rows(2, 3):totable())
      local c = lunet.tensor{{{1, 2}}, {{3, 4}}, {{5, 6}}}
      assert.are.same({{{3, 4}}}, c:rows(2, 2):totable())
    end)

    it("keeps the parent's data alive after the parent is collected", function()
      local v, r, row
      do
        local parent = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
        v = parent:rows(2, 3)
        r = parent:reshape(-1)
        row = parent[3]
      end
      collectgarbage(); collectgarbage()
      local junk = {}
      for i = 1, 200 do junk[i] = lunet.full(i, 3, 2) end -- reuse freed memory if any
      assert.equal(200, #junk)
      collectgarbage()
      assert.are.same({{3, 4}, {5, 6}}, v:totable())
      assert.are.same({1, 2, 3, 4, 5, 6}, r:totable())
      assert.are.same({5, 6}, row:totable())
      v:set(1, 1, 33)
      assert.are.equal(33, r[3]) -- the views still share one storage
    end)

    it("raises on bad ranges, naming the shape", function()
      local t = lunet.zeros(3, 2)
      assert_error_has(t.rows, {t, 0, 1}, "Tensor:rows: range 0..1 is out of 1..3 (shape 3x2)")
      assert_error_has(t.rows, {t, 2, 4}, "Tensor:rows: range 2..4 is out of 1..3 (shape 3x2)")
      assert_error_has(t.rows, {t, 3, 2}, "Tensor:rows: range 3..2 is out of 1..3")
      assert_error_has(t.rows, {t, 4}, "Tensor:rows: range 4..3")
      assert_error_has(t.rows, {t, "a"}, "number expected")
    end)
  end)

  describe("index()", function()
    it("gathers rows by a table of row numbers (a copy)", function()
      local t = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
      local g = t:index{3, 1, 3}
      assert.are.same({{5, 6}, {1, 2}, {5, 6}}, g:totable())
      g:set(1, 1, 0)
      assert.are.equal(5, t:get(3, 1))
    end)

    it("gathers rows by a tensor of row numbers", function()
      local t = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
      assert.are.same({{3, 4}, {1, 2}}, t:index(lunet.tensor{2, 1}):totable())
      assert.are.same({30, 10}, lunet.tensor{10, 20, 30}:index(lunet.tensor{3, 1}):totable())
      local c = lunet.tensor{{{1, 2}}, {{3, 4}}}
      assert.are.same({{{3, 4}}}, c:index{2}:totable())
    end)

    it("raises on bad row numbers, naming the shape", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.index, {t, {1, 3}}, "Tensor:index: entry 2 is 3, not a row number in 1..2 (shape 2x3)")
      assert_error_has(t.index, {t, {0}}, "Tensor:index: entry 1 is 0, not a row number in 1..2")
      assert_error_has(t.index, {t, {1.5}}, "Tensor:index: entry 1 is 1.5, not a row number")
      assert_error_has(t.index, {t, lunet.tensor{2, 5}}, "Tensor:index: entry 2 is 5")
      assert_error_has(t.index, {t, {"a"}}, "Tensor:index: entry 1 is not a number")
      assert_error_has(t.index, {t, {}}, "Tensor:index: no row numbers given")
      assert_error_has(t.index, {t, "x"},
                       "Tensor:index: argument 1 must be a table or tensor of row numbers, got string")
    end)
  end)

  describe("t[i] and t[i] = v", function()
    it("reads a number from a 1-D tensor", function()
      local t = lunet.tensor{10, 20, 30}
      assert.are.equal(20, t[2])
      assert.are.equal("number", type(t[3]))
    end)

    it("reads a row view from a 2-D tensor", function()
      local t = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local r = t[2]
      assert.same({3}, shape(r))
      assert.are.same({4, 5, 6}, r:totable())
      r:set(1, 40)
      assert.are.equal(40, t:get(2, 1))
      assert.are.equal(5, t[2][2])
      local c = lunet.zeros(2, 3, 4)
      assert.same({3, 4}, shape(c[2]))
    end)

    it("assigns a number in a 1-D tensor", function()
      local t = lunet.zeros(3)
      t[2] = 7
      assert.are.same({0, 7, 0}, t:totable())
    end)

    it("assigns a row from a number or a tensor", function()
      local t = lunet.zeros(2, 3)
      t[1] = 5
      t[2] = lunet.tensor{1, 2, 3}
      assert.are.same({{5, 5, 5}, {1, 2, 3}}, t:totable())
      t[1] = lunet.tensor{{7, 8, 9}} -- same number of elements
      assert.are.same({7, 8, 9}, t[1]:totable())
    end)

    it("raises on out-of-range indices and bad values", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(function() return t[3] end, {}, "Tensor: index 3 out of range 1..2 (shape 2x3)")
      assert_error_has(function() return t[0] end, {}, "Tensor: index 0 out of range 1..2 (shape 2x3)")
      assert_error_has(function() t[3] = 1 end, {}, "Tensor: index 3 out of range 1..2 (shape 2x3)")
      assert_error_has(function() t[1] = lunet.zeros(4) end, {},
                       "Tensor: assigning 4 to a slice of 3 elements of a tensor of shape 2x3")
      assert_error_has(function() t[1] = "x" end, {}, "Tensor: assigning string to a slice of 3 elements")
      assert_error_has(function() t.foo = 1 end, {}, "Tensor: cannot set field 'foo'")
    end)

    it("gives nil for unknown fields", function()
      local t = lunet.zeros(2)
      assert.is_nil(t.nonexistent)
      assert.is_nil(t[1.5])
    end)
  end)

  describe("arithmetic", function()
    local a, b
    before_each(function()
      a = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      b = lunet.tensor{{2, 4, 8}, {-1, 0.5, 3}}
    end)

    it("combines with numbers on either side", function()
      assert_values({{3, 4, 5}, {6, 7, 8}}, a + 2)
      assert_values({{3, 4, 5}, {6, 7, 8}}, 2 + a)
      assert_values({{-1, 0, 1}, {2, 3, 4}}, a - 2)
      assert_values({{1, 0, -1}, {-2, -3, -4}}, 2 - a)
      assert_values({{2, 4, 6}, {8, 10, 12}}, a * 2)
      assert_values({{2, 4, 6}, {8, 10, 12}}, 2 * a)
      assert_values({{0.5, 1, 1.5}, {2, 2.5, 3}}, a / 2)
      assert_values({{6, 3, 2}, {1.5, 1.2, 1}}, 6 / a)
      assert_values({{1, 2, 3}, {4, 5, 6}}, a) -- operands untouched
    end)

    it("combines same-shape tensors element-wise", function()
      assert_values({{3, 6, 11}, {3, 5.5, 9}}, a + b)
      assert_values({{-1, -2, -5}, {5, 4.5, 3}}, a - b)
      assert_values({{2, 8, 24}, {-4, 2.5, 18}}, a * b)
      assert_values({{0.5, 0.5, 0.375}, {-4, 10, 2}}, a / b)
      local r = a + b
      assert.are_not.equal(a, r)
      assert.same({2, 3}, shape(r))
    end)

    it("broadcasts a 1xN row over the rows, in both orders", function()
      local row = lunet.tensor{{10, 20, 30}}
      assert_values({{11, 22, 33}, {14, 25, 36}}, a + row)
      assert_values({{11, 22, 33}, {14, 25, 36}}, row + a)
      assert_values({{-9, -18, -27}, {-6, -15, -24}}, a - row)
      assert_values({{9, 18, 27}, {6, 15, 24}}, row - a)
      assert_values({{10, 40, 90}, {40, 100, 180}}, a * row)
      assert_values({{10, 10, 10}, {2.5, 4, 5}}, row / a)
      assert_values({{0.1, 0.1, 0.1}, {0.4, 0.25, 0.2}}, a / row)
      assert.same({2, 3}, shape(row + a))
    end)

    it("broadcasts a 1-D N-vector over the rows, in both orders", function()
      local v = lunet.tensor{10, 20, 30}
      assert_values({{11, 22, 33}, {14, 25, 36}}, a + v)
      assert_values({{11, 22, 33}, {14, 25, 36}}, v + a)
      assert_values({{9, 18, 27}, {6, 15, 24}}, v - a)
      assert_values({{10, 10, 10}, {2.5, 4, 5}}, v / a)
      assert.same({2, 3}, shape(v * a))
    end)

    it("negates with unary minus", function()
      local n = -a
      assert_values({{-1, -2, -3}, {-4, -5, -6}}, n)
      assert_values({{1, 2, 3}, {4, 5, 6}}, a)
    end)

    it("raises on shape mismatches, naming both shapes", function()
      assert_error_has(function() return a + lunet.zeros(3, 2) end, {},
                       "Tensor +: shapes 2x3 and 3x2 do not broadcast (last dimensions 3 and 2")
      assert_error_has(function() return a - lunet.zeros(1, 4) end, {}, "Tensor -: shapes 2x3 and 1x4 do not broadcast")
      assert_error_has(function() return lunet.zeros(2) * a end, {}, "Tensor *: shapes 2 and 2x3 do not " ..
        "broadcast")
      -- a column stretches
      assert.are.same({ { 1, 2, 3 }, { 2, 2.5, 3 } }, (a / lunet.tensor { { 1 }, { 2 } }):totable())
      assert_error_has(function() return lunet.zeros(6) + a end, {}, "shapes 6 and 2x3")
      assert_error_has(function() return lunet.zeros(2, 3, 1) + a end, {}, "shapes 2x3x1 and 2x3")
    end)

    it("raises on non-numbers", function()
      assert_error_has(function() return a + "1" end, {}, "Tensor +: cannot combine lunet.Tensor with string")
      assert_error_has(function() return {} * a end, {}, "Tensor *: cannot combine table with lunet.Tensor")
      assert_error_has(function() return a - nil end, {}, "cannot combine lunet.Tensor with nil")
    end)
  end)

  describe("in-place add_() / sub_() / mul_() / div_() / fill_() / copy_()", function()
    it("return self and modify in place", function()
      local t = lunet.tensor{{1, 2}, {3, 4}}
      assert.are.equal(t, t:add_(1))
      assert_values({{2, 3}, {4, 5}}, t)
      assert.are.equal(t, t:sub_(lunet.tensor{{1, 1}, {1, 2}}))
      assert_values({{1, 2}, {3, 3}}, t)
      assert.are.equal(t, t:mul_(lunet.tensor{{2, 3}}))
      assert_values({{2, 6}, {6, 9}}, t)
      assert.are.equal(t, t:div_(lunet.tensor{2, 3}))
      assert_values({{1, 2}, {3, 3}}, t)
      assert.are.equal(t, t:div_(2))
      assert_values({{0.5, 1}, {1.5, 1.5}}, t)
      assert.are.equal(t, t:fill_(-3))
      assert_values({{-3, -3}, {-3, -3}}, t)
      assert.are.equal(t, t:copy_(lunet.tensor{1, 2, 3, 4}))
      assert_values({{1, 2}, {3, 4}}, t)
      assert.are.equal(t, t:mul_(t))
      assert_values({{1, 4}, {9, 16}}, t)
    end)

    it("modify the parent through a view", function()
      local t = lunet.zeros(3, 2)
      t:rows(2, 3):add_(5)
      t[1]:fill_(1)
      assert.are.same({{1, 1}, {5, 5}, {5, 5}}, t:totable())
    end)

    it("read an argument that is a view into self as it was before the call", function()
      local t = lunet.tensor{{1, 2}, {3, 4}}
      t:sub_(t[1]) -- subtract the first row from every row
      assert.are.same({{0, 0}, {2, 2}}, t:totable())
      local u = lunet.tensor{{1, 2}, {3, 4}, {5, 6}}
      u:rows(2, 3):add_(u:rows(1, 2)) -- overlapping row ranges
      assert.are.same({{1, 2}, {4, 6}, {8, 10}}, u:totable())
      local w = lunet.tensor{{1, 2}, {3, 4}}
      w:div_(w:rows(1, 1))
      assert.are.same({{1, 1}, {3, 2}}, w:totable())
    end)

    it("raise on mismatched shapes and bad arguments", function()
      local t = lunet.zeros(2, 3)
      assert_error_has(t.add_, {t, lunet.zeros(3, 2)}, "Tensor:add_: shapes 2x3 and 3x2 do not broadcast")
      assert_error_has(t.sub_, {t, lunet.zeros(1, 2)}, "Tensor:sub_: shapes 2x3 and 1x2 do not broadcast")
      assert_error_has(t.mul_, {t, "x"}, "Tensor:mul_: argument 1 must be a number or tensor, got string")
      assert_error_has(t.div_, {t}, "Tensor:div_: argument 1 must be a number or tensor, got no value")
      assert_error_has(t.fill_, {t, "x"}, "number expected")
      assert_error_has(t.copy_, {t, lunet.zeros(5)},
                       "Tensor:copy_: shapes 2x3 and 5 hold different numbers of elements")
      assert_error_has(t.copy_, {t, 1}, "lunet.Tensor expected, got number")
    end)
  end)

  describe("exp() / log() / abs() / sqrt() / clamp()", function()
    it("compute element-wise copies", function()
      local t = lunet.tensor{0, 1, -2, 4}
      assert_values({1, math.exp(1), math.exp(-2), math.exp(4)}, t:exp(), 1e-4)
      assert_values({0, 1, 2, 4}, t:abs())
      assert_values({0, 1, 2}, lunet.tensor{1, math.exp(1), math.exp(2)}:log(), 1e-6)
      assert_values({0, 1, 3, 0.5}, lunet.tensor{0, 1, 9, 0.25}:sqrt())
      assert_values({0, 1, -2, 4}, t) -- source untouched
      local l = lunet.tensor{0}:log()
      assert.are.equal(-math.huge, l[1])
    end)

    it("clamp() bounds values, either bound optional", function()
      local t = lunet.tensor{-5, -1, 0, 2, 9}
      assert_values({-1, -1, 0, 2, 3}, t:clamp(-1, 3))
      assert_values({0, 0, 0, 2, 9}, t:clamp(0))
      assert_values({-5, -1, 0, 1, 1}, t:clamp(nil, 1))
      assert_values({1e-7, 1e-7, 1e-7, 2, 9}, t:clamp(1e-7, 1 - 1e-7 + 8), 1e-12)
      assert_error_has(t.clamp, {t, 2, 1}, "Tensor:clamp: lower bound 2 is above upper bound 1")
    end)
  end)

  describe("eq()", function()
    it("compares with a number or a tensor", function()
      local t = lunet.tensor{{1, 2}, {2, 3}}
      assert.are.same({{0, 1}, {1, 0}}, t:eq(2):totable())
      assert.are.same({{1, 0}, {1, 1}}, t:eq(lunet.tensor{{1, 0}, {2, 3}}):totable())
      assert_error_has(t.eq, {t, lunet.zeros(3)}, "Tensor:eq: shapes 2x2 and 3 do not broadcast")
      assert_error_has(t.eq, {t, "a"}, "Tensor:eq: argument 1 must be a number or tensor, got string")
    end)
  end)

  describe("sum() / mean() / std() / min() / max()", function()
    it("reduce to numbers", function()
      local t = lunet.tensor{{1, 2}, {3, 4}}
      assert.are.equal(10, t:sum())
      assert.are.equal(2.5, t:mean())
      assert.is_near(math.sqrt(1.25), t:std(), 1e-12) -- population std (divide by n)
      assert.are.equal(1, t:min())
      assert.are.equal(4, t:max())
      local u = lunet.tensor{-3, 7, 0.5}
      assert.are.equal(-3, u:min())
      assert.are.equal(7, u:max())
      assert.are.equal(0, lunet.full(5, 3):std())
      assert.are.equal(0, lunet.tensor{42}:std())
    end)

    it("accumulate in double precision", function()
      local t = lunet.full(0.1, 1000, 1000)
      assert.is_near(1e6 * string.unpack("<f", string.pack("<f", 0.1)), t:sum(), 1e-3)
      assert.is_near(0.1, t:mean(), 1e-7)
    end)
  end)

  describe("argmax()", function()
    it("gives 1-based columns per row of a 2-D tensor, first of ties", function()
      local t = lunet.tensor{{1, 3, 3}, {5, 2, 5}, {0, 0, -1}, {-4, -3, -2}}
      local a = t:argmax()
      assert.same({4}, shape(a))
      assert.are.same({2, 1, 1, 3}, a:totable())
    end)

    it("gives the 1-based position for a 1-D tensor", function()
      assert.are.equal(2, lunet.tensor{3, 7, 7, 1}:argmax())
      assert.are.equal(1, lunet.tensor{9}:argmax())
      assert.are.equal(4, lunet.tensor{-3, -7, -7, -1}:argmax())
    end)

    it("raises beyond 2-D", function()
      local t = lunet.zeros(2, 2, 2)
      assert_error_has(t.argmax, {t}, "Tensor:argmax: without dim, expected a 1-D or 2-D tensor, got shape 2x2x2")
    end)
  end)

  describe("t()", function()
    it("transposes a 2-D tensor into a copy", function()
      local t = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
      local tt = t:t()
      assert.same({3, 2}, shape(tt))
      assert.are.same({{1, 4}, {2, 5}, {3, 6}}, tt:totable())
      tt:set(1, 1, 0)
      assert.are.equal(1, t:get(1, 1))
      assert_error_has(t.t, {lunet.zeros(3)}, "Tensor:t: expected a 2-D tensor, got shape 3")
    end)
  end)

  describe("lunet.dot()", function()
    it("multiplies matrices (hand values)", function()
      local a = lunet.tensor{{1, 2}, {3, 4}}
      local b = lunet.tensor{{5, 6}, {7, 8}}
      assert.are.same({{19, 22}, {43, 50}}, lunet.dot(a, b):totable())
      assert.are.same({{19, 22}, {43, 50}}, a:dot(b):totable())
      local r = lunet.dot(lunet.tensor{{1, 2, 3}}, lunet.tensor{{1}, {0}, {-1}})
      assert.same({1, 1}, shape(r))
      assert.are.equal(-2, r:get(1, 1))
    end)

    it("matches a naive triple loop on random 7x13 @ 13x5", function()
      lunet.seed(7)
      local a, b = lunet.randn(7, 13), lunet.randn(13, 5)
      local c = lunet.dot(a, b)
      assert.same({7, 5}, shape(c))
      for i = 1, 7 do
        for j = 1, 5 do
          local s = 0
          for k = 1, 13 do s = s + a:get(i, k) * b:get(k, j) end
          assert.is_near(s, c:get(i, j), 1e-4)
        end
      end
    end)

    it("matches a naive loop on every tile edge of the blocked kernels", function()
      -- rows around the tile heights (6 and 14), columns around the tile
      -- widths (16, 32, 64), depths around the packed block (128)
      lunet.seed(11)
      for _, m in ipairs{1, 5, 6, 7, 14, 15} do
        for _, n in ipairs{10, 16, 31, 32, 33, 64, 65, 130} do
          for _, k in ipairs{1, 3, 129, 257} do
            local a, b = lunet.randn(m, k), lunet.randn(k, n)
            local c, at, bt = lunet.dot(a, b), a:totable(), b:totable()
            local worst = 0
            for i = 1, m do
              local ai, ci = at[i], c:rows(i, i):totable()
              for j = 1, n do
                local sum = 0
                for q = 1, k do sum = sum + ai[q] * bt[q][j] end
                worst = math.max(worst, math.abs(sum - ci[1][j]) / (1 + math.abs(sum)))
              end
            end
            assert.is_true(worst < 1e-5, ("%dx%d @ %dx%d: relative error %g"):format(m, k, k, n, worst))
          end
        end
      end
    end)

    it("raises on shapes that do not multiply, naming both", function()
      assert_error_has(lunet.dot, {lunet.zeros(2, 3), lunet.zeros(2, 3)},
                       "lunet.dot: shapes 2x3 and 2x3 do not multiply")
      assert_error_has(lunet.dot, {lunet.zeros(3), lunet.zeros(3, 1)}, "lunet.dot: shapes 3 and 3x1")
      assert_error_has(lunet.dot, {lunet.zeros(2, 2), {}}, "lunet.Tensor expected, got table")
    end)
  end)

  describe("tostring()", function()
    it("prints values then the size, Torch-style", function()
      assert.are.equal(" 1.5000 2.0000 3.0000\n 4.0000 5.0000 6.0000\n[lunet.Tensor of size 2x3]",
                       tostring(lunet.tensor{{1.5, 2, 3}, {4, 5, 6}}))
    end)

    it("prints integer tensors without decimals, right-aligned", function()
      assert.are.equal(" 1 2 3\n 4 5 6\n[lunet.Tensor of size 2x3]", tostring(lunet.tensor{{1, 2, 3}, {4, 5, 6}}))
      assert.are.equal("  -1\n  10\n 100\n[lunet.Tensor of size 3]", tostring(lunet.tensor{-1, 10, 100}))
    end)

    it("uses scientific notation for very small or large values", function()
      assert.are.equal(" 1.0000e-07\n 1.0000e+00\n[lunet.Tensor of size 2]", tostring(lunet.tensor{1e-7, 1}))
      assert.is_truthy(tostring(lunet.tensor{1.5e10, 1}):find("1.5000e+10", 1, true))
    end)

    it("prints nan and inf", function()
      local s = tostring(lunet.tensor{0 / 0, 1 / 0, -1 / 0, 1})
      assert.are.equal("  nan\n  inf\n -inf\n    1\n[lunet.Tensor of size 4]", s)
    end)

    it("aligns columns to the widest value, no wider", function()
      lunet.seed(11)
      local cases = {
        lunet.randn(6, 5) * 1000,
        lunet.randn(6, 5) * 1e-6,
        lunet.tensor{{-0.0, 0, 1}, {2, 3, 4}},
        lunet.tensor{{0 / 0, 2.5, -1 / 0}, {1 / 0, -3.25, 1}},
        lunet.tensor{{-123456, 1, 2}, {3, 4, 5}},
        lunet.tensor{{1e-30, 1, 2}, {3, -4, 5}},
        lunet.rand(8, 3),
      }
      for _, t in ipairs(cases) do
        local s = tostring(t)
        local lines = {}
        for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
        table.remove(lines) -- the size line
        local w = nil
        local tightest = math.huge
        for _, line in ipairs(lines) do
          assert.are.equal(w or #line, #line, s)
          w = #line
          for pad, num in line:gmatch("( +)(%S+)") do
            assert.is_truthy(tonumber(num) or num == "nan" or num == "inf" or num == "-inf", s)
            if #pad < tightest then tightest = #pad end
          end
        end
        assert.are.equal(1, tightest, s)
      end
    end)

    it("prints a 60000x784 tensor quickly and abbreviated", function()
      local s = tostring(lunet.zeros(60000, 784))
      local _, lines = s:gsub("\n", "")
      assert.are.equal(7, lines)
      assert.is_truthy(s:find("[lunet.Tensor of size 60000x784]", 1, true))
    end)

    it("abbreviates large tensors with ...", function()
      local s = tostring(lunet.zeros(40, 50))
      assert.are.equal(table.concat({
        " 0 0 0 ... 0 0 0", " 0 0 0 ... 0 0 0", " 0 0 0 ... 0 0 0", " ...",
        " 0 0 0 ... 0 0 0", " 0 0 0 ... 0 0 0", " 0 0 0 ... 0 0 0",
        "[lunet.Tensor of size 40x50]"}, "\n"), s)
      local v = tostring(lunet.ones(2000))
      assert.are.equal(" 1\n 1\n 1\n ...\n 1\n 1\n 1\n[lunet.Tensor of size 2000]", v)
      -- small tensors are printed in full
      local full = tostring(lunet.zeros(10, 10))
      assert.is_nil(full:find("...", 1, true))
      local _, lines = full:gsub("\n", "")
      assert.are.equal(10, lines)
    end)

    it("prints 3-D tensors as (i,.,.) slices", function()
      local t = lunet.tensor{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}
      assert.are.equal("(1,.,.) = \n 1 2\n 3 4\n\n(2,.,.) = \n 5 6\n 7 8\n\n[lunet.Tensor of size 2x2x2]",
                       tostring(t))
      local big = tostring(lunet.zeros(10, 20, 20))
      assert.is_truthy(big:find("(3,.,.) = ", 1, true))
      assert.is_truthy(big:find("(8,.,.) = ", 1, true))
      assert.is_nil(big:find("(4,.,.)", 1, true))
      assert.is_truthy(big:find("...\n\n(8,.,.)", 1, true))
      assert.is_truthy(big:find("[lunet.Tensor of size 10x20x20]", 1, true))
    end)

    it("prints 4-D tensors as (i,j,.,.) slices", function()
      local s = tostring(lunet.ones(2, 3, 1, 2))
      assert.is_truthy(s:find("(1,1,.,.) = \n 1 1\n", 1, true))
      assert.is_truthy(s:find("(2,3,.,.) = \n 1 1\n", 1, true))
      assert.are.equal("\n[lunet.Tensor of size 2x3x1x2]", s:sub(-31))
    end)
  end)

  describe("memory", function()
    it("lets the GC see tensor sizes: 100 tensors of 10 MB stay bounded", function()
      collectgarbage()
      -- Lua 5.4.4 may keep the pause threshold of an earlier big heap after a
      -- full collection; one large step starts a fresh cycle with a fresh one
      collectgarbage("step", 1 << 20)
      local base = collectgarbage("count") -- KB
      local peak = base
      local alive = setmetatable({}, { __mode = "v" })
      for i = 1, 100 do
        local t = lunet.zeros(2500000) -- 10 MB of float32
        t[1] = i
        alive[i] = t
        local now = collectgarbage("count")
        if now > peak then peak = now end
      end
      local n = 0
      for _ in pairs(alive) do n = n + 1 end
      -- without the GC knowing the sizes, all 100 (1 GB) would still be here
      assert.is_true(n < 20, ("%d of 100 tensors not yet collected"):format(n))
      assert.is_true(peak - base < 100 * 1024, ("peak grew by %.0f MB"):format((peak - base) / 1024))
      collectgarbage()
      assert.is_true(collectgarbage("count") - base < 20 * 1024)
    end)
  end)
end)
