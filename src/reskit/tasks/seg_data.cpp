#include "reskit/tasks/seg_data.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "reskit/core/error.h"
#include "reskit/io/image_files.h"
#include "reskit/tasks/track_dataset.h"  // read_capped

namespace reskit::tasks {
namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// The file's lines without their '\r'; trailing blank lines dropped, a blank
// line before the end is an error (it would shift every later class).
std::vector<std::string> class_lines(const std::string& text, const std::string& name) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  const auto blank = [](const std::string& l) {
    return std::all_of(l.begin(), l.end(), [](unsigned char c) { return std::isspace(c); });
  };
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  if (lines.empty()) throw Error(quoted(name) + ": no classes in the file");
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i >= static_cast<size_t>(kMaxClassLines))
      throw Error(quoted(name) + ": more than " + std::to_string(kMaxClassLines) + " lines (255 is the ignore label)");
    if (blank(lines[i])) throw Error(quoted(name) + " line " + std::to_string(i + 1) + ": empty");
    if (lines[i].find('\0') != std::string::npos)
      throw Error(quoted(name) + " line " + std::to_string(i + 1) + ": not text");
  }
  return lines;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// "R G B", "R,G,B", "R, G, B" then an optional name: the first three
// numbers, separated by commas and/or blanks.
std::array<uint8_t, 3> parse_colour(const std::string& line, const std::string& where) {
  std::array<uint8_t, 3> rgb{};
  size_t pos = 0;
  for (int k = 0; k < 3; ++k) {
    while (pos < line.size() && (std::isspace(static_cast<unsigned char>(line[pos])) || (k > 0 && line[pos] == ',')))
      ++pos;
    size_t digits = 0;
    int value = 0;
    while (pos < line.size() && std::isdigit(static_cast<unsigned char>(line[pos])) && digits < 4) {
      value = value * 10 + (line[pos] - '0');
      ++pos;
      ++digits;
    }
    const bool ends = pos == line.size() || std::isspace(static_cast<unsigned char>(line[pos])) || line[pos] == ',';
    if (digits == 0 || digits > 3 || !ends || value > 255)
      throw Error(where + ": expects R G B (each 0-255), got '" + trim(line).substr(0, 60) + "'");
    rgb[k] = static_cast<uint8_t>(value);
  }
  return rgb;
}

// The split's folder, or a one-line error saying what the layout is.
fs::path split_folder(const fs::path& root, const std::string& name) {
  const fs::path p = root / name;
  std::error_code ec;
  if (!fs::is_directory(p, ec))
    throw Error(quoted(p.string()) + " is missing (a CamVid-layout folder holds train_images/, train_labels/, "
                "valid_images/, valid_labels/)");
  return p;
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
  if (ec) throw Error(quoted(dir.string()) + ": cannot list the directory: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<std::string> parse_class_names(const std::string& text, const std::string& name) {
  std::vector<std::string> names;
  for (const std::string& line : class_lines(text, name)) names.push_back(trim(line));
  return names;
}

ClassColours parse_class_colours(const std::string& text, const std::string& name) {
  ClassColours colours;
  std::set<std::array<uint8_t, 3>> seen;
  const std::vector<std::string> lines = class_lines(text, name);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = quoted(name) + " line " + std::to_string(i + 1);
    const std::array<uint8_t, 3> rgb = parse_colour(lines[i], where);
    if (!seen.insert(rgb).second)
      throw Error(where + ": colour " + std::to_string(rgb[0]) + " " + std::to_string(rgb[1]) + " " +
                  std::to_string(rgb[2]) + " is given to an earlier class too");
    colours.push_back(rgb);
  }
  return colours;
}

std::vector<std::string> read_class_names(const std::string& path) {
  return parse_class_names(read_capped(path, kMaxClassFileBytes, "class names file"), path);
}

ClassColours read_class_colours(const std::string& path) {
  return parse_class_colours(read_capped(path, kMaxClassFileBytes, "class colours file"), path);
}

