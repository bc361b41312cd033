--- lunet.export_c: Model:export_c(path, { name = "net" }) (API.md
-- "Interchange and embedding"): one self-contained C99 file and a header
-- beside it, the weights as static const float arrays printed exactly (%a),
-- and a reentrant <name>_predict that needs only libm and the caller's
-- scratch: no allocation, no globals written, no lunet.
local core = require "lunet.core"

return function(_, methods, h)
  local checkcall, kind, describe, is_lua_layer, typename = h.checkcall, h.kind, h.describe, h.is_lua_layer,
    h.typename

  -- the numbers of a tensor as C initialisers, 4 a line (exact: %a)
  local function floats(out, name, t)
    local n = t:numel()
    local flat = t:view(n)
    out[#out + 1] = string.format("static const float %s[%d] = {", name, n)
    local line = {}
    for i = 1, n do
      local v = flat:get(i)
      if v ~= v or v == math.huge or v == -math.huge then
        error(string.format("Model:export_c: %s holds %s, which C source cannot hold as a constant", name,
          tostring(v)), 4)
      end
      line[#line + 1] = string.format("%a", v)
      if #line == 4 or i == n then
        out[#out + 1] = "  " .. table.concat(line, ", ") .. (i < n and "," or "")
        line = {}
      end
    end
    out[#out + 1] = "};"
  end

  local function prod(shape)
    local n = 1
    for _, d in ipairs(shape) do n = n * d end
    return n
  end

  -- the kernels the file needs, each emitted once
  local kernels = {
    dense = [[
/* out[j] = b[j] + sum_i in[i] w[i][j] (w is nin x nout, lunet's layout) */
static void K_dense(const float *in, size_t nin, size_t nout, const float *w, const float *b, float *out) {
  size_t i, j;
  for (j = 0; j < nout; j++) {
    double acc = 0.0;
    for (i = 0; i < nin; i++) acc += (double)in[i] * w[i * nout + j];
    out[j] = (float)(acc + b[j]);
  }
}
]],
    conv = [[
/* a convolution of one c x h x w image by out x c x kh x kw weights, zero
** padding pt (top) and pl (left), into out x oh x ow */
static void K_conv(const float *in, size_t c, size_t h, size_t w, const float *wt, const float *b, size_t out,
                   size_t kh, size_t kw, size_t sh, size_t sw, long pt, long pl, size_t oh, size_t ow, float *res) {
  size_t o, oy, ox, ci, ky, kx;
  for (o = 0; o < out; o++)
    for (oy = 0; oy < oh; oy++)
      for (ox = 0; ox < ow; ox++) {
        double acc = 0.0;
        for (ci = 0; ci < c; ci++)
          for (ky = 0; ky < kh; ky++) {
            long iy = (long)(oy * sh + ky) - pt;
            if (iy < 0 || iy >= (long)h) continue;
            for (kx = 0; kx < kw; kx++) {
              long ix = (long)(ox * sw + kx) - pl;
              if (ix < 0 || ix >= (long)w) continue;
              acc += (double)in[(ci * h + (size_t)iy) * w + (size_t)ix] * wt[((o * c + ci) * kh + ky) * kw + kx];
            }
          }
        res[(o * oh + oy) * ow + ox] = (float)(acc + b[o]);
      }
}
]],
    maxpool = [[
/* the maximum of each kh x kw window moved by sh, sw (NaN wins) */
static void K_maxpool(const float *in, size_t c, size_t h, size_t w, size_t kh, size_t kw, size_t sh, size_t sw,
                      size_t oh, size_t ow, float *res) {
  size_t ci, oy, ox, ky, kx;
  (void)h;
  for (ci = 0; ci < c; ci++)
    for (oy = 0; oy < oh; oy++)
      for (ox = 0; ox < ow; ox++) {
        const float *p = in + (ci * h + oy * sh) * w + ox * sw;
        float m = p[0];
        for (ky = 0; ky < kh; ky++)
          for (kx = 0; kx < kw; kx++) {
            float v = p[ky * w + kx];
            if (v > m || (v != v && m == m)) m = v;
          }
        res[(ci * oh + oy) * ow + ox] = m;
      }
}
]],
    batchnorm = [[
/* inference batch normalisation: y = g * ((x - mean) * istd) + b per channel */
static void K_batchnorm(const float *in, size_t c, size_t inner, const float *g, const float *b, const float *mean,
                        const float *istd, float *res) {
  size_t ci, i;
  for (ci = 0; ci < c; ci++)
    for (i = 0; i < inner; i++) res[ci * inner + i] = g[ci] * ((in[ci * inner + i] - mean[ci]) * istd[ci]) + b[ci];
}
]],
    relu = [[
static void K_relu(const float *in, size_t n, float *res) {
  size_t i;
  for (i = 0; i < n; i++) res[i] = in[i] > 0.0f ? in[i] : 0.0f;
}
]],
    sigmoid = [[
static void K_sigmoid(const float *in, size_t n, float *res) {
  size_t i;
  for (i = 0; i < n; i++) res[i] = (float)(1.0 / (1.0 + exp(-(double)in[i])));
}
]],
    softmax = [[
static void K_softmax(const float *in, size_t n, float *res) {
  size_t i;
  float m = in[0];
  double sum = 0.0;
  for (i = 1; i < n; i++) if (in[i] > m) m = in[i];
  for (i = 0; i < n; i++) sum += exp((double)(in[i] - m));
  for (i = 0; i < n; i++) res[i] = (float)(exp((double)(in[i] - m)) / sum);
}
]],
  }

  --- model:export_c(path, { name = "net" })
  function methods.export_c(self, path, options, ...)
    local who = "Model:export_c"
    checkcall(self, who, 2, select("#", ...) + 2)
    if type(path) ~= "string" or not path:match("%.c$") then
      error(who .. ": path must be a string ending in .c (the header goes beside it as .h), got " ..
        (type(path) == "string" and path or typename(path)), 2)
    end
    if not self.finalized then error(who .. ": call model:finalize() first", 2) end
    if options ~= nil and type(options) ~= "table" then error(who .. ": options must be a table", 2) end
    for k in pairs(options or {}) do
      if k ~= "name" then error(string.format("%s: unknown option '%s'", who, tostring(k)), 2) end
    end
    local name = (options or {}).name or "net"
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") or #name > 40 then
      error(who .. ": option 'name' must be a C identifier (letters, digits, _), got " .. tostring(name), 2)
    end
    local NAME = name:upper()
    local shapes = self:_shapes()
    local layers = self.layers
    local data, body, need = {}, {}, {}
    local cur_shape -- the sample shape flowing in
    local inputs
    local maxw = 0
    for i, l in ipairs(layers) do
      if is_lua_layer(l) then
        error(string.format("%s: layer %d (%s) is written in Lua: C source cannot express it", who, i, describe(l)), 2)
      end
      local k = kind(l)
      local out_shape = shapes[i]
      if not out_shape then
        error(string.format("%s: the shape after layer %d (%s) is unknown: declare the input with lunet.Input(...) "
          .. "as the first layer", who, i, describe(l)), 2)
      end
      if i == 1 then
        if k == "Input" then cur_shape = out_shape
        elseif k == "Dense" then cur_shape = { l.n_inputs }
        else
          error(string.format("%s: the input's shape is unknown: declare it with lunet.Input(...) as the first layer",
            who), 2)
        end
        inputs = prod(cur_shape)
        maxw = inputs
      end
      local nin, nout = prod(cur_shape), prod(out_shape)
      maxw = math.max(maxw, nout)
      local p = string.format("%s_l%d", name, i)
      if k == "Dense" then
        need.dense = true
        floats(data, p .. "_w", l.weights); floats(data, p .. "_b", l.biases)
        body[#body + 1] = string.format("    K_dense(cur, %d, %d, %s_w, %s_b, nxt);", nin, nout, p, p)
      elseif k == "Conv2D" then
        need.conv = true
        local c, hh, ww = table.unpack(cur_shape)
        local o, oh, ow = table.unpack(out_shape)
        local kh, kw, sh, sw = l.kernel[1], l.kernel[2], l.stride[1], l.stride[2]
        local pt, pl
        if l.padding == "same" then
          pt = math.max((oh - 1) * sh + kh - hh, 0) // 2
          pl = math.max((ow - 1) * sw + kw - ww, 0) // 2
        else pt, pl = l.padding[1], l.padding[2] end
        floats(data, p .. "_w", l.weights); floats(data, p .. "_b", l.biases)
        body[#body + 1] = string.format("    K_conv(cur, %d, %d, %d, %s_w, %s_b, %d, %d, %d, %d, %d, %dL, %dL, %d, %d, "
          .. "nxt);", c, hh, ww, p, p, o, kh, kw, sh, sw, pt, pl, oh, ow)
      elseif k == "MaxPool2D" then
        need.maxpool = true
        local c, hh, ww = table.unpack(cur_shape)
        local _, oh, ow = table.unpack(out_shape)
        body[#body + 1] = string.format("    K_maxpool(cur, %d, %d, %d, %d, %d, %d, %d, %d, %d, nxt);", c, hh, ww,
          l.size[1], l.size[2], l.stride[1], l.stride[2], oh, ow)
      elseif k == "BatchNormalization" then
        need.batchnorm = true
        local f = l.features
        local istd = core.zeros(f)
        local rv = l.running_var:view(f)
        for j = 1, f do istd:set(j, 1 / math.sqrt(rv:get(j) + l.epsilon)) end
        floats(data, p .. "_g", l.weights); floats(data, p .. "_b", l.biases)
        floats(data, p .. "_m", l.running_mean); floats(data, p .. "_s", istd)
        body[#body + 1] = string.format("    K_batchnorm(cur, %d, %d, %s_g, %s_b, %s_m, %s_s, nxt);", f, nin // f,
          p, p, p, p)
      elseif k == "ReLU" or k == "Sigmoid" or k == "Softmax" then
        local kn = k:lower()
        need[kn] = true
        body[#body + 1] = string.format("    K_%s(cur, %d, nxt);", kn, nin)
      elseif k == "Input" or k == "Dropout" or k == "Linear" or k == "Flatten" then
        body[#body + 1] = string.format("    /* layer %d: %s (nothing to compute) */", i, describe(l))
        goto continue
      else
        error(string.format("%s: layer %d (%s) has no C counterpart", who, i, describe(l)), 2)
      end
      body[#body] = string.format("    /* layer %d: %s */\n%s\n    SWAP;", i, describe(l), body[#body])
      ::continue::
      cur_shape = out_shape
    end
    local outputs = prod(cur_shape)
    local header_path = path:gsub("%.c$", ".h")
    local header_name = header_path:match("([^/]+)$")
    local hdr = table.concat({
      string.format("/* %s: generated by lunet %s (Model:export_c); C99, needs only libm. */", header_name,
        core.version),
      string.format("#ifndef %s_H", NAME), string.format("#define %s_H", NAME), "", "#include <stddef.h>", "",
      string.format("#define %s_INPUTS %d  /* floats a row of x */", NAME, inputs),
      string.format("#define %s_OUTPUTS %d /* floats a row of out */", NAME, outputs),
      string.format("#define %s_SCRATCH %d /* floats of scratch, for any number of rows */", NAME, 2 * maxw), "",
      "/* out (rows x OUTPUTS) = the model's predictions for x (rows x INPUTS), as model:predict gives them;",
      "** reentrant: everything it writes is out and scratch */",
      string.format("void %s_predict(const float *x, size_t rows, float *out, float *scratch);", name), "",
      "#endif", "",
    }, "\n")
    local src = { string.format("/* %s: generated by lunet %s (Model:export_c) from a model of %d layers. */",
      path:match("([^/]+)$"), core.version, #layers), "#include <math.h>", "#include <stddef.h>",
      string.format('#include "%s"', header_name), "" }
    for _, kn in ipairs { "dense", "conv", "maxpool", "batchnorm", "relu", "sigmoid", "softmax" } do
      if need[kn] then src[#src + 1] = kernels[kn] end
    end
    for _, line in ipairs(data) do src[#src + 1] = line end
    src[#src + 1] = ""
    src[#src + 1] = "/* the next layer reads what this one wrote; the two halves of scratch alternate */"
    src[#src + 1] = "#define SWAP do { cur = nxt; nxt = nxt == a ? b : a; } while (0)"
    src[#src + 1] = string.format("void %s_predict(const float *x, size_t rows, float *out, float *scratch) {", name)
    src[#src + 1] = "  size_t r, i;"
    src[#src + 1] = string.format("  float *a = scratch, *b = scratch + %d;", maxw)
    src[#src + 1] = "  for (r = 0; r < rows; r++) {"
    src[#src + 1] = string.format("    const float *cur = x + r * %d;", inputs)
    src[#src + 1] = "    float *nxt = a;"
    for _, line in ipairs(body) do src[#src + 1] = line end
    src[#src + 1] = string.format("    for (i = 0; i < %d; i++) out[r * %d + i] = cur[i];", outputs, outputs)
    src[#src + 1] = "  }"
    src[#src + 1] = "}"
    src[#src + 1] = ""
    h.write_file(header_path, hdr, who, 2)
    h.write_file(path, table.concat(src, "\n"), who, 2)
    return self
  end
end
