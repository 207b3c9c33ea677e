#include "reskit/tasks/track_dataset.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "reskit/core/error.h"
#include "reskit/io/image_files.h"

namespace reskit::tasks {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

void check_counts(const TrackSequence& s, const std::string& source) {
  if (s.ground_truth.empty()) throw Error(source + ": sequence " + in_quotes(s.name) + " has no boxes");
  if (s.frames.size() != s.ground_truth.size())
    throw Error(source + ": sequence " + in_quotes(s.name) + " has " + std::to_string(s.ground_truth.size()) +
                " boxes for " + std::to_string(s.frames.size()) +
                " frames (a sequence that starts later needs pysot's dataset JSON)");
}

double json_number(const json& v, const std::string& where) {
  if (!v.is_number()) throw Error(where + ": expected a number, got " + v.dump().substr(0, 40));
  const double d = v.get<double>();
  if (!std::isfinite(d)) throw Error(where + ": " + v.dump() + " is not a finite number");
  return d;
}

// DATASET_DIR/<its name>.json, else the only *.json there that is not
// eval-track's own report (eval.json, when --out is DATASET_DIR); "" when none.
std::string find_dataset_json(const fs::path& root, const std::string& name) {
  const fs::path own = root / (name + ".json");
  if (fs::is_regular_file(own)) return own.string();
  std::vector<std::string> found;
  for (const fs::directory_entry& e : fs::directory_iterator(root))
    if (e.path().extension() == ".json" && e.path().filename() != "eval.json" && e.is_regular_file())
      found.push_back(e.path().string());
  if (found.size() > 1)
    throw Error(in_quotes(root.string()) + " holds " + std::to_string(found.size()) + " JSON files and no " + name +
                ".json: which is the dataset's is unclear");
  return found.empty() ? "" : found[0];
}

TrackDataset read_otb_folders(const fs::path& root) {
  static const std::regex kTarget(R"(groundtruth_rect\.([0-9]+)\.txt)");
  TrackDataset data;
  std::vector<fs::path> folders;
  for (const fs::directory_entry& e : fs::directory_iterator(root))
    if (e.is_directory()) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    std::vector<std::pair<std::string, fs::path>> targets;  // sequence name, groundtruth file
    for (const fs::directory_entry& e : fs::directory_iterator(folder)) {
      const std::string file = e.path().filename().string();
      std::smatch m;
      if (file == "groundtruth_rect.txt")
        targets.emplace_back(folder.filename().string(), e.path());
      else if (std::regex_match(file, m, kTarget))
        targets.emplace_back(folder.filename().string() + "-" + m[1].str(), e.path());
    }
    const bool has_images = fs::is_directory(folder / "img");
    if (targets.empty() && !has_images) continue;  // not a sequence
    if (targets.empty()) throw Error(in_quotes(folder.string()) + " has img/ but no groundtruth_rect.txt");
    if (!has_images) throw Error(in_quotes(folder.string()) + " has no img/ folder");
    const std::vector<std::string> frames = io::list_images((folder / "img").string());
    for (const auto& [name, gt_path] : targets) {
      TrackSequence s;
      s.name = name;
      s.frames = frames;
      s.ground_truth = parse_ground_truth(read_capped(gt_path.string(), kMaxGroundTruthBytes, "groundtruth file"),
                                          gt_path.string());
      check_counts(s, gt_path.string());
      data.sequences.push_back(std::move(s));
    }
  }
  return data;
}

}  // namespace

std::vector<TrackBox> parse_ground_truth(const std::string& text, const std::string& source) {
  std::vector<TrackBox> boxes;
  size_t line_no = 0, blank_from = 0;  // a blank line is only allowed among the last ones
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    const auto is_separator = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == ','; };
    if (std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; })) {
      if (!blank_from) blank_from = line_no;
      continue;
    }
    if (blank_from)
      throw Error(source + ":" + std::to_string(blank_from) + ": empty line before the last box");
    double v[4];
    int count = 0;
    size_t i = 0;
    while (i < line.size()) {
      if (is_separator(line[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < line.size() && !is_separator(line[j])) ++j;
      const std::string_view token = line.substr(i, j - i);
      double d = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
      if (ec != std::errc() || ptr != token.data() + token.size() || !std::isfinite(d))
        throw Error(source + ":" + std::to_string(line_no) + ": " + in_quotes(std::string(token.substr(0, 40))) +
                    " is not a number");
      if (count == 4) break;
      v[count++] = d;
      i = j;
    }
    if (count != 4 || i < line.size())
      throw Error(source + ":" + std::to_string(line_no) + ": expected 4 numbers x,y,w,h, got " +
                  (count == 4 ? "more" : std::to_string(count)));
    boxes.push_back({v[0], v[1], v[2], v[3]});
  }
  return boxes;
}

