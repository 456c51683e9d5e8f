// Reading .npy and ONNX TensorProto (.pb) files and comparing tensors.
#include "TensorIO.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace kiln::tools;

static bool readFile(const std::string &path, std::string &bytes, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  bytes = ss.str();
  return true;
}

size_t HostTensor::elements() const {
  size_t n = 1;
  for (int64_t d : dims)
    n *= (size_t)d;
  return n;
}

HostTensor kiln::tools::tensorFor(const kiln_tensor_info_t &info) {
  HostTensor t;
  t.name = info.name;
  t.dtype = info.dtype;
  t.dims.assign(info.dims, info.dims + info.rank);
  t.data.assign(info.byte_size, 0);
  return t;
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // Subnormal: normalize.
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

double HostTensor::at(size_t i) const {
  const char *p = data.data() + i * kiln_dtype_size(dtype);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (dtype) {
  case KILN_DTYPE_F32: return load(float());
  case KILN_DTYPE_F64: return load(double());
  case KILN_DTYPE_F16: return halfToFloat(load(uint16_t()));
  case KILN_DTYPE_BF16: {
    uint32_t bits = (uint32_t)load(uint16_t()) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case KILN_DTYPE_I8: return load(int8_t());
  case KILN_DTYPE_I16: return load(int16_t());
  case KILN_DTYPE_I32: return load(int32_t());
  case KILN_DTYPE_I64: return (double)load(int64_t());
  case KILN_DTYPE_BOOL: return load(uint8_t()) != 0;
  case KILN_DTYPE_U8: return load(uint8_t());
  case KILN_DTYPE_U16: return load(uint16_t());
  case KILN_DTYPE_U32: return load(uint32_t());
  case KILN_DTYPE_U64: return (double)load(uint64_t());
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

static bool npyDtype(const std::string &descr, kiln_dtype_t &out) {
  static const struct {
    const char *descr;
    kiln_dtype_t dtype;
  } table[] = {{"<f4", KILN_DTYPE_F32}, {"<f8", KILN_DTYPE_F64}, {"<f2", KILN_DTYPE_F16},
               {"|i1", KILN_DTYPE_I8},  {"<i2", KILN_DTYPE_I16}, {"<i4", KILN_DTYPE_I32},
               {"<i8", KILN_DTYPE_I64}, {"|b1", KILN_DTYPE_BOOL}, {"|u1", KILN_DTYPE_U8},
               {"<u2", KILN_DTYPE_U16}, {"<u4", KILN_DTYPE_U32}, {"<u8", KILN_DTYPE_U64}};
  for (auto &entry : table)
    if (descr == entry.descr) {
      out = entry.dtype;
      return true;
    }
  return false;
}

static bool readNpy(const std::string &path, const std::string &bytes, HostTensor &out,
                    std::string &error) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    error = path + ": not a .npy file";
    return false;
  }
  unsigned major = (unsigned char)bytes[6];
  size_t headerLen, start;
  if (major == 1) {
    headerLen = (unsigned char)bytes[8] | ((unsigned char)bytes[9] << 8);
    start = 10;
  } else {
    if (bytes.size() < 12) {
      error = path + ": truncated .npy header";
      return false;
    }
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = (headerLen << 8) | (unsigned char)bytes[8 + i];
    start = 12;
  }
  if (start + headerLen > bytes.size()) {
    error = path + ": truncated .npy header";
    return false;
  }
  std::string header = bytes.substr(start, headerLen);
  auto field = [&](const std::string &key) -> std::string {
    size_t at = header.find("'" + key + "'");
    if (at == std::string::npos)
      return "";
    at = header.find(':', at);
    return at == std::string::npos ? "" : header.substr(at + 1);
  };
  std::string descr = field("descr"), order = field("fortran_order"), shape = field("shape");
  size_t q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos ||
      !npyDtype(descr.substr(q1 + 1, q2 - q1 - 1), out.dtype)) {
    error = path + ": unsupported .npy dtype " + descr.substr(0, 12);
    return false;
  }
  if (order.find("True") < order.find(',')) {
    error = path + ": Fortran-ordered arrays are not supported";
    return false;
  }
  size_t open = shape.find('('), close = shape.find(')');
  if (open == std::string::npos || close == std::string::npos) {
    error = path + ": malformed .npy shape";
    return false;
  }
  std::stringstream dims(shape.substr(open + 1, close - open - 1));
  std::string token;
  out.dims.clear();
  while (std::getline(dims, token, ','))
    if (token.find_first_not_of(" ") != std::string::npos)
      out.dims.push_back(std::stoll(token));
  size_t size = out.elements() * kiln_dtype_size(out.dtype), offset = start + headerLen;
  if (bytes.size() - offset < size) {
    error = path + ": .npy data is truncated";
    return false;
  }
  out.data.assign(bytes.begin() + offset, bytes.begin() + offset + size);
  return true;
}

bool kiln::tools::writeNpy(const std::string &path, const HostTensor &t, std::string &error) {
  static const char *descr[] = {"<f4", "<f8", "<f2", "<u2", "|i1", "<i2", "<i4",
                                "<i8", "|b1", "|u1", "<u2", "<u4", "<u8"};
  std::string shape = "(";
  for (int64_t d : t.dims)
    shape += std::to_string(d) + ",";
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr[t.dtype]) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {(char)(header.size() & 0xff), (char)(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  out.write(t.data.data(), (std::streamsize)t.data.size());
  return (bool)out;
}

//===----------------------------------------------------------------------===//
// TensorProto
//===----------------------------------------------------------------------===//

namespace {
/// A bounds-checked reader of protobuf's wire format.
struct Wire {
  const unsigned char *p, *end;
  bool ok = true;

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end)
        return ok = false, 0;
      unsigned char b = *p++;
      v |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80))
        return v;
    }
    return ok = false, 0;
  }
  bool bytes(size_t n, const unsigned char *&out) {
    if ((size_t)(end - p) < n)
      return ok = false;
    out = p;
    p += n;
    return true;
  }
  void skip(unsigned wireType) {
    const unsigned char *ignored;
    switch (wireType) {
    case 0: varint(); break;
    case 1: bytes(8, ignored); break;
    case 2: bytes(varint(), ignored); break;
    case 5: bytes(4, ignored); break;
    default: ok = false;
    }
  }
};