std::string label_name_for(const std::string& image_name, const std::vector<std::string>& label_names) {
  const std::string stem = fs::path(image_name).stem().string();
  for (const std::string& candidate : {image_name, stem + ".png", stem + "_L.png"})
    if (std::binary_search(label_names.begin(), label_names.end(), candidate)) return candidate;
  return "";
}

std::vector<SegSample> read_seg_split(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "valid" && split != "test")
    throw Error("unknown split '" + split + "' (train, valid or test)");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(quoted(dir) + " is not a directory");
  const fs::path images_dir = split_folder(dir, split + "_images");
  const fs::path labels_dir = split_folder(dir, split + "_labels");
  const std::vector<std::string> images = io::list_images(images_dir.string());
  const std::vector<std::string> labels = file_names(labels_dir);
  std::vector<SegSample> samples;
  samples.reserve(images.size());
  for (const std::string& image : images) {
    const std::string file = fs::path(image).filename().string();
    const std::string label = label_name_for(file, labels);
    if (label.empty())
      throw Error("image " + quoted(image) + " has no label in " + quoted(labels_dir.string()) + " (" + file + ", " +
                  fs::path(file).stem().string() + ".png or " + fs::path(file).stem().string() + "_L.png)");
    samples.push_back({image, (labels_dir / label).string()});
  }
  return samples;
}

SegDataset read_seg_dataset(const std::string& dir, const std::string& colours_file) {
  SegDataset data;
  data.root = dir;
  data.train = read_seg_split(dir, "train");
  data.valid = read_seg_split(dir, "valid");
  std::error_code ec;
  const fs::path names = fs::path(dir) / "class_names.txt";
  if (fs::exists(names, ec)) data.class_names = read_class_names(names.string());
  const fs::path colours = colours_file.empty() ? fs::path(dir) / "class_colours.txt" : fs::path(colours_file);
  if (!colours_file.empty() || fs::exists(colours, ec)) data.colours = read_class_colours(colours.string());
  return data;
}

// seeds/004's Cam_COLORMAP, in its order (37 colours for 32 names).
const ClassColours& camvid_seed_colours() {
  static const ClassColours kColours = {
      {0, 0, 0},       {128, 0, 0},     {0, 128, 0},     {128, 128, 0},  {0, 0, 128},    {128, 0, 128},
      {0, 128, 128},   {128, 128, 128}, {64, 0, 0},      {192, 0, 0},    {64, 128, 0},   {192, 128, 0},
      {64, 0, 128},    {192, 0, 128},   {64, 128, 128},  {192, 128, 128}, {0, 64, 0},    {128, 64, 0},
      {0, 192, 0},     {128, 192, 0},   {0, 64, 128},    {0, 32, 128},   {0, 16, 128},   {0, 64, 64},
      {0, 64, 32},     {0, 64, 16},     {64, 64, 128},   {0, 32, 16},    {32, 32, 32},   {16, 16, 16},
      {32, 16, 128},   {192, 16, 16},   {32, 32, 196},   {192, 32, 128}, {25, 15, 125},  {32, 124, 23},
      {111, 222, 113}};
  return kColours;
}

// seeds/004's Cam_CLASSES, in its order.
const std::vector<std::string>& camvid_seed_names() {
  static const std::vector<std::string> kNames = {
      "Animal",      "Archway",         "Bicyclist", "Bridge",         "Building",        "Car",
      "CartLuggagePram", "Child",       "Column_Pole", "Fence",        "LaneMkgsDriv",    "LaneMkgsNonDriv",
      "Misc_Text",   "MotorcycleScooter", "OtherMoving", "ParkingBlock", "Pedestrian",     "Road",
      "RoadShoulder", "Sidewalk",       "SignSymbol", "Sky",            "SUVPickupTruck", "TrafficCone",
      "TrafficLight", "Train",          "Tree",      "Truck_Bus",      "Tunnel",          "VegetationMisc",
      "Void",        "Wall"};
  return kNames;
}

}  // namespace reskit::tasks
