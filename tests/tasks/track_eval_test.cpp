// One-pass tracking evaluation against pysot's OPE benchmark restated in
// tests/reference/make_track_eval.py: IoU, success and precision curves,
// overall means; the OTB folder and pysot JSON layouts; result files and
// resuming; `reskit eval-track` end to end on a generated dataset.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/tasks/track_dataset.h"
#include "reskit/tasks/track_eval.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;
using tasks::TrackBox;

std::string dir(const std::string& sub) { return test::fixture("track_eval/" + sub); }

std::vector<TrackBox> boxes_of(const nlohmann::json& rows) {
  std::vector<TrackBox> out;
  for (const auto& r : rows) out.push_back({r[0].get<double>(), r[1].get<double>(), r[2].get<double>(), r[3].get<double>()});
  return out;
}

void expect_curve(const std::vector<double>& got, const nlohmann::json& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i].get<double>(), 1e-9) << what << " [" << i << "]";
}

void expect_same_boxes(const std::vector<TrackBox>& got, const std::vector<TrackBox>& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].x, expected[i].x) << what << " #" << i;
    EXPECT_EQ(got[i].y, expected[i].y) << what << " #" << i;
    EXPECT_EQ(got[i].w, expected[i].w) << what << " #" << i;
    EXPECT_EQ(got[i].h, expected[i].h) << what << " #" << i;
  }
}

// The error's message, which must be one line; "" when nothing was thrown.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  ADD_FAILURE() << "no error";
  return "";
}

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A sequence folder with `frames` copies of a fixture image and a groundtruth text.
void make_sequence(const std::string& root, const std::string& name, int frames, const std::string& gt,
                   const std::string& gt_name = "groundtruth_rect.txt") {
  fs::create_directories(root + "/" + name + "/img");
  for (int i = 1; i <= frames; ++i)
    fs::copy_file(dir("OTBtiny/Square/img/0001.jpg"), root + "/" + name + "/img/000" + std::to_string(i) + ".jpg");
  if (!gt.empty()) write_file(root + "/" + name + "/" + gt_name, gt);
}

// --- metrics ---------------------------------------------------------------

TEST(TrackEvalMetrics, ThresholdsAreNumpys) {
  const nlohmann::json m = test::read_json(dir("metrics.json"));
  const std::vector<double> overlap = tasks::overlap_thresholds(), error = tasks::error_thresholds();
  ASSERT_EQ(overlap.size(), 21u);
  ASSERT_EQ(error.size(), 51u);
  for (size_t i = 0; i < overlap.size(); ++i) EXPECT_EQ(overlap[i], m["overlap_thresholds"][i].get<double>()) << i;
  for (size_t i = 0; i < error.size(); ++i) EXPECT_EQ(error[i], m["error_thresholds"][i].get<double>()) << i;
}

TEST(TrackEvalMetrics, OverlapRatioHasTheStatedValues) {
  const nlohmann::json m = test::read_json(dir("metrics.json"));
  for (const nlohmann::json& c : m["cases"]) {
    const std::string name = c["name"];
    const std::vector<double> iou = tasks::overlap_ratio(boxes_of(c["gt"]), boxes_of(c["result"]));
    ASSERT_EQ(iou.size(), c["iou_all"].size()) << name;
    for (size_t i = 0; i < iou.size(); ++i) {
      if (c["iou_all"][i].is_null()) {
        EXPECT_TRUE(std::isnan(iou[i])) << name << " #" << i << ": " << iou[i];
        continue;
      }
      EXPECT_NEAR(iou[i], c["iou_all"][i].get<double>(), 1e-12) << name << " #" << i;
      if (c["iou"].is_array() && !c["iou"][i].is_null())  // the hand-made cases' known values
        EXPECT_NEAR(iou[i], c["iou"][i].get<double>(), 1e-15) << name << " #" << i;
    }
  }
}