/// Appends values of a repeated field, packed (wire type 2) or not.
template <typename Read>
void repeated(Wire &w, unsigned wireType, Read read) {
  if (wireType != 2) {
    read(w);
    return;
  }
  const unsigned char *start;
  size_t n = w.varint();
  if (!w.bytes(n, start))
    return;
  Wire inner{start, start + n};
  while (inner.ok && inner.p < inner.end)
    read(inner);
  w.ok &= inner.ok;
}
} // namespace

static bool onnxDtype(uint64_t t, kiln_dtype_t &out) {
  switch (t) {
  case 1: out = KILN_DTYPE_F32; return true;
  case 11: out = KILN_DTYPE_F64; return true;
  case 10: out = KILN_DTYPE_F16; return true;
  case 16: out = KILN_DTYPE_BF16; return true;
  case 3: out = KILN_DTYPE_I8; return true;
  case 5: out = KILN_DTYPE_I16; return true;
  case 6: out = KILN_DTYPE_I32; return true;
  case 7: out = KILN_DTYPE_I64; return true;
  case 9: out = KILN_DTYPE_BOOL; return true;
  case 2: out = KILN_DTYPE_U8; return true;
  case 4: out = KILN_DTYPE_U16; return true;
  case 12: out = KILN_DTYPE_U32; return true;
  case 13: out = KILN_DTYPE_U64; return true;
  default: return false;
  }
}

