#include "reskit/tasks/track_eval.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/io/atomic_file.h"

namespace reskit::tasks {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy's maximum and minimum: a NaN operand gives NaN (std::max does not).
double np_maximum(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : (a > b ? a : b); }
double np_minimum(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : (a < b ? a : b); }

// Python's str.center: the odd space goes to the right.
std::string center(const std::string& s, size_t width) {
  if (s.size() >= width) return s;
  const size_t left = (width - s.size()) / 2;
  return std::string(left, ' ') + s + std::string(width - s.size() - left, ' ');
}

std::string fixed3(double v) { return python_fixed(v, 3); }

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

std::vector<double> mean_curve(const std::vector<SequenceScore>& scores, std::vector<double> SequenceScore::*curve) {
  std::vector<double> out((scores.front().*curve).size(), 0.0);
  for (const SequenceScore& s : scores)
    for (size_t i = 0; i < out.size(); ++i) out[i] += (s.*curve)[i];
  for (double& v : out) v /= static_cast<double>(scores.size());
  return out;
}

std::string trimmed(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n\f\v");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n\f\v") - b + 1));
}

// The tracker's name is a folder under OUT: nothing that leaves it.
void check_tracker_name(const std::string& name) {
  check_file_name(name, "", "a tracker: it names the results' folder under the output directory");
}

}  // namespace

std::vector<double> overlap_thresholds() {
  std::vector<double> t;
  for (int i = 0; i < 21; ++i) t.push_back(i * 0.05);  // numpy's arange fills start + i * step
  return t;
}

std::vector<double> error_thresholds() {
  std::vector<double> t;
  for (int i = 0; i <= 50; ++i) t.push_back(i);
  return t;
}

std::vector<double> overlap_ratio(const std::vector<TrackBox>& a, const std::vector<TrackBox>& b) {
  if (a.size() != b.size()) throw Error("overlap_ratio: " + std::to_string(a.size()) + " boxes against " +
                                        std::to_string(b.size()));
  std::vector<double> iou(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const TrackBox &p = a[i], &q = b[i];
    const double left = np_maximum(p.x, q.x), right = np_minimum(p.x + p.w, q.x + q.w);
    const double top = np_maximum(p.y, q.y), bottom = np_minimum(p.y + p.h, q.y + q.h);
    const double intersect = np_maximum(0, right - left) * np_maximum(0, bottom - top);
    const double unite = p.w * p.h + q.w * q.h - intersect;
    iou[i] = np_maximum(np_minimum(1, intersect / unite), 0);
  }
  return iou;
}

std::vector<double> success_overlap(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& result) {
  if (gt.size() != result.size()) throw Error("success_overlap: " + std::to_string(result.size()) +
                                              " results for " + std::to_string(gt.size()) + " frames");
  std::vector<double> iou(gt.size(), -1.0);
  for (size_t i = 0; i < gt.size(); ++i)
    if (gt[i].w > 0 && gt[i].h > 0) iou[i] = overlap_ratio({gt[i]}, {result[i]})[0];
  const std::vector<double> thresholds = overlap_thresholds();
  std::vector<double> curve;
  for (double t : thresholds) {
    size_t above = 0;
    for (double v : iou) above += v > t;
    curve.push_back(static_cast<double>(above) / static_cast<double>(gt.size()));
  }
  return curve;
}

std::vector<double> success_error(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& result) {
  if (gt.size() != result.size()) throw Error("success_error: " + std::to_string(result.size()) +
                                              " results for " + std::to_string(gt.size()) + " frames");
  std::vector<double> dist(gt.size(), -1.0);
  for (size_t i = 0; i < gt.size(); ++i) {
    const double gx = gt[i].x + (gt[i].w - 1) / 2, gy = gt[i].y + (gt[i].h - 1) / 2;
    const double rx = result[i].x + (result[i].w - 1) / 2, ry = result[i].y + (result[i].h - 1) / 2;
    if (gx > 0 && gy > 0) dist[i] = std::sqrt((gx - rx) * (gx - rx) + (gy - ry) * (gy - ry));
  }
  std::vector<double> curve;
  for (double t : error_thresholds()) {
    size_t within = 0;
    for (double d : dist) within += d <= t;
    curve.push_back(static_cast<double>(within) / static_cast<double>(gt.size()));
  }
  return curve;
}

