-- Chapter 7, "Derivatives": the numerical derivative of f(x) = 2x^2 by a
-- small step, at one point and along the curve, against the analytical 4x.
-- Run: lua5.4 examples/book/ch07_derivatives.lua
package.path = "./examples/book/?.lua;" .. package.path
local check = require "check"
local lunet = check.lunet

local function f(x) return 2 * x ^ 2 end
local p2_delta = 0.0001
local x1 = 1
local x2 = x1 + p2_delta
local approximate_derivative = (f(x2) - f(x1)) / (x2 - x1)
print(string.format("Approximate derivative for f(x) where x = %d is %s", x1, lunet.float_repr(approximate_derivative)))
check.close("the book's 4.0001999999987845", approximate_derivative, 4.0001999999987845, 1e-12)

-- tangent lines at x = 0..4: slope ~ 4x, intercept y - slope * x
local xs = lunet.arange(0, 4, 1)
for i = 1, xs:numel() do
  local x = xs:get(i)
  local slope = (f(x + p2_delta) - f(x)) / p2_delta
  local b = f(x) - slope * x
  print(string.format("(%g, %g) slope %.4f, b %.4f", x, f(x), slope, b))
  check.close("slope at " .. x, slope, 4 * x, 1e-3)
end
-- the same with tensors for the whole curve, element-wise; in float32 a
-- step of 0.01 (the forward difference of 2x^2 is exactly 4x + 2h)
local x, step = lunet.arange(0, 5, 0.001), 0.01
local numeric = ((x + step):pow(2) * 2 - x:pow(2) * 2) / step
check.that("the derivative of 2x^2 is 4x (+ 2h) along the curve", (numeric - (x * 4 + 2 * step)):abs():max() < 2e-3)
check.done(7)
