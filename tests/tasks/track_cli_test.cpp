// reskit track end to end on the generated video of make_siamban.py: the
// boxes file equals the reference tracker's trajectory, the rendered video
// and frames exist, and bad input is one line with nothing left behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

std::string tracker_dir() { return test::fixture("siamban/tracker"); }

std::string track_args(const std::string& frames) {
  return "track --weights " + test::shell_quote(tracker_dir() + "/siamban_tracker.pth") + " --quiet --frames " +
         test::shell_quote(frames);
}

std::vector<std::vector<double>> read_boxes(const std::string& path) {
  std::vector<std::vector<double>> boxes;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) {
    std::vector<double> b;
    std::istringstream fields(line);
    for (std::string v; std::getline(fields, v, ',');) b.push_back(std::stod(v));
    boxes.push_back(b);
  }
  return boxes;
}

void expect_one_line(const test::CommandResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(TrackCli, BoxesEqualTheReferenceTrackerAndFramesAreRendered) {
  const nlohmann::json params = test::read_json(tracker_dir() + "/params.json");
  const nlohmann::json expected = test::read_json(tracker_dir() + "/expected.json");
  const std::string out = test::temp_dir("track_cli");
  const auto& init = params["init_bbox"];
  const std::string init_text = std::to_string(init[0].get<int>()) + "," + std::to_string(init[1].get<int>()) + "," +
                                std::to_string(init[2].get<int>()) + "," + std::to_string(init[3].get<int>());
  const auto r = test::run_reskit(track_args(tracker_dir() + "/frames") + " --init " + init_text + " --out " +
                                  test::shell_quote(out + "/boxes.txt") + " --render " +
                                  test::shell_quote(out + "/video.mp4"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("fps"), std::string::npos) << r.out;
  const auto boxes = read_boxes(out + "/boxes.txt");
  ASSERT_EQ(boxes.size(), params["frames"].size());
  for (int k = 0; k < 4; ++k) EXPECT_EQ(boxes[0][k], init[k].get<double>());  // OTB's first line: the init box
  for (size_t i = 1; i < boxes.size(); ++i)
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(boxes[i][k], expected[i - 1]["bbox"][k].get<double>(), 0.01) << i;
  EXPECT_GT(fs::file_size(out + "/video.mp4"), 1000u);

  const auto d = test::run_reskit(track_args(tracker_dir() + "/frames") + " --init " + init_text +
                                  " --max-frames 3 --render " + test::shell_quote(out + "/drawn/"));
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_TRUE(fs::is_regular_file(out + "/drawn/0003.png"));
  EXPECT_FALSE(fs::exists(out + "/drawn/0004.png"));
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

TEST(TrackCli, BadInputIsOneLineAndLeavesNothing) {
  const std::string d = test::temp_dir("track_cli_bad");
  const std::string frames = tracker_dir() + "/frames";
  fs::create_directories(d + "/empty");
  std::ofstream(d + "/empty.avi") << "";
  std::ofstream(d + "/garbage.avi") << "not a video at all";
  expect_one_line(test::run_reskit(track_args(d + "/empty") + " --init 1,1,5,5"), "no images");
  expect_one_line(test::run_reskit("track --quiet --video " + test::shell_quote(d + "/empty.avi") + " --init 1,1,5,5"),
                  "empty");
  expect_one_line(test::run_reskit("track --quiet --video " + test::shell_quote(d + "/garbage.avi") + " --init 1,1,5,5"),
                  "garbage.avi");
  expect_one_line(test::run_reskit(track_args(frames) + " --init 1000,10,20,20"), "outside");
  expect_one_line(test::run_reskit(track_args(frames) + " --init 10,10,0,20"), "positive");
  expect_one_line(test::run_reskit(track_args(frames) + " --init 10,10,20"), "x,y,w,h");
  expect_one_line(test::run_reskit("track --quiet --init 1,1,5,5"), "--video");
  if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
    expect_one_line(test::run_reskit(track_args(frames)), "no display");

  // A frame that cannot be decoded half-way: an error naming it, and neither
  // the boxes nor the rendering appear.
  const std::string broken = d + "/broken";
  fs::create_directories(broken);
  for (const char* name : {"0001.png", "0002.png", "0003.png"}) fs::copy_file(frames + "/" + name, broken + "/" + name);
  std::ofstream(broken + "/0004.png") << "not a png";
  const std::string out = d + "/out";
  fs::create_directories(out);
  expect_one_line(test::run_reskit(track_args(broken) + " --init 70,60,44,34 --out " +
                                   test::shell_quote(out + "/boxes.txt") + " --render " +
                                   test::shell_quote(out + "/video.mp4")),
                  "0004.png");
  EXPECT_TRUE(fs::is_empty(out)) << "a failed run left files in " << out;
}

}  // namespace
}  // namespace reskit
