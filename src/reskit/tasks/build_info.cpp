#include "reskit/tasks/build_info.h"

#include <ATen/Context.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <sstream>

#include "reskit/core/cpu_features.h"
#include "reskit/core/version.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/image.h"
#endif

namespace reskit::tasks {
namespace {

// The rest of the line after `key` in at::show_config(), which is the one
// place every LibTorch build states its oneDNN and its CPU dispatch level.
std::string config_value(const std::string& config, const std::string& key) {
  const size_t at = config.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return config.substr(begin, config.find('\n', begin) - begin);
}

std::string onednn_version(const std::string& config) {
  if (!at::hasMKLDNN()) return "not in this LibTorch";
  for (const char* key : {"Intel(R) MKL-DNN ", "Intel(R) oneDNN ", "oneDNN "}) {
    std::string v = config_value(config, key);
    if (!v.empty()) return v.substr(0, v.find(" (")) + " (LibTorch's)";
  }
  return "present (version not reported by LibTorch)";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  const std::string config = at::show_config();
  const CpuFeatures& cpu = cpu_features();
  std::string aten_isa = config_value(config, "CPU capability usage: ");
  std::string cpu_text = cpu.model_name.empty() ? cpu.vendor : cpu.model_name;
  cpu_text += ": " + cpu_isa_name(cpu);
  if (!aten_isa.empty()) cpu_text += " (LibTorch kernels: " + aten_isa + ")";
  return {
      {"reskit", version()},
      {"LibTorch", TORCH_VERSION},
      {"oneDNN", onednn_version(config)},
#ifdef RESKIT_HAVE_OPENCV
      {"OpenCV", io::opencv_version()},
#else
      {"OpenCV", "not in this build"},
#endif
      {"CPU", cpu_text},
  };
}

std::string build_info_text() {
  std::ostringstream s;
  for (const auto& [name, value] : build_info()) s << name << ' ' << value << '\n';
  return s.str();
}

}  // namespace reskit::tasks
