#pragma once
// NumPy .npy files as the CLI contract has them: float32 little-endian in
// C order is written; <f4 and <f8 (converted) are read, anything else is
// a one-line error.
#include <ATen/core/Tensor.h>

#include <ostream>
#include <string>

namespace reskit::io {

// keep_float64: <f8 stays float64 (a reference's exact values, for tests).
at::Tensor read_npy(const std::string& path, bool keep_float64 = false);
// Parses bytes already in memory; `name` is used in error messages.
at::Tensor parse_npy(const std::string& bytes, const std::string& name);

void write_npy(std::ostream& out, const at::Tensor& tensor);
// Atomic: the file appears whole or not at all.
void save_npy(const std::string& path, const at::Tensor& tensor);

}  // namespace reskit::io
