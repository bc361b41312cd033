-- spec/rng_spec.lua: lunet.seed and the generator behind randn/rand
-- (src/kernels/rng.c: xoshiro256** seeded by splitmix64, Box-Muller).
local lunet = require "lunet"

-- the values of a 1-D tensor as a Lua table
local function values(t) return t:totable() end

describe("lunet.seed()", function()
  describe("reproducibility", function()
    it("gives the same randn and rand sequences for the same seed", function()
      lunet.seed(123)
      local a1, b1 = values(lunet.randn(50)), values(lunet.rand(50))
      lunet.seed(123)
      local a2, b2 = values(lunet.randn(50)), values(lunet.rand(50))
      assert.are.same(a1, a2)
      assert.are.same(b1, b2)
    end)

    it("gives different sequences for different seeds", function()
      lunet.seed(1)
      local a = values(lunet.randn(20))
      lunet.seed(2)
      local b = values(lunet.randn(20))
      assert.are_not.same(a, b)
      lunet.seed(1)
      local u = values(lunet.rand(20))
      lunet.seed(2)
      local v = values(lunet.rand(20))
      assert.are_not.same(u, v)
    end)

    it("continues one stream across calls (randn(3) then randn(1) = randn(4))", function()
      lunet.seed(9)
      local whole = values(lunet.randn(4))
      lunet.seed(9)
      local p, q = values(lunet.randn(3)), values(lunet.randn(1))
      assert.are.same(whole, {p[1], p[2], p[3], q[1]})
    end)

    it("resets a pending Box-Muller value when reseeding", function()
      lunet.seed(5)
      local first = lunet.randn(1)[1]
      lunet.randn(1) -- leaves nothing pending; now draw an odd count
      lunet.randn(1)
      lunet.seed(5)
      assert.are.equal(first, lunet.randn(1)[1])
    end)

    it("accepts negative and large seeds", function()
      lunet.seed(-1)
      local a = values(lunet.rand(3))
      lunet.seed(-1)
      assert.are.same(a, values(lunet.rand(3)))
      lunet.seed(math.maxinteger)
      assert.are.equal(3, #lunet.rand(3))
    end)

    it("requires an integer seed", function()
      local ok, e = pcall(lunet.seed, "x")
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find("number expected", 1, true))
      ok, e = pcall(lunet.seed, 1.5)
      assert.is_false(ok)
      assert.is_truthy(tostring(e):find("number has no integer representation", 1, true))
    end)
  end)

  describe("known values (pinned across machines)", function()
    -- computed independently by spec/rng_reference.py (/usr/bin/python3)
    it("randn(4) after seed(42)", function()
      lunet.seed(42)
      local t = values(lunet.randn(4))
      local want = {-0.303263068, 0.288461745, 1.34381175, -0.687975168}
      for i = 1, 4 do assert.is_near(want[i], t[i], 1e-6) end
    end)

    it("rand(4) after seed(42)", function()
      lunet.seed(42)
      local t = values(lunet.rand(4))
      local want = {0.0838629678, 0.378980249, 0.680043399, 0.924692929}
      for i = 1, 4 do assert.is_near(want[i], t[i], 1e-6) end
    end)

    it("randn(4) after seed(0)", function()
      lunet.seed(0)
      local t = values(lunet.randn(4))
      local want = {-0.018964991, -1.35593021, -0.403721094, 0.233350977}
      for i = 1, 4 do assert.is_near(want[i], t[i], 1e-6) end
    end)
  end)

  describe("distributions", function()
    it("randn has mean ~0 and std ~1 over 100k samples", function()
      lunet.seed(2024)
      local t = lunet.randn(100000)
      assert.is_near(0, t:mean(), 0.02)
      assert.is_near(1, t:std(), 0.02)
      assert.is_true(t:min() < -3 and t:max() > 3) -- has tails
      assert.is_true(t:min() > -7 and t:max() < 7)
    end)

    it("randn(n, m) fills every element", function()
      lunet.seed(3)
      local t = lunet.randn(300, 7)
      assert.are.equal(0, t:eq(0):sum())
      assert.is_near(0, t:mean(), 0.05)
    end)

    it("rand is in [0, 1) with mean ~0.5 over 100k samples", function()
      lunet.seed(77)
      local t = lunet.rand(100000)
      assert.is_true(t:min() >= 0)
      assert.is_true(t:max() < 1)
      assert.is_near(0.5, t:mean(), 0.01)
      assert.is_near(math.sqrt(1 / 12), t:std(), 0.01)
      -- roughly uniform: each tenth of [0, 1) holds about 10%
      local counts = {}
      for i = 0, 9 do counts[i] = 0 end
      local flat = t:totable()
      for i = 1, #flat do
        local b = math.floor(flat[i] * 10)
        counts[b] = counts[b] + 1
      end
      for i = 0, 9 do assert.is_near(10000, counts[i], 600) end
    end)
  end)
end)