TEST(TrackEvalMetrics, CurvesEqualTheReference) {
  const nlohmann::json m = test::read_json(dir("metrics.json"));
  std::vector<tasks::SequenceScore> scores;
  for (const nlohmann::json& c : m["cases"]) {
    const std::string name = c["name"];
    const tasks::SequenceScore s = tasks::score_sequence(name, boxes_of(c["gt"]), boxes_of(c["result"]));
    expect_curve(s.success, c["success"], name + " success");
    expect_curve(s.precision, c["precision"], name + " precision");
    EXPECT_NEAR(s.auc, c["auc"].get<double>(), 1e-9) << name;
    EXPECT_NEAR(s.precision_20, c["precision_20"].get<double>(), 1e-9) << name;
    scores.push_back(s);
  }
  const tasks::OpeReport r = tasks::summarize("cases", "reference", scores);
  const nlohmann::json& o = m["overall"];
  EXPECT_NEAR(r.auc, o["success_auc"].get<double>(), 1e-9);
  EXPECT_NEAR(r.precision_20, o["precision_20"].get<double>(), 1e-9);
  expect_curve(r.success, o["success"], "overall success");
  expect_curve(r.precision, o["precision"], "overall precision");
}

TEST(TrackEvalMetrics, UnequalLengthsAreErrors) {
  EXPECT_EQ(error_of([] { tasks::score_sequence("Basketball", {{1, 1, 5, 5}}, {}); }),
            "sequence 'Basketball': 0 results for 1 frames");
  EXPECT_EQ(error_of([] { tasks::summarize("OTB100", "t", {}); }), "no sequence was evaluated");
}

TEST(TrackEvalMetrics, InitBoxIsTestPysHalfPixelShift) {
  const TrackBox b = tasks::init_box({198, 214, 34, 81});
  EXPECT_EQ(b.x, 198.5);
  EXPECT_EQ(b.y, 214.5);
  EXPECT_EQ(b.w, 34);
  EXPECT_EQ(b.h, 81);
}

// --- text formats -------------------------------------------------------------

TEST(TrackEvalText, GroundTruthSeparators) {
  const nlohmann::json texts = test::read_json(dir("ground_truth.json"));
  ASSERT_EQ(texts.size(), 4u);
  for (auto it = texts.begin(); it != texts.end(); ++it)
    expect_same_boxes(tasks::parse_ground_truth(it.value().at("text").get<std::string>(), it.key()),
                      boxes_of(it.value().at("boxes")), it.key());
}

TEST(TrackEvalText, ResultFilesReadAsPysotReadsThem) {
  const nlohmann::json r = test::read_json(dir("result.json"));
  const std::vector<TrackBox> expected = boxes_of(r["boxes"]);
  expect_same_boxes(tasks::parse_result(r["text"], "result.txt"), expected, "pysot's text");
  // What we write reads back bit-equal, in Python's spellings.
  const std::string ours = tasks::format_result(expected);
  EXPECT_EQ(ours.substr(0, ours.find('\n')), "198.5,214.5,34.0,81.0");
  expect_same_boxes(tasks::parse_result(ours, "ours.txt"), expected, "ours");
}

TEST(TrackEvalText, BadLinesAreOneLineErrors) {
  EXPECT_EQ(error_of([] { tasks::parse_ground_truth("1,2,3,4\n1,2,3\n", "gt.txt"); }),
            "gt.txt:2: expected 4 numbers x,y,w,h, got 3");
  EXPECT_EQ(error_of([] { tasks::parse_ground_truth("1,2,3,4,5\n", "gt.txt"); }),
            "gt.txt:1: expected 4 numbers x,y,w,h, got more");
  EXPECT_EQ(error_of([] { tasks::parse_ground_truth("1,2,abc,4\n", "gt.txt"); }), "gt.txt:1: 'abc' is not a number");
  EXPECT_EQ(error_of([] { tasks::parse_ground_truth("1,2,nan,4\n", "gt.txt"); }), "gt.txt:1: 'nan' is not a number");
  EXPECT_EQ(error_of([] { tasks::parse_ground_truth("1,2,3,4\n\n5,6,7,8\n", "gt.txt"); }),
            "gt.txt:2: empty line before the last box");
  EXPECT_EQ(error_of([] { tasks::parse_result("1,2,3,4\n1;2;3;4\n", "r.txt"); }), "r.txt:2: '1;2;3;4' is not a number");
  EXPECT_EQ(error_of([] { tasks::parse_result("1,2,3\n", "r.txt"); }), "r.txt:1: expected 4 numbers x,y,w,h, got 3");
  EXPECT_EQ(error_of([] { tasks::parse_result("1,2,3,4\n\n", "r.txt"); }), "r.txt:2: '' is not a number");
  EXPECT_EQ(error_of([] { tasks::parse_result("1,2,3,4,5\n", "r.txt"); }), "r.txt:1: more than 4 numbers");
}