static bool readTensorProto(const std::string &path, const std::string &bytes, HostTensor &out,
                            std::string &error) {
  Wire w{(const unsigned char *)bytes.data(), (const unsigned char *)bytes.data() + bytes.size()};
  uint64_t dataType = 0;
  std::string raw;
  std::vector<uint64_t> ints; // int32_data, int64_data, uint64_data as raw values
  std::vector<double> floats; // float_data, double_data
  bool haveRaw = false;
  out.dims.clear();
  while (w.ok && w.p < w.end) {
    uint64_t key = w.varint();
    unsigned field = key >> 3, wireType = key & 7;
    const unsigned char *s;
    switch (field) {
    case 1: repeated(w, wireType, [&](Wire &r) { out.dims.push_back((int64_t)r.varint()); }); break;
    case 2: dataType = w.varint(); break;
    case 4:
      repeated(w, wireType, [&](Wire &r) {
        const unsigned char *b;
        float f;
        if (r.bytes(4, b))
          std::memcpy(&f, b, 4), floats.push_back(f);
      });
      break;
    case 5: case 7: case 11:
      repeated(w, wireType, [&](Wire &r) { ints.push_back(r.varint()); });
      break;
    case 10:
      repeated(w, wireType, [&](Wire &r) {
        const unsigned char *b;
        double d;
        if (r.bytes(8, b))
          std::memcpy(&d, b, 8), floats.push_back(d);
      });
      break;
    case 8:
      if (w.bytes(w.varint(), s))
        out.name.assign((const char *)s, (const char *)w.p);
      break;
    case 9:
      if (w.bytes(w.varint(), s)) {
        raw.assign((const char *)s, (const char *)w.p);
        haveRaw = true;
      }
      break;
    case 14:
      if (w.varint() == 1) {
        error = path + ": external tensor data is not supported";
        return false;
      }
      break;
    default: w.skip(wireType);
    }
  }
  if (!w.ok) {
    error = path + ": malformed TensorProto";
    return false;
  }
  if (!onnxDtype(dataType, out.dtype)) {
    error = path + ": unsupported TensorProto data type " + std::to_string(dataType);
    return false;
  }
  for (int64_t d : out.dims)
    if (d < 0) {
      error = path + ": negative dimension";
      return false;
    }
  size_t width = kiln_dtype_size(out.dtype), n = out.elements();
  if (haveRaw) {
    out.data.assign(raw.begin(), raw.end());
  } else {
    // Checked before allocating: a file that is not a TensorProto can claim any shape.
    size_t count = floats.empty() ? ints.size() : floats.size();
    if (count != n) {
      error = path + ": element count does not match the shape";
      return false;
    }
    out.data.assign(n * width, 0);
    for (size_t i = 0; i < n; ++i) {
      char *dst = out.data.data() + i * width;
      if (out.dtype == KILN_DTYPE_F32) {
        float f = (float)floats[i];
        std::memcpy(dst, &f, 4);
      } else if (out.dtype == KILN_DTYPE_F64) {
        std::memcpy(dst, &floats[i], 8);
      } else {
        uint64_t v = ints[i]; // f16/bf16 bits arrive in int32_data
        std::memcpy(dst, &v, width);
      }
    }
  }
  if (out.data.size() != n * width) {
    error = path + ": data size does not match the shape";
    return false;
  }
  return true;
}

bool kiln::tools::readTensorFile(const std::string &path, HostTensor &out, std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return readNpy(path, bytes, out, error);
  return readTensorProto(path, bytes, out, error);
}

Comparison kiln::tools::compareTensors(const HostTensor &actual, const HostTensor &expected,
                                       double rtol, double atol) {
  Comparison c;
  auto isFloat = [](kiln_dtype_t t) {
    return t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64 || t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16;
  };
  // A float output may be checked against a reference of another float precision.
  c.shapeMatches = actual.dims == expected.dims &&
                   (actual.dtype == expected.dtype || (isFloat(actual.dtype) && isFloat(expected.dtype)));
  if (!c.shapeMatches)
    return c;
  bool exact = !isFloat(actual.dtype);
  for (size_t i = 0, n = actual.elements(); i < n; ++i) {
    double a = actual.at(i), e = expected.at(i);
    if (std::isnan(a) && std::isnan(e))
      continue;
    if (std::isinf(e) && a == e)
      continue;
    double abs = std::fabs(a - e), rel = e != 0 ? abs / std::fabs(e) : abs;
    if (std::isnan(abs))
      abs = rel = INFINITY;
    c.maxAbsError = std::max(c.maxAbsError, abs);
    c.maxRelError = std::max(c.maxRelError, rel);
    if (exact ? a != e : abs > atol + rtol * std::fabs(e))
      ++c.mismatches;
  }
  c.ok = c.mismatches == 0;
  return c;
}

std::string kiln::tools::shapeString(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return s + "]";
}
