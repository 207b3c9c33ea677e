#include "reskit/core/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace reskit {
namespace {

// Inserts a comma every three digits of an unsigned integer part.
std::string group_thousands(const std::string& digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

template <typename T>
std::string joined(const std::vector<T>& values, const char* separator) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) s += (i ? separator : "") + std::to_string(values[i]);
  return s;
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, as Python's repr (David Gay's mode 0) picks them.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string sci(buf, result.ptr);  // "-1.2345e-05"
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa = mantissa.substr(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  const int ndigits = static_cast<int>(digits.size());

  // float_repr_style 'short': scientific when the exponent is < -4 or >= 16.
  if (exponent < -4 || exponent >= 16) {
    std::string s = sign + digits.substr(0, 1);
    if (ndigits > 1) s += "." + digits.substr(1);
    const int magnitude = std::abs(exponent);
    return s + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);
  }
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point >= ndigits) return sign + digits + std::string(point - ndigits, '0') + ".0";
  return sign + digits.substr(0, point) + "." + digits.substr(point);
}

std::string with_commas(int64_t n) {
  const std::string digits = std::to_string(n);
  return n < 0 ? "-" + group_thousands(digits.substr(1)) : group_thousands(digits);
}

std::string python_fixed(double x, int digits) {
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string python_fixed_with_commas(double x, int digits) {
  std::string s = python_fixed(x, digits);
  const bool negative = s[0] == '-';
  if (negative) s = s.substr(1);
  const size_t dot = std::min(s.find('.'), s.size());
  return (negative ? "-" : "") + group_thousands(s.substr(0, dot)) + s.substr(dot);
}

std::string python_tuple(const std::vector<int64_t>& values) {
  return "(" + joined(values, ", ") + (values.size() == 1 ? ",)" : ")");
}

std::string python_list(const std::vector<int64_t>& values) { return "[" + joined(values, ", ") + "]"; }

std::string sizes_text(const std::vector<int64_t>& sizes) { return joined(sizes, "x"); }

std::string sizes_text(const std::vector<std::vector<int64_t>>& sizes) {
  std::string s;
  for (const auto& size : sizes) s += (s.empty() ? "" : ", ") + sizes_text(size);
  return s;
}

}  // namespace reskit
