#pragma once
// One-pass evaluation (OPE) of a single-object tracker as pysot's toolkit
// scores OTB: toolkit/evaluation/ope_benchmark.py's OPEBenchmark over
// toolkit/utils/statistics.py, and tools/test.py's result files.
//
//  * success: per frame the IoU of the result with the ground truth (no +1
//    pixel in the areas), -1 where the ground truth has w or h <= 0; the
//    curve at overlap thresholds 0, 0.05, ..., 1 is the share of frames with
//    IoU strictly above each, over all frames (masked ones included). A
//    sequence's AUC is the curve's mean.
//  * precision: the distance of the centres x + (w - 1) / 2, y + (h - 1) / 2,
//    -1 where the ground truth's centre has a coordinate <= 0; the curve at
//    0, 1, ..., 50 px is the share of frames within each (<=).
//  * overall: means over the sequences (show_result): the AUC, and the mean
//    precision curve at 20 px.
//
// Result files are pysot's: OUT/<tracker>/<sequence>.txt, one "x,y,w,h" line
// a frame, the first the box the tracker was started with; metrics are
// computed on what the files hold, as pysot reads them back.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "reskit/tasks/track_dataset.h"
#include "reskit/tasks/tracking.h"

namespace reskit::tasks {

// np.arange(0, 1.05, 0.05) (21 values) and np.arange(0, 51, 1).
std::vector<double> overlap_thresholds();
std::vector<double> error_thresholds();
// The precision reported is the curve here (20 px).
constexpr size_t kPrecisionIndex = 20;

// statistics.overlap_ratio for boxes of the same length: IoU clipped to
// [0, 1]; 0/0 (two empty boxes) stays NaN, which no threshold counts.
std::vector<double> overlap_ratio(const std::vector<TrackBox>& a, const std::vector<TrackBox>& b);
// statistics.success_overlap: the 21-point success curve.
std::vector<double> success_overlap(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& result);
// OPEBenchmark.convert_bb_to_center then statistics.success_error: the
// 51-point precision curve.
std::vector<double> success_error(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& result);

struct SequenceScore {
  std::string name;
  size_t frames = 0;
  std::vector<double> success, precision;  // the curves
  double auc = 0, precision_20 = 0;
};
// Unequal lengths are an error naming the sequence.
SequenceScore score_sequence(const std::string& name, const std::vector<TrackBox>& gt,
                             const std::vector<TrackBox>& result);

struct OpeReport {
  std::string dataset, tracker;
  std::vector<SequenceScore> sequences;
  std::vector<double> success, precision;  // mean curves
  double auc = 0, precision_20 = 0;
};
OpeReport summarize(const std::string& dataset, const std::string& tracker, std::vector<SequenceScore> sequences);

// A table as show_result(show_video_level=True) prints it, without colours;
// each sequence's precision is its curve at 20 px (show_result's video rows
// print the curve's mean instead, which is not the OTB precision).
std::string report_table(const OpeReport& report);
// The same as JSON (curves included), as eval.json holds it.
std::string report_json(const OpeReport& report);

// tools/test.py's first box: get_axis_aligned_bbox's centre x + w / 2, back
// to a corner with (w - 1) / 2; half a pixel right of and below the ground
// truth. The tracker is started with it and it is the result's first line.
TrackBox init_box(const TrackBox& gt);

// Result files: pysot's "x,y,w,h" lines (Python's repr of each number);
// read back as pysot's load_tracker does (comma-separated floats), with
// exactly 4 numbers a line. A file past kMaxGroundTruthBytes is refused.
std::string result_path(const std::string& out_dir, const std::string& tracker, const std::string& sequence);
std::string format_result(const std::vector<TrackBox>& boxes);
std::vector<TrackBox> parse_result(const std::string& text, const std::string& source);
std::vector<TrackBox> read_result(const std::string& path);
void write_result(const std::string& path, const std::vector<TrackBox>& boxes);

// Tracks one sequence: a box per frame, the first init_box(gt[0]).
using SequenceRunner = std::function<std::vector<TrackBox>(const TrackSequence& sequence, size_t index)>;

// The whole evaluation: every sequence whose result file is missing (or has
// not one line per frame) is run and its file written atomically; the rest
// are not re-run, which `log` is told (nullptr: nothing said). Then the
// report, also written to OUT/eval.json.
OpeReport run_ope(const TrackDataset& dataset, const std::string& out_dir, const std::string& tracker,
                  const SequenceRunner& run, std::ostream* log);

}  // namespace reskit::tasks
