// The tracker's settings from an official config.yaml (or JSON).
#include <nlohmann/json.hpp>

#include "reskit/core/error.h"
#include "reskit/io/yaml_tree.h"
#include "reskit/tasks/tracking.h"

namespace reskit::tasks {
namespace {

// core/config.py's cfg.TRACK and cfg.POINT, before a config.yaml overrides them.
TrackerConfig config_py_defaults() {
  TrackerConfig c;
  c.name = "siamban_r50_l234";
  c.penalty_k = 0.14;
  c.window_influence = 0.45;
  c.lr = 0.30;
  return c;
}

class Reader {
 public:
  Reader(const nlohmann::json& section, std::string prefix, const std::string& path)
      : section_(section), prefix_(std::move(prefix)), path_(path) {}

  void number(const char* key, double& value, double lo, double hi) const {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_number()) fail(key, "is not a number");
    value = v->get<double>();
    if (!(value >= lo && value <= hi))
      fail(key, "is " + std::to_string(value) + ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  void integer(const char* key, int64_t& value, int64_t lo, int64_t hi) const {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_number_integer()) fail(key, "is not an integer");
    value = v->get<int64_t>();
    if (value < lo || value > hi)
      fail(key, "is " + std::to_string(value) + ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }

 private:
  const nlohmann::json* find(const char* key) const {
    if (!section_.is_object()) return nullptr;
    auto it = section_.find(key);
    return it == section_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void fail(const char* key, const std::string& why) const {
    throw Error("tracker config '" + path_ + "': " + prefix_ + key + " " + why);
  }
  const nlohmann::json& section_;
  std::string prefix_;
  const std::string& path_;
};

}  // namespace

TrackerConfig read_tracker_config(const std::string& path) {
  const nlohmann::json tree = io::read_yaml_tree(path);
  if (!tree.is_object()) throw Error("tracker config '" + path + "' is not a mapping of settings");
  TrackerConfig c = config_py_defaults();
  if (auto it = tree.find("META_ARC"); it != tree.end() && it->is_string()) c.name = it->get<std::string>();
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& track = tree.contains("TRACK") ? tree["TRACK"] : empty;
  const nlohmann::json& point = tree.contains("POINT") ? tree["POINT"] : empty;
  if (!track.is_object() || !point.is_object())
    throw Error("tracker config '" + path + "': TRACK and POINT must be mappings");
  if (auto it = track.find("TYPE"); it != track.end() && *it != "SiamBANTracker")
    throw Error("tracker config '" + path + "': TRACK.TYPE is " + it->dump() + "; reskit's tracker is SiamBANTracker");
  const Reader t(track, "TRACK.", path), p(point, "POINT.", path);
  t.number("PENALTY_K", c.penalty_k, 0, 1e3);
  t.number("WINDOW_INFLUENCE", c.window_influence, 0, 1);
  t.number("LR", c.lr, 0, 1);
  t.number("CONTEXT_AMOUNT", c.context_amount, 0, 1e3);
  t.integer("EXEMPLAR_SIZE", c.exemplar_size, 1, 4096);
  t.integer("INSTANCE_SIZE", c.instance_size, 1, 4096);
  t.integer("BASE_SIZE", c.base_size, 0, 4096);
  p.integer("STRIDE", c.point_stride, 1, 4096);
  if (c.instance_size < c.exemplar_size)
    throw Error("tracker config '" + path + "': TRACK.INSTANCE_SIZE (" + std::to_string(c.instance_size) +
                ") is smaller than TRACK.EXEMPLAR_SIZE (" + std::to_string(c.exemplar_size) + ")");
  if (score_size(c) > 256)
    throw Error("tracker config '" + path + "': (INSTANCE_SIZE - EXEMPLAR_SIZE) / STRIDE + 1 + BASE_SIZE is " +
                std::to_string(score_size(c)) + ", past 256 cells a side");
  return c;
}

}  // namespace reskit::tasks
