#include "tuning_cache.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dnnl.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "reskit/core/cpu_features.h"

namespace reskit::engine::onednn {
namespace {

// A cache file larger than this is not read but started again (it is ours, but a file is a file).
constexpr std::uintmax_t kMaxCacheBytes = 8u << 20;
// Part of every key, raised when the candidates change (a new kernel of
// reskit's own): choices made without it are then tuned again.
constexpr int kCandidateSet = 2;

std::string cache_path() {
  if (const char* p = std::getenv("RESKIT_TUNING_CACHE")) return p;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/reskit/tuning.tsv";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/reskit/tuning.tsv";
  return "off";
}

std::string machine_key() {
  const CpuFeatures& cpu = cpu_features();
  const dnnl_version_t* v = dnnl_version();
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  return cpu.model_name + "|" + cpu_isa_name(cpu) + "|cap=" + (cap ? cap : "") + "|onednn " +
         std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         "|threads=" + std::to_string(at::get_num_threads()) + "|candidates " + std::to_string(kCandidateSet);
}

class Store {
 public:
  std::optional<std::string> find(const std::string& layer) {
    std::lock_guard<std::mutex> lock(mutex_);
    load();
    const auto it = choices_.find(machine_key() + "\t" + layer);
    if (it == choices_.end()) return std::nullopt;
    return it->second;
  }

  void store(const std::string& layer, const std::string& choice) {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = machine_key() + "\t" + layer;
    choices_[key] = choice;
    if (path_ == "off") return;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    // One write of a whole line with O_APPEND: processes tuning at once interleave lines, never characters.
    const std::string line = key + "\t" + choice + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;  // a cache that cannot be written only costs the next process its measurements
    [[maybe_unused]] const ssize_t written = ::write(fd, line.data(), line.size());
    ::close(fd);
  }

 private:
  void load() {
    if (loaded_) return;
    loaded_ = true;
    path_ = cache_path();
    if (path_ == "off") return;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path_, ec)) return;
    if (std::filesystem::file_size(path_, ec) > kMaxCacheBytes) {
      // Only appended to, it grows with every machine and layer seen: past the cap it starts again.
      std::filesystem::remove(path_, ec);
      return;
    }
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) {
      const size_t last = line.rfind('\t');
      if (last == std::string::npos || last == 0) continue;
      choices_[line.substr(0, last)] = line.substr(last + 1);
    }
  }

  std::mutex mutex_;
  bool loaded_ = false;
  std::string path_;
  std::map<std::string, std::string> choices_;
};

Store& store() {
  static Store s;
  return s;
}

}  // namespace

bool tuning_enabled() {
  const char* v = std::getenv("RESKIT_TUNE");
  return !(v && std::string(v) == "0");
}

std::optional<std::string> find_tuned(const std::string& layer) { return store().find(layer); }
void store_tuned(const std::string& layer, const std::string& choice) { store().store(layer, choice); }

}  // namespace reskit::engine::onednn