// --- datasets -------------------------------------------------------------------

void expect_dataset(const tasks::TrackDataset& data, const std::string& root, const nlohmann::json& expected) {
  ASSERT_EQ(data.sequences.size(), expected.size());
  size_t i = 0;
  for (auto it = expected.begin(); it != expected.end(); ++it) {  // nlohmann's keys are sorted, as ours must be
    const std::string& name = it.key();
    const nlohmann::json& seq = it.value();
    const tasks::TrackSequence& s = data.sequences[i++];
    EXPECT_EQ(s.name, name);
    ASSERT_EQ(s.frames.size(), seq["frames"].size()) << name;
    for (size_t k = 0; k < s.frames.size(); ++k)
      EXPECT_EQ(fs::path(s.frames[k]).lexically_normal(), (fs::path(root) / seq["frames"][k].get<std::string>()).lexically_normal())
          << name << " #" << k;
    expect_same_boxes(s.ground_truth, boxes_of(seq["gt"]), name);
  }
}

TEST(TrackEvalDataset, ReadsOtbFolders) {
  const tasks::TrackDataset data = tasks::open_track_dataset(dir("OTBtiny"));
  EXPECT_EQ(data.name, "OTBtiny");
  EXPECT_EQ(data.source, "");
  expect_dataset(data, dir("OTBtiny"), test::read_json(dir("OTBtiny.json")));
  // A trailing separator names the same dataset.
  EXPECT_EQ(tasks::open_track_dataset(dir("OTBtiny") + "/").name, "OTBtiny");
  // eval-track's own report, when --out is the dataset's folder, is not the dataset's JSON.
  const std::string copy = test::temp_dir("track_eval_report") + "/OTBtiny";
  std::filesystem::copy(dir("OTBtiny"), copy, std::filesystem::copy_options::recursive);
  std::ofstream(copy + "/eval.json") << "{\"dataset\": \"OTBtiny\"}\n";
  EXPECT_EQ(tasks::open_track_dataset(copy).sequences.size(), data.sequences.size());
}

TEST(TrackEvalDataset, ReadsPysotJson) {
  const tasks::TrackDataset data = tasks::open_track_dataset(dir("PysotTiny"));
  EXPECT_EQ(data.name, "PysotTiny");
  EXPECT_EQ(fs::path(data.source).filename(), "PysotTiny.json");
  expect_dataset(data, dir("PysotTiny"), test::read_json(dir("PysotTiny.json")));
  ASSERT_GE(data.sequences.size(), 1u);
  EXPECT_EQ(data.sequences[0].name, "Late");
  EXPECT_EQ(data.sequences[0].frames.size(), 4u);  // frames 3..6 of Square's img/
  EXPECT_EQ(data.sequences.back().attributes, std::vector<std::string>({"OCC", "IPR"}));  // Tabbed
}

