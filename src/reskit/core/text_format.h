#pragma once
// How reskit spells values in text, in one place: Python's own spellings
// (what print(model) and torchinfo show must match them character for
// character) and the sizes of the command line (1x3x224x224).
#include <cstdint>
#include <string>
#include <vector>

namespace reskit {

// repr(float): the shortest digits that round-trip, fixed notation for
// exponents -4..15 (always with a '.': `2.0`), otherwise `1e-05` style.
std::string python_float_repr(double value);

// f"{n:,}": 1,234,567
std::string with_commas(int64_t n);

// f"{x:.Nf}" and f"{x:,.Nf}" (glibc and CPython both round the exact binary value).
std::string python_fixed(double x, int digits);
std::string python_fixed_with_commas(double x, int digits);

// str(tuple): (3, 3), and (3,) for one element.
std::string python_tuple(const std::vector<int64_t>& values);
// str(list): [3, 3]
std::string python_list(const std::vector<int64_t>& values);

// 1x3x224x224
std::string sizes_text(const std::vector<int64_t>& sizes);
// 1x3x224x224, 1x3x127x127
std::string sizes_text(const std::vector<std::vector<int64_t>>& sizes);

}  // namespace reskit
