-- data_toolkit_spec.lua: lunet.data.csv (through libcsv), split,
-- standardize, one_hot and fashion_mnist_classes (issue 15).
local lunet = require "lunet"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function file(name, text)
  local p = dir .. "/" .. name
  local f = assert(io.open(p, "wb")); f:write(text); f:close()
  return p
end
local function f32(v) return (string.unpack("f", string.pack("f", v))) end
local raises = require("helpers.check").raises

describe("lunet.data.csv", function()
  it("reads a header, numbers (quoted too) and a text label column mapped to 1..K in sorted order", function()
    local p = file("iris.csv", 'sepal length,"width, cm",species\n5.1,3.5,setosa\n4.9,"3.0",setosa\n' ..
      '6.3,2.5,"virginica"\n\n5.8,2.7,versicolor\n')
    local X, y, info = lunet.data.csv(p, { label = "species" })
    assert.are.same({ { f32(5.1), 3.5 }, { f32(4.9), 3 }, { f32(6.3), 2.5 }, { f32(5.8), f32(2.7) } }, X:totable())
    assert.are.same({ 1, 1, 3, 2 }, y:totable())
    assert.are.same({ "setosa", "versicolor", "virginica" }, info.classes)
    assert.are.same({ "sepal length", "width, cm" }, info.columns)
    assert.are.equal("species", info.label)
    -- the same column by number; a numeric label column stays numeric
    local _, y2 = lunet.data.csv(p, { label = 3 })
    assert.are.same(y:totable(), y2:totable())
    local q = file("num.csv", "x,y\n1,0\n2,1\n3,1\n")
    local Xq, yq, iq = lunet.data.csv(q, { label = "y" })
    assert.are.same({ { 1 }, { 2 }, { 3 } }, Xq:totable())
    assert.are.same({ 0, 1, 1 }, yq:totable())
    assert.is_nil(iq.classes)
    -- without a label, every column is a feature and y is nil
    local Xa, ya = lunet.data.csv(q)
    assert.are.same({ 3, 2 }, { Xa:shape() })
    assert.is_nil(ya)
  end)

  it("takes another separator, CRLF lines, no header, and embedded quotes and newlines in text", function()
    local p = file("semi.csv", '1;2\r\n3;4\r\n')
    local X, _, info = lunet.data.csv(p, { sep = ";", header = false })
    assert.are.same({ { 1, 2 }, { 3, 4 } }, X:totable())
    assert.are.same({ "1", "2" }, info.columns)
    local q = file("quotes.csv", 'v,name\n1,"a ""quoted"" name"\n2,"two\nlines"\n3,plain\n')
    local Xq, yq, iq = lunet.data.csv(q, { label = "name" })
    assert.are.same({ { 1 }, { 2 }, { 3 } }, Xq:totable())
    assert.are.same({ 'a "quoted" name', "plain", "two\nlines" }, iq.classes)
    assert.are.same({ 1, 3, 2 }, yq:totable())
  end)

  it("reports missing and non-numeric cells with the line and the column", function()
    local p = file("bad.csv", "a,b,c\n1,2,3\n\n4,,6\n")
    raises({ "lunet.data.csv: " .. p .. ":4: column 2 ('b') is empty (a missing value)" }, lunet.data.csv, p)
    local q = file("text.csv", "a,b\r\n1,2\r\n3,x7\r\n")
    raises({ "lunet.data.csv: " .. q .. ":3: column 2 ('b'): 'x7' is not a number" }, lunet.data.csv, q)
    local r = file("ragged.csv", "a,b\n1,2\n3\n")
    raises({ r .. ":3: 1 fields, but the first line has 2" }, lunet.data.csv, r)
    local s = file("multi.csv", 'a,b\n"x\ny",1\n2,3\nq,z\n') -- a quoted newline moves the lines on
    raises({ s .. ":5: column 2 ('b'): 'z' is not a number" }, lunet.data.csv, s, { label = "a" })
    local u = file("unterminated.csv", 'a,b\n1,"2\n')
    raises({ "lunet.data.csv: " .. u .. ":2:" }, lunet.data.csv, u)
    raises({ "no column named 'd' in the header" }, lunet.data.csv, p, { label = "d" })
    raises({ "label column 5, but the file has 3 columns" }, lunet.data.csv, p, { label = 5 })
    raises({ "option 'sep' must be a one-character string" }, lunet.data.csv, p, { sep = ";;" })
    raises({ "unknown option 'delimiter'" }, lunet.data.csv, p, { delimiter = ";" })
    raises({ "lunet.data.csv: " .. dir .. "/none.csv: No such file or directory" }, lunet.data.csv, dir .. "/none.csv")
    raises({ "no data rows" }, lunet.data.csv, file("empty.csv", "a,b\n"))
  end)

  it("reads from a pipe (a FIFO with a writer)", function()
    local fifo = dir .. "/pipe.csv"
    assert(os.execute("mkfifo '" .. fifo .. "'"))
    assert(os.execute("(printf 'a,b\\n1,2\\n3,4\\n' > '" .. fifo .. "') &"))
    local X = lunet.data.csv(fifo)
    assert.are.same({ { 1, 2 }, { 3, 4 } }, X:totable())
  end)
end)

