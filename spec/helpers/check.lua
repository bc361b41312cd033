-- Helpers shared by the specs: element-wise closeness, error messages, the
-- central finite-difference gradient the gradient checks compare against,
-- and small file helpers.
local lunet = require "lunet"
local assert = require "luassert"

local check = {}

--- every element of a (a number, nested table or tensor) within tol of b
function check.close(a, b, tol)
  if lunet.is_tensor(a) then a = a:totable() end
  if lunet.is_tensor(b) then b = b:totable() end
  if type(a) == "table" then
    assert.are.equal(#b, #a)
    for i = 1, #a do check.close(a[i], b[i], tol) end
  else
    assert(math.abs(a - b) <= tol, string.format("%.9g differs from %.9g by more than %g", a, b, tol))
  end
end

--- the error message of f(...), which must fail
function check.err(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

--- assert that f(...) fails with a message containing `sub` (plain text)
function check.error_has(sub, f, ...)
  local msg = check.err(f, ...)
  assert(msg:find(sub, 1, true), "error message '" .. msg .. "' does not contain '" .. sub .. "'")
end

--- assert that f(...) fails with a message containing every string of
-- parts (plain text; one string may stand for a list of one); returns it
function check.raises(parts, f, ...)
  if type(parts) == "string" then parts = { parts } end
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing '" .. parts[1] .. "', got none")
  msg = tostring(msg)
  for _, p in ipairs(parts) do
    assert(msg:find(p, 1, true), "expected '" .. p .. "' in the error, got: " .. msg)
  end
  return msg
end

--- Debian's python3 with NumPy is there (the NumPy cross-checks run, else are pending)
check.has_numpy = os.execute("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == true

local function numgrad_flat(f, x, h)
  return check.numgrad(f, x, h)
end

--- central-difference gradient of f() with respect to the 2-D tensor x,
-- using the perturbation actually stored in float32
function check.numgrad(f, x, h)
  local rows, cols = x:shape()
  local g = lunet.zeros(rows, cols)
  for i = 1, rows do
    for j = 1, cols do
      local v = x:get(i, j)
      x:set(i, j, v + h); local xp = x:get(i, j); local fp = f()
      x:set(i, j, v - h); local xm = x:get(i, j); local fm = f()
      x:set(i, j, v)
      g:set(i, j, (fp - fm) / (xp - xm))
    end
  end
  return g
end

--- the same for a tensor of any shape (perturbed through a 1 x n view of it)
function check.numgrad_nd(f, x, h)
  local flat = x:view(1, x:numel())
  local g = numgrad_flat(f, flat, h)
  return g:view(x:shape())
end

--- the whole content of a file
function check.readall(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

--- write s as the whole content of a file
function check.writeall(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

--- a new empty folder under the system's temporary folder
function check.tmpdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p '" .. base .. "'"))
  return base
end

--- everything print() writes while f runs, as a list of lines
function check.capture(f)
  local lines, old = {}, _G.print
  _G.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring(select(i, ...)) end
    lines[#lines + 1] = table.concat(parts, "\t")
  end
  local ok, err = pcall(f)
  _G.print = old
  if not ok then error(err, 0) end
  return lines
end

return check