TEST(TrackEvalDataset, BadFoldersAreOneLineErrors) {
  const std::string root = test::temp_dir("track_bad_folders");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(root + "/none"); }), "'" + root + "/none' is not a directory");
  EXPECT_NE(error_of([&] { tasks::open_track_dataset(root); }).find("holds no sequences"), std::string::npos);

  const std::string no_img = root + "/no_img";
  write_file(no_img + "/Car/groundtruth_rect.txt", "1,2,3,4\n");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(no_img); }), "'" + no_img + "/Car' has no img/ folder");

  const std::string no_gt = root + "/no_gt";
  make_sequence(no_gt, "Car", 2, "");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(no_gt); }), "'" + no_gt + "/Car' has img/ but no groundtruth_rect.txt");

  const std::string unequal = root + "/unequal";
  make_sequence(unequal, "Car", 3, "1,2,3,4\n1,2,3,4\n");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(unequal); }),
            unequal + "/Car/groundtruth_rect.txt: sequence 'Car' has 2 boxes for 3 frames (a sequence that starts "
                      "later needs pysot's dataset JSON)");

  const std::string bad_line = root + "/bad_line";
  make_sequence(bad_line, "Car", 2, "1,2,3,4\n1 2 x 4\n", "groundtruth_rect.2.txt");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(bad_line); }), bad_line + "/Car/groundtruth_rect.2.txt:2: 'x' is not a number");

  // Past the cap the file is refused unread (a sparse file: no disk used).
  const std::string large = root + "/large";
  make_sequence(large, "Car", 1, "1,2,3,4\n");
  fs::resize_file(large + "/Car/groundtruth_rect.txt", tasks::kMaxGroundTruthBytes + 1);
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(large); }),
            "'" + large + "/Car/groundtruth_rect.txt' is larger than 64 MiB: not a groundtruth file");
}

TEST(TrackEvalDataset, BadJsonIsOneLineErrors) {
  const std::string root = test::temp_dir("track_bad_json") + "/Set";
  make_sequence(root, "Car", 2, "");
  const std::string json = root + "/Set.json";
  const auto open_with = [&](const std::string& text) {
    write_file(json, text);
    return error_of([&] { tasks::open_track_dataset(root); });
  };
  EXPECT_EQ(open_with("{\"Car\": {").rfind(json + ": malformed JSON (", 0), 0u);
  EXPECT_EQ(open_with("[]"), json + ": expected an object of videos, {\"Basketball\": {...}, ...}");
  EXPECT_EQ(open_with("{}"), json + " lists no videos");
  EXPECT_EQ(open_with(R"({"Car": {"img_names": ["Car/img/0001.jpg"]}})"), json + ": video 'Car': no \"gt_rect\" list");
  EXPECT_EQ(open_with(R"({"Car": {"img_names": ["Car/img/0001.jpg"], "gt_rect": [[1, 2, 3]]}})"),
            json + ": video 'Car': gt_rect[0]: expected [x, y, w, h]");
  EXPECT_EQ(open_with(R"({"Car": {"img_names": ["Car/img/0001.jpg"], "gt_rect": [[1, 2, "3", 4]]}})"),
            json + ": video 'Car': gt_rect[0]: expected a number, got \"3\"");
  EXPECT_EQ(open_with(R"({"Car": {"img_names": ["Car/img/0001.jpg", "Car/img/0002.jpg"], "gt_rect": [[1, 2, 3, 4]]}})"),
            json + ": sequence 'Car' has 1 boxes for 2 frames (a sequence that starts later needs pysot's dataset JSON)");
  EXPECT_EQ(open_with(R"({"Car": {"img_names": ["Car/img/0009.jpg"], "gt_rect": [[1, 2, 3, 4]]}})"),
            json + ": video 'Car': image '" + root + "/Car/img/0009.jpg' does not exist");
  EXPECT_EQ(open_with(R"({"../Car": {"img_names": ["Car/img/0001.jpg"], "gt_rect": [[1, 2, 3, 4]]}})"),
            json + ": '../Car' cannot name a sequence (it names its result file)");
  // Two JSON files, neither named after the folder: which one is meant is unclear.
  fs::remove(json);
  write_file(root + "/a.json", "{}");
  write_file(root + "/b.json", "{}");
  EXPECT_EQ(error_of([&] { tasks::open_track_dataset(root); }),
            "'" + root + "' holds 2 JSON files and no Set.json: which is the dataset's is unclear");
}

// --- the evaluation loop, with a stand-in tracker ------------------------------------

// Ground truth moved by a few pixels a frame, the first box init_box's.
std::vector<TrackBox> fake_track(const tasks::TrackSequence& s, size_t index) {
  std::vector<TrackBox> out{tasks::init_box(s.ground_truth[0])};
  for (size_t i = 1; i < s.ground_truth.size(); ++i) {
    const TrackBox& g = s.ground_truth[i];
    out.push_back({g.x + 1.5 * i + index, g.y - 0.75 * i, g.w * (1 + 0.1 * i), g.h});
  }
  return out;
}