describe("lunet.data.split / standardize / one_hot / fashion_mnist_classes", function()
  local X = lunet.tensor { { 1, 10 }, { 2, 10 }, { 3, 10 }, { 4, 10 }, { 5, 10 } }
  local y = lunet.tensor { 1, 2, 3, 4, 5 }

  it("split keeps rows and labels together and covers every row once", function()
    lunet.seed(2)
    local a, b, c, d = lunet.data.split(X, y, { test = 0.4 })
    assert.are.same({ 3, 2 }, { a:shape() })
    assert.are.same({ 2, 2 }, { c:shape() })
    local seen = {}
    for _, pair in ipairs { { a, b }, { c, d } } do
      for i = 1, #pair[1] do
        assert.are.equal(pair[1]:get(i, 1), pair[2]:get(i)) -- X's first column is the label here
        seen[pair[2]:get(i)] = (seen[pair[2]:get(i)] or 0) + 1
      end
    end
    for i = 1, 5 do assert.are.equal(1, seen[i]) end
    lunet.seed(2)
    local a2 = lunet.data.split(X, y, { test = 0.4 })
    assert.are.same(a:totable(), a2:totable()) -- seeded
    local e, f, g, h = lunet.data.split(X, nil, { test = 0.2, shuffle = false })
    assert.are.same({ 5, 10 }, g:totable()[1])
    assert.is_nil(f); assert.is_nil(h)
    assert.are.same({ 4, 2 }, { e:shape() })
    raises({ "lunet.data.split: option 'test' must be a fraction in (0, 1), got " ..
      "1" }, lunet.data.split, X, y, { test = 1 })
    raises({ "lunet.data.split: X has 5 rows but y has 2" }, lunet.data.split, X, lunet.zeros(2))
    raises({ "leaves 0 for one side" }, lunet.data.split, X, y, { test = 0.05 })
  end)

  it("standardize gives zero-mean unit-std columns, only centres a constant one, reuses given statistics", function()
    local s, m, sd = lunet.data.standardize(X)
    assert.are.same({ { 3, 10 } }, m:totable())
    assert(math.abs(sd:get(1, 1) - math.sqrt(2)) < 1e-6)
    assert.are.equal(0, sd:get(1, 2))
    assert(math.abs(s:mean(1):get(1, 1)) < 1e-6 and math.abs(s:std(1):get(1, 1) - 1) < 1e-6)
    assert.are.same({ 0, 0, 0, 0, 0 }, s:narrow(2, 2, 1):squeeze(2):totable())
    local t = lunet.data.standardize(lunet.tensor { { 3, 12 } }, { mean = m, std = sd })
    assert.are.same({ { 0, 2 } }, t:totable())
    raises({ "lunet.data.standardize: option 'mean' must be a tensor of 2 values" }, lunet.data.standardize, X,
      { mean = lunet.zeros(3) })
  end)

  it("one_hot and the class names", function()
    assert.are.same({ { 0, 1, 0 }, { 1, 0, 0 } }, lunet.data.one_hot(lunet.tensor { 2, 1 }, 3):totable())
    assert.are.same({ { 0, 1 }, { 1, 0 } }, lunet.data.one_hot(lunet.tensor { { 2 }, { 1 } }):totable())
    raises({ "lunet.data.one_hot: label 0 at row 2 is not an integer in 1..3" }, lunet.data.one_hot,
      lunet.tensor { 1, 0 }, 3)
    assert.are.equal(10, #lunet.data.fashion_mnist_classes)
    assert.are.equal("T-shirt/top", lunet.data.fashion_mnist_classes[1])
    assert.are.equal("Ankle boot", lunet.data.fashion_mnist_classes[10])
  end)
end)
