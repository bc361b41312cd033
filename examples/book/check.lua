-- examples/book/check.lua: what the chapter scripts share.  Each prints what
-- the book prints and checks it: against the book's printed numbers where
-- its inputs are fixed, by invariants where it draws random numbers (NumPy's
-- generator is not lunet's, so those numbers differ by design).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local check = { lunet = lunet, failures = 0 }

-- values of a number, table or tensor, flattened
local function flat(v, out)
  out = out or {}
  if lunet.is_tensor(v) then v = v:totable() end
  if type(v) == "table" then for _, x in ipairs(v) do flat(x, out) end
  else out[#out + 1] = v end
  return out
end

--- got within tol of want (numbers, nested tables or tensors), else an error naming what
function check.close(what, got, want, tol)
  local g, w = flat(got), flat(want)
  tol = tol or 1e-6
  assert(#g == #w, string.format("%s: %d values, the book has %d", what, #g, #w))
  for i = 1, #g do
    if math.abs(g[i] - w[i]) > tol * math.max(1, math.abs(w[i])) then
      error(string.format("%s: value %d is %.9g, the book prints %.9g", what, i, g[i], w[i]), 2)
    end
  end
end

--- an invariant of a run that draws random numbers
function check.that(what, ok)
  if not ok then error(what .. ": does not hold", 2) end
end

--- the last line of every chapter script (CI looks for it)
function check.done(chapter)
  print(string.format("chapter %s: every printed value checked", chapter))
end

return check