size_t lines_of(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// The reference scoring pysot-style result files (make_track_eval.evaluate).
nlohmann::json reference_scores(const std::string& results_dir, const std::string& expected_json) {
  const auto py = test::run_python("import sys\nsys.path.insert(0, " + test::shell_quote(std::string(RESKIT_TEST_SOURCE_DIR) + "/reference") +
                                   ")\nimport make_track_eval as m\nm.evaluate(" + test::shell_quote(results_dir) + ", " +
                                   test::shell_quote(expected_json) + ")\n");
  EXPECT_EQ(py.status, 0) << py.err;
  return nlohmann::json::parse(py.out);
}

void expect_report_matches(const nlohmann::json& report, const nlohmann::json& reference) {
  EXPECT_NEAR(report["success_auc"].get<double>(), reference["overall"]["success_auc"].get<double>(), 1e-9);
  EXPECT_NEAR(report["precision_20"].get<double>(), reference["overall"]["precision_20"].get<double>(), 1e-9);
  expect_curve(report["success"].get<std::vector<double>>(), reference["overall"]["success"], "overall success");
  expect_curve(report["precision"].get<std::vector<double>>(), reference["overall"]["precision"], "overall precision");
  ASSERT_EQ(report["sequences"].size(), reference["sequences"].size());
  for (const nlohmann::json& s : report["sequences"]) {
    const nlohmann::json& ref = reference["sequences"].at(s["name"].get<std::string>());
    EXPECT_NEAR(s["success_auc"].get<double>(), ref["auc"].get<double>(), 1e-9) << s["name"];
    EXPECT_NEAR(s["precision_20"].get<double>(), ref["precision_20"].get<double>(), 1e-9) << s["name"];
    expect_curve(s["success"].get<std::vector<double>>(), ref["success"], s["name"].get<std::string>() + " success");
    expect_curve(s["precision"].get<std::vector<double>>(), ref["precision"], s["name"].get<std::string>() + " precision");
  }
}

TEST(TrackEvalRun, WritesPysotFilesAndResumes) {
  const tasks::TrackDataset data = tasks::open_track_dataset(dir("OTBtiny"));
  const std::string out = test::temp_dir("track_run");
  size_t runs = 0;
  const auto counting = [&](const tasks::TrackSequence& s, size_t i) {
    ++runs;
    return fake_track(s, i);
  };
  std::ostringstream log;
  const tasks::OpeReport first = tasks::run_ope(data, out, "fake", counting, &log);
  EXPECT_EQ(runs, data.sequences.size());
  EXPECT_EQ(log.str(), "");
  for (const tasks::TrackSequence& s : data.sequences) {
    const std::string path = out + "/fake/" + s.name + ".txt";
    EXPECT_EQ(lines_of(path), s.frames.size()) << path;
    expect_same_boxes(tasks::read_result(path), fake_track(s, &s - data.sequences.data()), s.name);
  }
  const nlohmann::json eval = test::read_json(out + "/eval.json");
  EXPECT_EQ(eval.dump(), nlohmann::json::parse(tasks::report_json(first)).dump());
  EXPECT_EQ(eval["dataset"], "OTBtiny");
  EXPECT_EQ(eval["tracker"], "fake");
  expect_report_matches(eval, reference_scores(out + "/fake", dir("OTBtiny.json")));

  // Again: nothing is tracked, the numbers are the same.
  runs = 0;
  const tasks::OpeReport second = tasks::run_ope(data, out, "fake", counting, &log);
  EXPECT_EQ(runs, 0u);
  EXPECT_EQ(tasks::report_json(second), tasks::report_json(first));
  EXPECT_NE(log.str().find("Square: results in '" + out + "/fake/Square.txt', not re-run\n"), std::string::npos) << log.str();

  // A result file of the wrong length (another dataset's, say) is tracked again.
  write_file(out + "/fake/Tabbed.txt", "1,2,3,4\n");
  log.str("");
  const tasks::OpeReport third = tasks::run_ope(data, out, "fake", counting, &log);
  EXPECT_EQ(runs, 1u);
  EXPECT_EQ(tasks::report_json(third), tasks::report_json(first));
  EXPECT_NE(log.str().find("Tabbed: '" + out + "/fake/Tabbed.txt' has 1 boxes for 6 frames: re-run\n"), std::string::npos)
      << log.str();

  // A tracker that fails leaves no result file behind.
  fs::remove(out + "/fake/Square.txt");
  const auto failing = [](const tasks::TrackSequence&, size_t) -> std::vector<TrackBox> { throw Error("tracker broke"); };
  EXPECT_EQ(error_of([&] { tasks::run_ope(data, out, "fake", failing, nullptr); }), "tracker broke");
  EXPECT_FALSE(fs::exists(out + "/fake/Square.txt"));
  EXPECT_EQ(error_of([&] { tasks::run_ope(data, out, "../up", counting, nullptr); }),
            "'../up' cannot name a tracker: it names the results' folder under the output directory");
}

// --- the command ---------------------------------------------------------------------

#ifdef RESKIT_HAVE_OPENCV
// siamban_r50 with its seeded initialisation (no --weights) on OTBtiny: what
// it tracks is arbitrary, but the files and the metrics on them are pysot's.
TEST(TrackEvalCli, EndToEndAndResume) {
  const std::string out = test::temp_dir("track_cli");
  const std::string args = "eval-track " + test::shell_quote(dir("OTBtiny")) + " --out " + test::shell_quote(out);
  const auto first = test::run_reskit(args + " --format json");
  ASSERT_EQ(first.status, 0) << first.err;
  const std::string tracker = "siamban_r50_l234_otb";
  for (const char* name : {"Pair-1", "Pair-2", "Square", "Tabbed"}) {
    const std::string path = out + "/" + tracker + "/" + name + ".txt";
    EXPECT_EQ(lines_of(path), 6u) << path;
  }
  for (const char* file : {"eval.json", "success_plot.png", "precision_plot.png"})
    EXPECT_TRUE(fs::is_regular_file(out + "/" + file)) << file;
  EXPECT_EQ(test::read_text(out + "/success_plot.png").substr(1, 3), "PNG");
  EXPECT_NE(first.err.find("Video: Square"), std::string::npos) << first.err;  // test.py's speed line
  const nlohmann::json report = nlohmann::json::parse(first.out);
  EXPECT_EQ(report, test::read_json(out + "/eval.json"));
  expect_report_matches(report, reference_scores(out + "/" + tracker, dir("OTBtiny.json")));
  // The first frame is the start box: half a pixel off the ground truth, an IoU of ~0.9.
  EXPECT_GT(report["success_auc"].get<double>(), 0.0);

  const auto second = test::run_reskit(args + " --format json");
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out), report);
  for (const char* name : {"Pair-1", "Pair-2", "Square", "Tabbed"})
    EXPECT_NE(second.err.find(std::string(name) + ": results in '" + out + "/" + tracker + "/" + name + ".txt', not re-run"),
              std::string::npos)
        << second.err;
  EXPECT_EQ(second.err.find("Video:"), std::string::npos) << "a finished sequence was tracked again: " << second.err;

  const auto text = test::run_reskit(args + " --quiet");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.err, "");
  EXPECT_NE(text.out.find("Video name"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("plots:   " + out + "/success_plot.png, " + out + "/precision_plot.png\n"), std::string::npos)
      << text.out;
}

TEST(TrackEvalCli, BadDatasetIsOneLine) {
  const std::string root = test::temp_dir("track_cli_bad");
  const auto r = test::run_reskit("eval-track " + test::shell_quote(root) + " --quiet");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "reskit: '" + root + "' holds no sequences: neither " + fs::path(root).filename().string() +
                       ".json (pysot's) nor folders with img/ and groundtruth_rect.txt (OTB's)\n");
  EXPECT_EQ(test::run_reskit("eval-track").err, "reskit: eval-track: no DATASET_DIR given\n");
}
#endif

}  // namespace
}  // namespace reskit