SequenceScore score_sequence(const std::string& name, const std::vector<TrackBox>& gt,
                             const std::vector<TrackBox>& result) {
  if (gt.empty() || gt.size() != result.size())
    throw Error("sequence '" + name + "': " + std::to_string(result.size()) + " results for " +
                std::to_string(gt.size()) + " frames");
  SequenceScore s;
  s.name = name;
  s.frames = gt.size();
  s.success = success_overlap(gt, result);
  s.precision = success_error(gt, result);
  s.auc = mean(s.success);
  s.precision_20 = s.precision[kPrecisionIndex];
  return s;
}

OpeReport summarize(const std::string& dataset, const std::string& tracker, std::vector<SequenceScore> sequences) {
  if (sequences.empty()) throw Error("no sequence was evaluated");
  OpeReport r;
  r.dataset = dataset;
  r.tracker = tracker;
  r.success = mean_curve(sequences, &SequenceScore::success);
  r.precision = mean_curve(sequences, &SequenceScore::precision);
  std::vector<double> aucs;
  for (const SequenceScore& s : sequences) aucs.push_back(s.auc);
  r.auc = mean(aucs);  // np.mean over all curves' points: the mean of the per-sequence means
  r.precision_20 = r.precision[kPrecisionIndex];
  r.sequences = std::move(sequences);
  return r;
}

std::string report_table(const OpeReport& r) {
  std::string out;
  const size_t name_width = std::max<size_t>(r.tracker.size() + 2, 12);
  const std::string header = "|" + center("Tracker name", name_width) + "|" + center("Success", 9) + "|" +
                             center("Precision", 11) + "|";
  const std::string rule(header.size(), '-');
  out += rule + "\n" + header + "\n" + rule + "\n";
  out += "|" + center(r.tracker, name_width) + "|" + center(fixed3(r.auc), 9) + "|" +
         center(fixed3(r.precision_20), 11) + "|\n" + rule + "\n\n";

  size_t video_width = 21;
  for (const SequenceScore& s : r.sequences) video_width = std::max(video_width, s.name.size() + 2);
  const std::string header1 = "|" + center("Tracker name", video_width) + "|" + center(r.tracker, 21) + "|";
  const std::string header2 = "|" + center("Video name", video_width) + "|" + center("success", 9) + "|" +
                              center("precision", 11) + "|";
  const std::string rule2(std::max(header1.size(), header2.size()), '-');
  out += rule2 + "\n" + header1 + "\n" + rule2 + "\n" + header2 + "\n" + rule2 + "\n";
  for (const SequenceScore& s : r.sequences)
    out += "|" + center(s.name, video_width) + "|" + center(fixed3(s.auc), 9) + "|" +
           center(fixed3(s.precision_20), 11) + "|\n";
  out += rule2 + "\n";
  return out;
}

std::string report_json(const OpeReport& r) {
  nlohmann::json sequences = nlohmann::json::array();
  for (const SequenceScore& s : r.sequences)
    sequences.push_back({{"name", s.name},
                         {"frames", s.frames},
                         {"success_auc", s.auc},
                         {"precision_20", s.precision_20},
                         {"success", s.success},
                         {"precision", s.precision}});
  const nlohmann::json j = {{"dataset", r.dataset},
                            {"tracker", r.tracker},
                            {"success_auc", r.auc},
                            {"precision_20", r.precision_20},
                            {"overlap_thresholds", overlap_thresholds()},
                            {"error_thresholds", error_thresholds()},
                            {"success", r.success},
                            {"precision", r.precision},
                            {"sequences", sequences}};
  return j.dump(2) + "\n";
}