TrackDataset parse_dataset_json(const std::string& text, const std::string& source, const std::string& root) {
  json meta;
  try {
    meta = json::parse(text);
  } catch (const json::exception& e) {
    const std::string what = e.what();
    throw Error(source + ": malformed JSON (" + what.substr(what.find(']') + 2) + ")");
  }
  if (!meta.is_object()) throw Error(source + ": expected an object of videos, {\"Basketball\": {...}, ...}");
  TrackDataset data;
  data.source = source;
  for (const auto& [name, video] : meta.items()) {  // nlohmann's object is sorted by key, as pysot iterates
    const std::string where = source + ": video " + in_quotes(name);
    check_file_name(name, source + ": ", "a sequence (it names its result file)");
    if (!video.is_object()) throw Error(where + " is not an object");
    const auto field = [&](const char* key) -> const json& {
      if (!video.contains(key) || !video.at(key).is_array())
        throw Error(where + ": no \"" + key + "\" list");
      return video.at(key);
    };
    TrackSequence s;
    s.name = name;
    for (const json& image : field("img_names")) {
      if (!image.is_string()) throw Error(where + ": img_names holds " + image.dump().substr(0, 40));
      s.frames.push_back((fs::path(root) / image.get<std::string>()).string());
    }
    const json& rects = field("gt_rect");
    for (size_t i = 0; i < rects.size(); ++i) {
      const std::string at = where + ": gt_rect[" + std::to_string(i) + "]";
      if (!rects[i].is_array() || rects[i].size() != 4) throw Error(at + ": expected [x, y, w, h]");
      s.ground_truth.push_back({json_number(rects[i][0], at), json_number(rects[i][1], at),
                                json_number(rects[i][2], at), json_number(rects[i][3], at)});
    }
    if (video.contains("attr") && video.at("attr").is_array())
      for (const json& a : video.at("attr"))
        if (a.is_string()) s.attributes.push_back(a.get<std::string>());
    check_counts(s, source);
    for (const std::string& frame : s.frames)
      if (!fs::is_regular_file(frame)) throw Error(where + ": image " + in_quotes(frame) + " does not exist");
    data.sequences.push_back(std::move(s));
  }
  return data;
}

std::string read_capped(const std::string& path, uint64_t cap, const std::string& what) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw Error("cannot read " + what + " " + in_quotes(path));
  if (size > cap)
    throw Error(in_quotes(path) + " is larger than " + std::to_string(cap >> 20) + " MiB: not a " + what);
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) throw Error("cannot read " + what + " " + in_quotes(path));
  return text;
}

void check_file_name(const std::string& name, const std::string& prefix, const std::string& role) {
  if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw Error(prefix + in_quotes(name) + " cannot name " + role);
}

TrackDataset open_track_dataset(const std::string& root) {
  if (!fs::is_directory(root)) throw Error(in_quotes(root) + " is not a directory");
  fs::path normal = fs::absolute(root).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();  // "OTB100/"
  const std::string name = normal.filename().string();
  const std::string json_path = find_dataset_json(root, name);
  TrackDataset data = json_path.empty()
                          ? read_otb_folders(root)
                          : parse_dataset_json(read_capped(json_path, kMaxDatasetJsonBytes, "dataset JSON"), json_path, root);
  data.name = name;
  data.root = root;
  std::sort(data.sequences.begin(), data.sequences.end(),
            [](const TrackSequence& a, const TrackSequence& b) { return a.name < b.name; });
  for (size_t i = 1; i < data.sequences.size(); ++i)
    if (data.sequences[i].name == data.sequences[i - 1].name)
      throw Error(in_quotes(root) + ": two sequences are named " + in_quotes(data.sequences[i].name));
  if (data.sequences.empty())
    throw Error(json_path.empty() ? in_quotes(root) + " holds no sequences: neither " + name +
                                        ".json (pysot's) nor folders with img/ and groundtruth_rect.txt (OTB's)"
                                  : json_path + " lists no videos");
  return data;
}

}  // namespace reskit::tasks
