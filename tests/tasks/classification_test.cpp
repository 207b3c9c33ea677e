// reskit classify against torchvision's transform + model on the same image.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace reskit {
namespace {

std::string dir() { return test::fixture("classify"); }

#ifndef RESKIT_HAVE_OPENCV
// Built without OpenCV (e.g. against a LibTorch that ships none): classify says so.
TEST(Classify, WithoutOpenCvSaysSo) {
  auto r = test::run_reskit("classify resnet18 " + dir() + "/square.png");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "reskit: classify: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)\n");
}
#else

TEST(Classify, MatchesTorchvisionTop5) {
  auto r = test::run_reskit("classify resnet18 --weights " + dir() + "/resnet18.pth --resize 224 --format json " +
                            dir() + "/square.png");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto ours = nlohmann::json::parse(r.out).at(0).at("top");
  const auto expected = nlohmann::json::parse(test::read_text(dir() + "/expected.json")).at("square.png");
  ASSERT_EQ(ours.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(ours[i]["index"], expected[i]["index"]) << "rank " << i;
    EXPECT_NEAR(ours[i]["probability"].get<double>(), expected[i]["probability"].get<double>(), 1e-5) << "rank " << i;
  }
  EXPECT_FALSE(ours[0]["label"].get<std::string>().empty());
}

TEST(Classify, TableNamesImageNetClasses) {
  auto r = test::run_reskit("classify resnet18 --weights " + dir() + "/resnet18.pth " + dir() + "/square.png");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind(dir() + "/square.png\n", 0), 0u);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 6);
  EXPECT_NE(r.out.find('%'), std::string::npos);
}

TEST(Classify, BadImagesAreOneLineErrors) {
  auto r = test::run_reskit("classify resnet18 " + dir() + "/missing.png");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "reskit: image '" + dir() + "/missing.png' does not exist\n");
  r = test::run_reskit("classify resnet18");
  EXPECT_EQ(r.err, "reskit: classify: no images given\n");
  r = test::run_reskit("classify resnet18 " + dir() + "/resnet18.pth");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "reskit: image '" + dir() + "/resnet18.pth' cannot be decoded\n");
  r = test::run_reskit("classify resnet18 --resize 100 " + dir() + "/square.png");
  EXPECT_EQ(r.err, "reskit: --resize 100 is smaller than the crop 224\n");
}

#endif  // RESKIT_HAVE_OPENCV

}  // namespace
}  // namespace reskit