TrackBox init_box(const TrackBox& gt) {
  const double cx = gt.x + gt.w / 2, cy = gt.y + gt.h / 2;
  return {cx - (gt.w - 1) / 2, cy - (gt.h - 1) / 2, gt.w, gt.h};
}

std::string result_path(const std::string& out_dir, const std::string& tracker, const std::string& sequence) {
  return (fs::path(out_dir) / tracker / (sequence + ".txt")).string();
}

std::string format_result(const std::vector<TrackBox>& boxes) {
  std::string out;
  for (const TrackBox& b : boxes)
    out += python_float_repr(b.x) + "," + python_float_repr(b.y) + "," + python_float_repr(b.w) + "," +
           python_float_repr(b.h) + "\n";
  return out;
}

std::vector<TrackBox> parse_result(const std::string& text, const std::string& source) {
  std::vector<TrackBox> boxes;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {  // readlines(): a final newline ends the last line, no empty one after it
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = source + ":" + std::to_string(line_no);
    double v[4];
    size_t count = 0, start = 0;
    const std::string body = trimmed(line);
    while (true) {  // str.split(','), then float() of each piece
      const size_t comma = body.find(',', start);
      const std::string token = trimmed(std::string_view(body).substr(start, comma == std::string::npos
                                                                                  ? std::string::npos
                                                                                  : comma - start));
      double d = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
      if (token.empty() || ec != std::errc() || ptr != token.data() + token.size())
        throw Error(where + ": '" + token.substr(0, 40) + "' is not a number");
      if (count == 4) throw Error(where + ": more than 4 numbers");
      v[count++] = d;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (count != 4) throw Error(where + ": expected 4 numbers x,y,w,h, got " + std::to_string(count));
    boxes.push_back({v[0], v[1], v[2], v[3]});
  }
  return boxes;
}

std::vector<TrackBox> read_result(const std::string& path) {
  return parse_result(read_capped(path, kMaxGroundTruthBytes, "result file"), path);
}

void write_result(const std::string& path, const std::vector<TrackBox>& boxes) {
  io::AtomicFile file(path);
  file.stream() << format_result(boxes);
  file.commit();
}

OpeReport run_ope(const TrackDataset& dataset, const std::string& out_dir, const std::string& tracker,
                  const SequenceRunner& run, std::ostream* log) {
  check_tracker_name(tracker);
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / tracker, ec);
  if (ec) throw Error("cannot create '" + (fs::path(out_dir) / tracker).string() + "': " + ec.message());
  std::vector<SequenceScore> scores;
  for (size_t i = 0; i < dataset.sequences.size(); ++i) {
    const TrackSequence& seq = dataset.sequences[i];
    const std::string path = result_path(out_dir, tracker, seq.name);
    std::vector<TrackBox> result;
    bool done = false;
    if (fs::exists(path)) {
      std::string why;
      try {
        result = read_result(path);
        done = result.size() == seq.frames.size();
        if (!done)
          why = "has " + std::to_string(result.size()) + " boxes for " + std::to_string(seq.frames.size()) + " frames";
      } catch (const Error& e) {
        why = std::string("cannot be read (") + e.what() + ")";
      }
      if (log) *log << seq.name << ": " << (done ? "results in '" + path + "', not re-run" : "'" + path + "' " + why + ": re-run") << '\n';
    }
    if (!done) {
      const std::vector<TrackBox> boxes = run(seq, i);
      if (boxes.size() != seq.frames.size())
        throw Error("sequence '" + seq.name + "': the tracker gave " + std::to_string(boxes.size()) + " boxes for " +
                    std::to_string(seq.frames.size()) + " frames");
      write_result(path, boxes);
      result = read_result(path);  // scored as pysot scores it: what the file holds
    }
    scores.push_back(score_sequence(seq.name, seq.ground_truth, result));
  }
  OpeReport report = summarize(dataset.name, tracker, std::move(scores));
  io::AtomicFile eval((fs::path(out_dir) / "eval.json").string());
  eval.stream() << report_json(report);
  eval.commit();
  return report;
}

}  // namespace reskit::tasks
