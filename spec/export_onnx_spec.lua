--- Model:export_onnx (lua/lunet/export_onnx.lua): the protobuf it writes,
-- decoded here field by field, and its errors (CI runs python3-onnx's checker
-- and ONNX Runtime on exported models: test/onnx_*).
local lunet = require "lunet"
local check = require "helpers.check"

-- a minimal protobuf reader: the fields of a message as { number, wire, value }
local function fields(s)
  local out, i = {}, 1
  local function varint()
    local v, shift = 0, 0
    repeat
      local b = s:byte(i); i = i + 1
      v = v | ((b & 0x7f) << shift); shift = shift + 7
    until b < 0x80
    return v
  end
  while i <= #s do
    local k = varint()
    local f, w = k >> 3, k & 7
    local v
    if w == 0 then v = varint()
    elseif w == 2 then local n = varint(); v = s:sub(i, i + n - 1); i = i + n
    elseif w == 5 then v = string.unpack("<f", s, i); i = i + 4
    else error("wire type " .. w) end
    out[#out + 1] = { f, w, v }
  end
  return out
end
local function get(msg, f, all)
  local r = {}
  for _, x in ipairs(fields(msg)) do if x[1] == f then r[#r + 1] = x[3] end end
  return all and r or r[1]
end

describe("Model:export_onnx", function()
  it("writes ModelProto: IR 8, opset 13, Gemm with lunet's weights, input/output with a dynamic batch", function()
    lunet.seed(1)
    local m = lunet.Model()
    m:add(lunet.Dense(3, 4)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.5)); m:add(lunet.Dense(4, 2))
    m:add(lunet.Softmax())
    m:finalize()
    local path = check.tmpdir() .. "/m.onnx"
    m:export_onnx(path)
    local bytes = check.readall(path)
    assert.equal(8, get(bytes, 1))                      -- ir_version
    assert.equal("lunet", get(bytes, 2))                -- producer_name
    assert.equal(13, get(get(bytes, 8), 2))             -- opset_import.version
    local graph = get(bytes, 7)
    local ops = {}
    for _, n in ipairs(get(graph, 1, true)) do ops[#ops + 1] = get(n, 4) end
    assert.same({ "Gemm", "Relu", "Gemm", "Softmax" }, ops) -- Dropout left out
    local init = get(graph, 5, true)
    assert.equal("l1.weight", get(init[1], 8))
    assert.same({ 3, 4 }, get(init[1], 1, true))
    assert.equal(string.pack("<f", m.layers[1].weights:get(1, 1)), get(init[1], 9):sub(1, 4))
    local input = get(graph, 11)
    assert.equal("input", get(input, 1))
    local dims = get(get(get(get(input, 2), 1), 2), 1, true)
    assert.equal("batch", get(dims[1], 2))
    assert.equal(3, get(dims[2], 1))
    assert.equal("output", get(get(graph, 12), 1))
    os.remove(path)
  end)

  it("names what it cannot express", function()
    local dir = check.tmpdir()
    local m = lunet.Model()
    m:add(lunet.Dense(2, 2))
    m:add({ forward = function(_, x) return x end, backward = function(_, d) return d end })
    m:finalize()
    check.raises("Model:export_onnx: layer 2 (Lua layer) is written in Lua: an ONNX file cannot express it",
                 m.export_onnx, m, dir .. "/a.onnx")
    local cnn = lunet.Model()
    cnn:add(lunet.Conv2D(1, 2, 3)); cnn:finalize()
    check.raises("declare it with lunet.Input(...)", cnn.export_onnx, cnn, dir .. "/b.onnx")
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
