// SiamBAN's tracker against the Python reference written from the official
// one (tests/reference/make_siamban.py): points and window, get_subwindow's
// crops, every stage of the first tracked frame, the trajectory of a
// generated video (whole, and frame by frame from the reference's previous
// state), and the settings read from config.yaml files.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/opencv/tracker.h"
#include "reskit/tasks/tracking.h"
#include "test_util.h"

namespace reskit {
namespace {

std::string dir(const std::string& name) { return test::fixture("siamban/" + name); }

const models::Model& tracker_model() {
  static const tasks::PreparedModel prepared = [] {
    tasks::ModelRequest request;
    request.name = "siamban_r50";
    request.weights = dir("tracker/siamban_tracker.pth");
    return tasks::prepare_model(request);
  }();
  return prepared.model;
}

tasks::TrackBox box_of(const nlohmann::json& v) { return {v[0], v[1], v[2], v[3]}; }

at::Tensor frame(const nlohmann::json& params, size_t i) {
  return io::read_bgr_image(dir("tracker/frames/" + params["frames"][i].get<std::string>()));
}

TEST(Tracking, PointsAndWindowEqualTheReference) {
  const nlohmann::json p = test::read_json(dir("points/params.json"));
  const tasks::TrackerConfig config = tasks::tracker_config("siamban_r50_l234");
  ASSERT_EQ(tasks::score_size(config), p["size"].get<int64_t>());
  EXPECT_TRUE(at::equal(tasks::tracker_points(p["stride"], p["size"]), io::read_npy(dir("points/points.npy"))));
  EXPECT_TRUE(test::close(tasks::cosine_window(p["size"]).to(at::kFloat), io::read_npy(dir("points/window.npy")), 1e-7));
}

TEST(Tracking, CropsEqualGetSubwindow) {
  const nlohmann::json cases = test::read_json(dir("crops/cases.json"));
  const at::Tensor image = io::read_bgr_image(dir("crops/" + cases["image"].get<std::string>()));
  const auto avg = cases["avg_chans"].get<std::array<double, 3>>();
  for (const auto& c : cases["cases"]) {
    const at::Tensor ours = io::crop_subwindow(image, c["pos"][0], c["pos"][1], c["model_sz"], c["original_sz"], avg);
    const at::Tensor theirs = io::read_npy(dir("crops/" + c["file"].get<std::string>()));
    EXPECT_TRUE(at::equal(ours, theirs)) << c["name"] << ": max |diff| " << (ours - theirs).abs().max().item<float>();
  }
}

TEST(Tracking, FirstFrameEqualsTheReferenceStageByStage) {
  const nlohmann::json params = test::read_json(dir("tracker/params.json"));
  const nlohmann::json state = test::read_json(dir("tracker/first/state.json"));
  const std::string first = dir("tracker/first/");
  tasks::Tracker tracker(tracker_model(), c10::kCPU, tasks::tracker_config(params["config"]));
  const at::Tensor frame1 = frame(params, 0);
  tracker.init(frame1, box_of(params["init_bbox"]));
  for (int c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(tracker.channel_average()[c], state["channel_average"][c].get<double>());
  EXPECT_DOUBLE_EQ(tracker.state().cx, state["init_center_pos"][0].get<double>());
  EXPECT_DOUBLE_EQ(tracker.state().cy, state["init_center_pos"][1].get<double>());
  const at::Tensor z = io::crop_subwindow(frame1, tracker.state().cx, tracker.state().cy, 127,
                                          state["init_s_z"], tracker.channel_average());
  EXPECT_TRUE(at::equal(z, io::read_npy(first + "z_crop.npy")));

  tasks::TrackDetails d;
  const tasks::TrackResult r = tracker.track(frame(params, 1), &d);
  EXPECT_DOUBLE_EQ(d.s_z, state["s_z"].get<double>());
  EXPECT_DOUBLE_EQ(d.scale_z, state["scale_z"].get<double>());
  EXPECT_DOUBLE_EQ(d.s_x, state["s_x"].get<double>());
  EXPECT_EQ(d.s_x_rounded, state["s_x_rounded"].get<int64_t>());
  EXPECT_TRUE(at::equal(d.x_crop, io::read_npy(first + "x_crop.npy")));
  EXPECT_TRUE(test::close(d.cls, io::read_npy(first + "cls.npy"), 1e-4));
  EXPECT_TRUE(test::close(d.loc, io::read_npy(first + "loc.npy"), 1e-4));
  EXPECT_TRUE(test::close(d.score, io::read_npy(first + "score.npy"), 1e-4));
  EXPECT_TRUE(test::close(d.boxes, io::read_npy(first + "pred_bbox.npy"), 1e-4));
  EXPECT_TRUE(test::close(d.choice.penalty, io::read_npy(first + "penalty.npy"), 1e-4));
  EXPECT_TRUE(test::close(d.choice.pscore.to(at::kFloat), io::read_npy(first + "pscore.npy"), 1e-4));
  EXPECT_EQ(d.choice.best_idx, state["best_idx"].get<int64_t>());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d.choice.box[i], state["best_bbox"][i].get<double>(), 1e-3) << i;
  EXPECT_NEAR(d.choice.lr, state["lr"].get<double>(), 1e-5);
  EXPECT_NEAR(r.best_score, state["best_score"].get<double>(), 1e-5);
  const auto expected = box_of(state["bbox"]);
  EXPECT_NEAR(r.box.x, expected.x, 1e-3);
  EXPECT_NEAR(r.box.y, expected.y, 1e-3);
  EXPECT_NEAR(r.box.w, expected.w, 1e-3);
  EXPECT_NEAR(r.box.h, expected.h, 1e-3);
}

void expect_box_near(const tasks::TrackBox& a, const nlohmann::json& b, double tol, const std::string& what) {
  EXPECT_NEAR(a.x, b[0].get<double>(), tol) << what;
  EXPECT_NEAR(a.y, b[1].get<double>(), tol) << what;
  EXPECT_NEAR(a.w, b[2].get<double>(), tol) << what;
  EXPECT_NEAR(a.h, b[3].get<double>(), tol) << what;
}

// On either engine: the fast engine's per-frame step is compiled at init.
TEST(Tracking, TrajectoryEqualsTheReferenceTracker) {
  const nlohmann::json params = test::read_json(dir("tracker/params.json"));
  const nlohmann::json expected = test::read_json(dir("tracker/expected.json"));
  for (const tasks::Engine engine : {tasks::Engine::kEager, tasks::Engine::kFast}) {
    tasks::Tracker tracker(tracker_model(), c10::kCPU, tasks::tracker_config(params["config"]), engine);
    tracker.init(frame(params, 0), box_of(params["init_bbox"]));
    // The issue's bound is 0.5 px; the pieces agree far closer, so any real
    // drift shows. The fast engine's Winograd (F(4x4, 3x3), atrous in the
    // dilated stages) rounds differently from direct convolution, and the
    // box carries it from frame to frame: up to ~0.01 px here.
    const double tol = engine == tasks::Engine::kFast ? 0.02 : 0.01;
    for (size_t i = 1; i < params["frames"].size(); ++i) {
      const tasks::TrackResult r = tracker.track(frame(params, i));
      expect_box_near(r.box, expected[i - 1]["bbox"], tol,
                      params["frames"][i].get<std::string>() + (engine == tasks::Engine::kFast ? " (fast)" : ""));
    }
  }
}

TEST(Tracking, EachFrameFromTheReferencesPreviousStateEqualsIt) {
  const nlohmann::json params = test::read_json(dir("tracker/params.json"));
  const nlohmann::json expected = test::read_json(dir("tracker/expected.json"));
  tasks::Tracker tracker(tracker_model(), c10::kCPU, tasks::tracker_config(params["config"]));
  const tasks::TrackBox init = box_of(params["init_bbox"]);
  tracker.init(frame(params, 0), init);
  for (size_t i = 1; i < params["frames"].size(); ++i) {
    if (i > 1) {
      const auto& prev = expected[i - 2];
      tracker.set_state({prev["center_pos"][0], prev["center_pos"][1], prev["size"][0], prev["size"][1]});
    }
    tasks::TrackDetails d;
    const tasks::TrackResult r = tracker.track(frame(params, i), &d);
    const auto& e = expected[i - 1];
    EXPECT_EQ(d.choice.best_idx, e["best_idx"].get<int64_t>()) << e["frame"];
    EXPECT_EQ(d.s_x_rounded, e["s_x"].get<int64_t>()) << e["frame"];
    EXPECT_NEAR(r.best_score, e["best_score"].get<double>(), 1e-5) << e["frame"];
    EXPECT_NEAR(d.choice.lr, e["lr"].get<double>(), 1e-5) << e["frame"];
    expect_box_near(r.box, e["bbox"], 1e-3, e["frame"]);
  }
}

TEST(Tracking, OfficialConfigFilesLoad) {
  const nlohmann::json configs = test::read_json(dir("configs.json"));
  for (const auto& [name, cfg] : configs.items()) {
    for (const char* ext : {".yaml", ".json"}) {
      const tasks::TrackerConfig c = tasks::read_tracker_config(dir("configs/" + name + ext));
      const tasks::TrackerConfig builtin = tasks::tracker_config(name);
      EXPECT_EQ(c.name, name);
      EXPECT_EQ(c.penalty_k, cfg["TRACK"]["PENALTY_K"].get<double>()) << name << ext;
      EXPECT_EQ(c.window_influence, cfg["TRACK"]["WINDOW_INFLUENCE"].get<double>()) << name << ext;
      EXPECT_EQ(c.lr, cfg["TRACK"]["LR"].get<double>()) << name << ext;
      EXPECT_EQ(c.exemplar_size, cfg["TRACK"]["EXEMPLAR_SIZE"].get<int64_t>());
      EXPECT_EQ(c.instance_size, cfg["TRACK"]["INSTANCE_SIZE"].get<int64_t>());
      EXPECT_EQ(c.base_size, cfg["TRACK"]["BASE_SIZE"].get<int64_t>());
      EXPECT_EQ(c.context_amount, cfg["TRACK"]["CONTEXT_AMOUNT"].get<double>());
      EXPECT_EQ(c.point_stride, cfg["POINT"]["STRIDE"].get<int64_t>());
      EXPECT_EQ(builtin.penalty_k, c.penalty_k);
      EXPECT_EQ(builtin.window_influence, c.window_influence);
      EXPECT_EQ(builtin.lr, c.lr);
    }
  }
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string config_error(const std::string& path) {
  try {
    tasks::read_tracker_config(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Tracking, BadConfigsAreOneLineErrors) {
  const std::string d = test::temp_dir("tracker_config");
  write(d + "/partial.yaml", "TRACK:\n  LR: 0.5\n");
  const tasks::TrackerConfig partial = tasks::read_tracker_config(d + "/partial.yaml");
  EXPECT_EQ(partial.lr, 0.5);
  // core/config.py's default where the file is silent.
  EXPECT_EQ(partial.penalty_k, test::read_json(dir("configs/defaults.json"))["TRACK"]["PENALTY_K"].get<double>());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"type.yaml", "TRACK:\n  LR: fast\n"},
      {"range.yaml", "TRACK:\n  WINDOW_INFLUENCE: 1.5\n"},
      {"int.yaml", "TRACK:\n  INSTANCE_SIZE: 255.5\n"},
      {"sizes.yaml", "TRACK:\n  INSTANCE_SIZE: 100\n"},
      {"tracker.yaml", "TRACK:\n  TYPE: 'SiamRPNTracker'\n"},
      {"syntax.yaml", "TRACK:\n  LR: [0.5\n"},
      {"list.yaml", "- 1\n- 2\n"},
      {"cells.yaml", "TRACK:\n  EXEMPLAR_SIZE: 1\n  INSTANCE_SIZE: 4096\nPOINT:\n  STRIDE: 1\n"},
      // Aliases of aliases: a few lines that would expand to 10^12 values.
      {"bomb.yaml", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"},
  };
  for (const auto& [name, text] : bad) {
    write(d + "/" + name, text);
    const std::string e = config_error(d + "/" + name);
    EXPECT_FALSE(e.empty()) << name;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_NE(e.find(name), std::string::npos) << e;
  }
  EXPECT_NE(config_error(d + "/missing.yaml").find("does not exist"), std::string::npos);
  // A file's size is checked before it is read: a huge one costs nothing.
  write(d + "/huge.yaml", "");
  std::filesystem::resize_file(d + "/huge.yaml", 3u << 20);
  EXPECT_NE(config_error(d + "/huge.yaml").find("larger than 1 MiB"), std::string::npos);
}

TEST(Tracking, BadInitBoxesAreErrors) {
  const nlohmann::json params = test::read_json(dir("tracker/params.json"));
  tasks::Tracker tracker(tracker_model(), c10::kCPU, tasks::tracker_config("siamban_r50_l234"));
  const at::Tensor image = frame(params, 0);
  EXPECT_THROW(tracker.init(image, {10, 10, 0, 20}), Error);
  EXPECT_THROW(tracker.init(image, {10, 10, 20, -3}), Error);
  EXPECT_THROW(tracker.init(image, {400, 10, 20, 20}), Error);
  EXPECT_THROW(tracker.init(image, {-50, 10, 20, 20}), Error);
  EXPECT_THROW(tracker.init(image, {0, 0, std::numeric_limits<double>::infinity(), 20}), Error);
  EXPECT_THROW(tracker.init(image, {0, 0, std::nan(""), 20}), Error);
  EXPECT_THROW(tracker.init(image, {0, 0, 1e9, 1e9}), Error);  // its crop would be gigabytes
  EXPECT_THROW(tracker.track(image), Error);  // no init yet
}

}  // namespace
}  // namespace reskit
