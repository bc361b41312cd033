--- lunet.export_onnx: Model:export_onnx(path) (API.md "Interchange and
-- embedding"): an ONNX model, IR version 8, opset 13, input "input" (batch x
-- features or batch x C x H x W, the batch dimension dynamic) and output
-- "output" equal to model:predict.
--
-- The protobuf is written by the small encoder below rather than a library:
-- an ONNX file needs six message kinds, every field a varint, a fixed32 or a
-- length-delimited string, which is 40 lines of Lua; libprotobuf-c would
-- add a build dependency, generated code from onnx.proto3 and a C layer for
-- what is a one-way write (KANN refused ONNX for protobuf's size).  Field
-- numbers are onnx/onnx.proto3's; CI checks every exported model with
-- python3-onnx's checker and ONNX Runtime (test/onnx_check.*).
local core = require "lunet.core"

return function(_, methods, h)
  local checkcall, kind, describe, is_lua_layer = h.checkcall, h.kind, h.describe, h.is_lua_layer

  -- ------------------------------------------------------------ protobuf
  local function varint(n)
    local out = {}
    repeat
      local b = n & 0x7f
      n = n >> 7 -- logical shift: a negative int64 takes 10 bytes, as protobuf's
      out[#out + 1] = string.char(n ~= 0 and (b | 0x80) or b)
    until n == 0
    return table.concat(out)
  end
  local function key(field, wire) return varint(field << 3 | wire) end
  local function int(field, v) return key(field, 0) .. varint(v) end
  local function bytes(field, s) return key(field, 2) .. varint(#s) .. s end
  local function fixed32f(field, v) return key(field, 5) .. string.pack("<f", v) end
  local function message(field, parts) return bytes(field, table.concat(parts)) end

  -- ONNX enums: TensorProto.DataType FLOAT, AttributeProto.AttributeType
  local FLOAT, A_FLOAT, A_INT, A_INTS = 1, 1, 2, 7

  local function tensor_proto(field, name, dims, t)
    local parts = {}
    for _, d in ipairs(dims) do parts[#parts + 1] = int(1, d) end -- dims
    parts[#parts + 1] = int(2, FLOAT)                              -- data_type
    parts[#parts + 1] = bytes(8, name)                             -- name
    local n = t:numel()
    local flat, raw = t:view(n), {}
    for i = 1, n do raw[i] = string.pack("<f", flat:get(i)) end
    parts[#parts + 1] = bytes(9, table.concat(raw))                -- raw_data (little-endian)
    return message(field, parts)
  end

  local function attr_ints(name, list)
    local parts = { bytes(1, name), int(20, A_INTS) }
    for _, v in ipairs(list) do parts[#parts + 1] = int(8, v) end
    return message(5, parts)
  end
  local function attr_int(name, v) return message(5, { bytes(1, name), int(20, A_INT), int(3, v) }) end
  local function attr_float(name, v) return message(5, { bytes(1, name), int(20, A_FLOAT), fixed32f(2, v) }) end

  local function node(op, inputs, output, name, attrs)
    local parts = {}
    for _, i in ipairs(inputs) do parts[#parts + 1] = bytes(1, i) end
    parts[#parts + 1] = bytes(2, output)
    parts[#parts + 1] = bytes(3, name)
    parts[#parts + 1] = bytes(4, op)
    for _, a in ipairs(attrs or {}) do parts[#parts + 1] = a end
    return message(1, parts)
  end

  -- ValueInfoProto: a float tensor of a dynamic batch and the sample's sizes
  local function value_info(field, name, sample)
    local dims = { message(1, { bytes(2, "batch") }) } -- dim_param
    for _, d in ipairs(sample) do dims[#dims + 1] = message(1, { int(1, d) }) end -- dim_value
    local shape = message(2, dims)
    local tensor_type = message(1, { int(1, FLOAT), shape })
    return message(field, { bytes(1, name), message(2, { tensor_type }) })
  end

  --- model:export_onnx(path)
  function methods.export_onnx(self, path, ...)
    local who = "Model:export_onnx"
    checkcall(self, who, 1, select("#", ...) + 1)
    if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
    if not self.finalized then error(who .. ": call model:finalize() first", 2) end
    local shapes, layers = self:_shapes(), self.layers
    local ops, inits = {}, {} -- ops: { op, extra inputs, attributes, layer position }
    local input_shape
    local function op(name, i, extra, attrs) ops[#ops + 1] = { name, extra or {}, attrs or {}, i } end
    for i, l in ipairs(layers) do
      if is_lua_layer(l) then
        error(string.format("%s: layer %d (%s) is written in Lua: an ONNX file cannot express it", who, i,
          describe(l)), 2)
      end
      local k = kind(l)
      if i == 1 then
        if k == "Input" and shapes[1] then input_shape = shapes[1]
        elseif k == "Dense" then input_shape = { l.n_inputs }
        else
          error(string.format("%s: the input's shape is unknown: declare it with lunet.Input(...) as the first "
            .. "layer", who), 2)
        end
      end
      if not shapes[i] then
        error(string.format("%s: the shape after layer %d (%s) is unknown: declare the input with lunet.Input(...)",
          who, i, describe(l)), 2)
      end
      local p = string.format("l%d.", i)
      if k == "Dense" then
        inits[#inits + 1] = tensor_proto(5, p .. "weight", { l.n_inputs, l.n_neurons }, l.weights)
        inits[#inits + 1] = tensor_proto(5, p .. "bias", { l.n_neurons }, l.biases)
        op("Gemm", i, { p .. "weight", p .. "bias" })
      elseif k == "Conv2D" then
        local prev = i == 1 and input_shape or shapes[i - 1]
        local _, hh, ww = table.unpack(prev)
        local _, oh, ow = table.unpack(shapes[i])
        local kh, kw, sh, sw = l.kernel[1], l.kernel[2], l.stride[1], l.stride[2]
        local pads
        if l.padding == "same" then -- ONNX's SAME_UPPER: the odd extra at the end
          local th, tw = math.max((oh - 1) * sh + kh - hh, 0), math.max((ow - 1) * sw + kw - ww, 0)
          pads = { th // 2, tw // 2, th - th // 2, tw - tw // 2 }
        else
          pads = { l.padding[1], l.padding[2], l.padding[1], l.padding[2] }
        end
        inits[#inits + 1] = tensor_proto(5, p .. "weight", { l.weights:shape() }, l.weights)
        inits[#inits + 1] = tensor_proto(5, p .. "bias", { l.out_channels }, l.biases)
        op("Conv", i, { p .. "weight", p .. "bias" },
          { attr_ints("kernel_shape", { kh, kw }), attr_ints("strides", { sh, sw }), attr_ints("pads", pads) })
      elseif k == "MaxPool2D" then
        op("MaxPool", i, nil,
          { attr_ints("kernel_shape", { l.size[1], l.size[2] }), attr_ints("strides", { l.stride[1], l.stride[2] }) })
      elseif k == "BatchNormalization" then
        local f = l.features
        inits[#inits + 1] = tensor_proto(5, p .. "scale", { f }, l.weights)
        inits[#inits + 1] = tensor_proto(5, p .. "shift", { f }, l.biases)
        inits[#inits + 1] = tensor_proto(5, p .. "mean", { f }, l.running_mean)
        inits[#inits + 1] = tensor_proto(5, p .. "var", { f }, l.running_var)
        op("BatchNormalization", i, { p .. "scale", p .. "shift", p .. "mean", p .. "var" },
          { attr_float("epsilon", l.epsilon), attr_float("momentum", l.momentum) })
      elseif k == "Flatten" then op("Flatten", i, nil, { attr_int("axis", 1) })
      elseif k == "ReLU" then op("Relu", i)
      elseif k == "Sigmoid" then op("Sigmoid", i)
      elseif k == "Softmax" then op("Softmax", i, nil, { attr_int("axis", 1) })
      elseif k == "Linear" then op("Identity", i)
      elseif k ~= "Input" and k ~= "Dropout" then -- those compute nothing at inference
        error(string.format("%s: layer %d (%s) has no ONNX counterpart", who, i, describe(l)), 2)
      end
    end
    if #ops == 0 then op("Identity", #layers) end
    -- the nodes in order, each reading the previous one's output; the last writes "output"
    local gparts, cur = {}, "input"
    for n, o in ipairs(ops) do
      local out = n == #ops and "output" or string.format("l%d_%s", o[4], o[1])
      local inputs = { cur }
      for _, x in ipairs(o[2]) do inputs[#inputs + 1] = x end
      gparts[#gparts + 1] = node(o[1], inputs, out, "layer" .. o[4], o[3])
      cur = out
    end
    gparts[#gparts + 1] = bytes(2, "lunet")
    for _, t in ipairs(inits) do gparts[#gparts + 1] = t end
    gparts[#gparts + 1] = value_info(11, "input", input_shape)
    gparts[#gparts + 1] = value_info(12, "output", shapes[#layers])
    local model = table.concat {
      int(1, 8),                                         -- ir_version
      bytes(2, "lunet"), bytes(3, core.version),         -- producer_name, producer_version
      message(7, gparts),                                -- graph
      message(8, { bytes(1, ""), int(2, 13) }),          -- opset_import: ai.onnx 13
    }
    h.write_file(path, model, who, 2)
    return self
  end
end
