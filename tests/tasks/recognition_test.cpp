// reskit recognize against mmaction2 1.2.0 (tests/reference/make_recognize.py):
// SampleFrames' indices, Resize/ThreeCrop/CenterCrop boxes, and the whole
// pipeline's averaged probabilities on videos and a frames directory.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <utility>

#include "reskit/io/npy.h"
#include "reskit/tasks/recognition.h"
#include "test_util.h"

namespace reskit {
namespace {

TEST(Recognition, SampleFramesEqualsMmaction2) {
  for (const auto& c : test::read_json(test::fixture("recognize/sampling.json"))) {
    const auto clips = tasks::sample_test_clips(c["total_frames"], c["clip_len"], c["frame_interval"], c["num_clips"]);
    std::vector<int64_t> flat;
    for (const auto& clip : clips) flat.insert(flat.end(), clip.begin(), clip.end());
    EXPECT_EQ(flat, c["frame_inds"].get<std::vector<int64_t>>()) << c.dump();
  }
}

TEST(Recognition, ResizeAndCropsEqualMmaction2) {
  for (const auto& c : test::read_json(test::fixture("recognize/crops.json"))) {
    const tasks::FrameSize r = tasks::resize_short_side({c["width"], c["height"]}, 256);
    EXPECT_EQ(r.width, c["resized"][0].get<int64_t>()) << c.dump();
    EXPECT_EQ(r.height, c["resized"][1].get<int64_t>()) << c.dump();
    const auto three = tasks::three_crop_boxes(r, c["three_crop_size"]);
    for (size_t i = 0; i < 3; ++i)
      EXPECT_EQ((std::vector<int64_t>{three[i].x1, three[i].y1, three[i].x2, three[i].y2}),
                c["three_crop"][i].get<std::vector<int64_t>>()) << c.dump();
    const auto center = tasks::center_crop_box(r, c["center_crop_size"]);
    EXPECT_EQ((std::vector<int64_t>{center.x1, center.y1, center.x2, center.y2}),
              c["center_crop"].get<std::vector<int64_t>>()) << c.dump();
  }
}

// On either engine (the fast one for the first case: one more 3-D network's worth of time).
TEST(RecognizeCli, ScoresEqualMmaction2sInferenceRecognizer) {
  const std::string dir = test::fixture("recognize");
  bool first = true;
  for (const auto& c : test::read_json(dir + "/e2e.json")) {
    for (const std::string engine : {"eager", "fast"}) {
      if (engine == "fast" && !std::exchange(first, false)) continue;
      const std::string args = "recognize i3d_r50 --engine " + engine + " --weights " + test::shell_quote(dir + "/i3d_r50.pth") +
                               " --quiet --format json --protocol " + c["protocol"].get<std::string>() +
                               " --clip-len " + std::to_string(c["clip_len"].get<int64_t>()) + " --frame-interval " +
                               std::to_string(c["frame_interval"].get<int64_t>()) + " --num-clips " +
                               std::to_string(c["num_clips"].get<int64_t>()) + " " +
                               test::shell_quote(dir + "/" + c["input"].get<std::string>());
      const auto r = test::run_reskit(args);
      ASSERT_EQ(r.status, 0) << r.err;
      const nlohmann::json out = nlohmann::json::parse(r.out).at(0);
      EXPECT_EQ(out["total_frames"], c["total_frames"]);
      const std::vector<double> p = out["probabilities"].get<std::vector<double>>();
      const at::Tensor ours = at::tensor(p).to(at::kFloat);
      const at::Tensor theirs = io::read_npy(dir + "/" + c["scores"].get<std::string>());
      EXPECT_TRUE(test::close(ours, theirs, 1e-4)) << c["id"] << " " << engine;
    }
  }
}

TEST(RecognizeCli, BadInputIsOneLineNamingTheFile) {
  const std::string dir = test::temp_dir("recognize_bad");
  const std::string empty = dir + "/empty.avi";
  { std::FILE* f = std::fopen(empty.c_str(), "w"); std::fclose(f); }
  for (const std::string& bad : {empty, dir + "/missing.avi", dir}) {
    const auto r = test::run_reskit("recognize --quiet " + test::shell_quote(bad));
    EXPECT_EQ(r.status, 1) << bad;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace reskit
