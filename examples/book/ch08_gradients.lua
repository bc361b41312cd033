-- Chapter 8, "Gradients, Partial Derivatives, and the Chain Rule": the
-- partial derivatives of a sum, a product and max, and the chain rule, each
-- checked against central differences.
-- Run: lua5.4 examples/book/ch08_gradients.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"

local h = 1e-6
local function partial(f, args, i)
  local a, b = { table.unpack(args) }, { table.unpack(args) }
  a[i] = a[i] + h; b[i] = b[i] - h
  return (f(table.unpack(a)) - f(table.unpack(b))) / (2 * h)
end

-- f(x, y, z) = 3x^3z - y^2 + 5z + 2yz: df/dx = 9x^2z, df/dy = -2y + 2z, df/dz = 3x^3 + 5 + 2y
local function fxyz(x, y, z) return 3 * x ^ 3 * z - y ^ 2 + 5 * z + 2 * y * z end
local p = { 1.5, -2, 0.5 }
local grad = { 9 * p[1] ^ 2 * p[3], -2 * p[2] + 2 * p[3], 3 * p[1] ^ 3 + 5 + 2 * p[2] }
for i = 1, 3 do
  local num = partial(fxyz, p, i)
  print(string.format("df/d%s = %.6f (numerically %.6f)", ({ "x", "y", "z" })[i], grad[i], num))
  check.close("partial " .. i, num, grad[i], 1e-5)
end
-- the partial derivatives of a sum are 1, of a product the other factor, of max 1 for the larger
check.close("d(x + y)/dx", partial(function(x, y) return x + y end, { 2, 3 }, 1), 1, 1e-6)
check.close("d(x * y)/dx", partial(function(x, y) return x * y end, { 2, 3 }, 1), 3, 1e-6)
check.close("d max(x, y)/dx, x larger", partial(math.max, { 4, 3 }, 1), 1, 1e-6)
check.close("d max(x, y)/dx, x smaller", partial(math.max, { 2, 3 }, 1), 0, 1e-6)
-- the chain rule: h(x) = 3(2x^2)^5 gives h'(x) = 15(2x^2)^4 * 4x
local function hx(x) return 3 * (2 * x ^ 2) ^ 5 end
local x = 0.7
local chain = 15 * (2 * x ^ 2) ^ 4 * 4 * x
print(string.format("h'(%.1f) = %.6f by the chain rule", x, chain))
check.close("the chain rule", partial(hx, { x }, 1), chain, 1e-5)
check.done(8)
