// reskit segment and reskit eval-seg end to end, on a small encnet_r50 with
// seeded weights saved as a checkpoint: images are preprocessed by seeds/004's
// own recipe in Python (make_seg_metrics.prepare_inputs: cv2 resize,
// albumentations' normalisation), the logits come from the model here, and
//   segment's masks must equal LibTorch's upsample_bilinear2d + argmax of
//   them at each image's resolution (colours and overlay follow the mask);
//   eval-seg's metrics must equal mmseg's IoUMetric on their argmax against
//   the nearest-resized labels (make_seg_metrics.score).
// Bad input is one line and leaves no files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "reskit/io/npy.h"
#include "reskit/tasks/model_setup.h"
#include "test_util.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/seg_render.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/seg_data.h"
#endif

namespace reskit {
namespace {

#ifdef RESKIT_HAVE_OPENCV
namespace fs = std::filesystem;

constexpr int64_t kSize = 32, kClasses = 5;
const std::vector<std::string> kSets = {"backbone=resnet18", "num_classes=5", "head_channels=16",
                                        "seg_channels=8",    "num_codes=4"};

std::string reference_dir() { return std::string(RESKIT_TEST_SOURCE_DIR) + "/reference"; }

std::string python_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (const std::string& i : items) s += test::shell_quote(i) + ", ";
  return s + "]";
}

void run_python_ok(const std::string& body) {
  const auto r = test::run_python("import sys\nsys.path.insert(0, " + test::shell_quote(reference_dir()) +
                                  ")\nimport make_seg_metrics as m\nimport numpy as np, cv2\n" + body);
  ASSERT_EQ(r.status, 0) << r.err;
}

// Smooth random pictures (blobs of colour) of the given sizes as PNGs; labels
// (when asked) hold classes 0..4 in blocks and 255 in a corner.
// `then`: more Python to run in the same interpreter (one start of Python and torch, not two).
void write_pictures(const std::vector<std::string>& paths, const std::vector<std::pair<int, int>>& sizes,
                    const std::vector<std::string>& labels = {}, const std::string& then = "") {
  std::string sizes_text = "[";
  for (const auto& [w, h] : sizes) sizes_text += "(" + std::to_string(w) + ", " + std::to_string(h) + "), ";
  run_python_ok("rng = np.random.default_rng(7)\n"
                "for k, (path, (w, h)) in enumerate(zip(" + python_list(paths) + ", " + sizes_text + "])):\n"
                "    small = rng.integers(0, 256, (4, 5, 3)).astype(np.uint8)\n"
                "    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)\n"
                "    img = np.clip(img.astype(int) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)\n"
                "    cv2.imwrite(path, img)\n"
                "    labels = " + python_list(labels) + "\n"
                "    if labels:\n"
                "        lab = cv2.resize(rng.integers(0, 5, (3, 4)).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)\n"
                "        lab[: h // 5, : w // 5] = 255\n"
                "        cv2.imwrite(labels[k], lab)\n" + then);
}

struct Fixture {
  std::string dir, weights;
  models::Model model;
};

Fixture make_model(const std::string& name) {
  Fixture f{test::temp_dir(name), "", test::build("encnet_r50", kSets)};
  f.weights = f.dir + "/encnet.pth";
  tasks::save_checkpoint(f.weights, f.model);
  f.model.module->eval();
  return f;
}

at::Tensor logits_of(const Fixture& f, const std::string& input_npy) {
  torch::NoGradGuard no_grad;
  return f.model.forward({io::read_npy(input_npy)})[0];
}

void expect_one_line(const test::CommandResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(SegmentCli, MasksAreTheUpsampledArgmaxAtTheOriginalSize) {
  const Fixture f = make_model("segment_cli");
  fs::create_directories(f.dir + "/other");
  const std::vector<std::string> images = {f.dir + "/street.png", f.dir + "/wide.png", f.dir + "/other/street.png"};
  write_pictures(images, {{45, 37}, {70, 29}, {24, 40}}, {},
                 "m.prepare_inputs(" + python_list(images) + ", " + std::to_string(kSize) + ", " +
                     test::shell_quote(f.dir + "/pre") + ")\n");

  const std::string out = f.dir + "/out";
  const auto r = test::run_reskit("segment --weights " + test::shell_quote(f.weights) + " --size 32 --quiet " +
                                  test::shell_quote(images[0]) + " " + test::shell_quote(images[1]) + " " +
                                  test::shell_quote(images[2]) + " --out " + test::shell_quote(out) + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json results = nlohmann::json::parse(r.out);
  ASSERT_EQ(results.size(), 3u);
  const std::vector<std::string> stems = {"street", "wide", "street_2"};  // a repeated stem gets _2
  for (size_t k = 0; k < images.size(); ++k) {
    const nlohmann::json& j = results[k];
    EXPECT_EQ(j["image"], images[k]);
    EXPECT_EQ(j["mask"], out + "/" + stems[k] + "_mask.png");
    const at::Tensor image = io::read_bgr_image(images[k]);
    const int64_t h = image.size(0), w = image.size(1);
    EXPECT_EQ(j["width"], w);
    EXPECT_EQ(j["height"], h);

    const at::Tensor mask = io::read_bgr_image(j["mask"].get<std::string>()).select(2, 0).to(at::kLong);
    ASSERT_EQ(mask.sizes(), at::IntArrayRef({h, w})) << images[k];
    const at::Tensor logits = logits_of(f, f.dir + "/pre/input" + std::to_string(k) + ".npy");
    ASSERT_EQ(logits.size(1), kClasses);
    const at::Tensor up = at::upsample_bilinear2d(logits, {h, w}, false)[0];
    // Equal, but where the reference's best two classes are within what
    // preprocessing's float rounding can move them.
    const at::Tensor differ = mask != up.argmax(0);
    if (differ.any().item<bool>()) {
      const at::Tensor gap = std::get<0>(up.max(0)) - up.gather(0, mask.unsqueeze(0))[0];
      EXPECT_LT(gap.masked_select(differ).max().item<double>(), 1e-4 * up.abs().max().item<double>() + 1e-5)
          << images[k] << ": " << differ.sum().item<int64_t>() << " pixels differ";
    }
    EXPECT_GT(std::get<0>(at::_unique(mask)).size(0), 1) << "a mask of one class tests little";

    const at::Tensor colour = io::colourise_mask(mask, tasks::camvid_seed_colours());
    EXPECT_TRUE(at::equal(io::read_bgr_image(j["colour"].get<std::string>()), colour.flip(2)));
    EXPECT_TRUE(at::equal(io::read_bgr_image(j["overlay"].get<std::string>()), io::overlay_colours(image, colour)));
    const at::Tensor counts = at::bincount(mask.reshape(-1), {}, kClasses);
    double total = 0;
    for (const nlohmann::json& c : j["classes"]) {
      const int64_t cls = c["class"].get<int64_t>();
      EXPECT_DOUBLE_EQ(c["fraction"].get<double>(), counts[cls].item<double>() / (h * w));
      EXPECT_EQ(c["name"], std::to_string(cls));
      total += c["fraction"].get<double>();
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
  }
  for (const auto& e : fs::directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 9);

  // The text form names the files too.
  const auto text = test::run_reskit("segment --weights " + test::shell_quote(f.weights) + " --size 32 --quiet " +
                                     test::shell_quote(images[1]) + " --out " + test::shell_quote(f.dir + "/out_text"));
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("wide_overlay.png"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("70x29"), std::string::npos) << text.out;
  fs::remove_all(f.dir);
}

TEST(SegmentCli, BadInputIsOneLineAndLeavesNothing) {
  const Fixture f = make_model("segment_cli_bad");
  const std::string good = f.dir + "/good.png", out = f.dir + "/out";
  write_pictures({good}, {{20, 16}});
  std::ofstream(f.dir + "/broken.png") << "not a png";
  std::ofstream(f.dir + "/colours.txt") << "1 2\n";
  const std::string base = "segment --quiet --weights " + test::shell_quote(f.weights) + " ";
  expect_one_line(test::run_reskit(base + "--size 30 " + test::shell_quote(good) + " --out " + test::shell_quote(out)),
                  "multiple of 8");
  expect_one_line(test::run_reskit(base + test::shell_quote(good) + " " + test::shell_quote(f.dir + "/broken.png") +
                                   " --out " + test::shell_quote(out)),
                  "broken.png");
  expect_one_line(test::run_reskit(base + test::shell_quote(f.dir + "/missing.png") + " --out " + test::shell_quote(out)),
                  "missing.png");
  expect_one_line(test::run_reskit(base + "--out " + test::shell_quote(out)), "no images");
  expect_one_line(test::run_reskit(base + test::shell_quote(good)), "--out");
  expect_one_line(test::run_reskit(base + "--colours " + test::shell_quote(f.dir + "/colours.txt") + " " +
                                   test::shell_quote(good) + " --out " + test::shell_quote(out)),
                  "colours.txt");
  // A model whose first output is not N x C x H x W logits.
  const std::string classifier = f.dir + "/resnet18.pth";
  tasks::save_checkpoint(classifier, test::build("resnet18", {"num_classes=3"}));
  expect_one_line(test::run_reskit("segment --quiet --weights " + test::shell_quote(classifier) + " " +
                                   test::shell_quote(good) + " --size 32 --out " + test::shell_quote(out)),
                  "not a segmentation model");
  EXPECT_TRUE(!fs::exists(out) || fs::is_empty(out)) << "a failed run left files in " << out;
  fs::remove_all(f.dir);
}

TEST(EvalSegCli, MetricsEqualMmsegOnTheModelsPredictions) {
  const Fixture f = make_model("eval_seg_cli");
  const std::string data = f.dir + "/camvid";
  fs::create_directories(data + "/valid_images");
  fs::create_directories(data + "/valid_labels");
  const std::vector<std::string> images = {data + "/valid_images/0001.png", data + "/valid_images/0002.png",
                                           data + "/valid_images/0003.png"};
  const std::vector<std::string> labels = {data + "/valid_labels/0001.png", data + "/valid_labels/0002.png",
                                           data + "/valid_labels/0003.png"};
  write_pictures(images, {{48, 40}, {33, 41}, {64, 48}}, labels,
                 "m.prepare_inputs(" + python_list(images) + ", " + std::to_string(kSize) + ", " +
                     test::shell_quote(f.dir + "/pre") + ", " + python_list(labels) + ")\n");
  std::ofstream(data + "/class_names.txt") << "Sky\nRoad\nBuilding\nCar\nTree\n";
  std::vector<std::string> preds, label_npys;
  for (size_t k = 0; k < images.size(); ++k) {
    const at::Tensor logits = logits_of(f, f.dir + "/pre/input" + std::to_string(k) + ".npy");
    preds.push_back(f.dir + "/pre/pred" + std::to_string(k) + ".npy");
    label_npys.push_back(f.dir + "/pre/label" + std::to_string(k) + ".npy");
    io::save_npy(preds.back(), logits.argmax(1).to(at::kFloat));
  }
  run_python_ok("m.score(" + python_list(preds) + ", " + python_list(label_npys) + ", " + std::to_string(kClasses) +
                ", " + test::shell_quote(f.dir + "/expected.json") + ")\n");
  const nlohmann::json expected = test::read_json(f.dir + "/expected.json");

  const auto r = test::run_reskit("eval-seg --weights " + test::shell_quote(f.weights) + " --data " +
                                  test::shell_quote(data) + " --size 32 --batch-size 2 --quiet --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 3);
  EXPECT_EQ(j["split"], "valid");
  EXPECT_NEAR(j["pixel_accuracy"].get<double>(), expected["aAcc"].get<double>(), 1e-6);
  EXPECT_NEAR(j["mean_iou"].get<double>(), expected["mIoU"].get<double>(), 1e-6);
  EXPECT_NEAR(j["seed_accuracy"].get<double>(), expected["seed_accuracy"].get<double>(), 1e-12);
  EXPECT_EQ(j["all_pixels"], expected["all_pixels"]);
  ASSERT_EQ(j["classes"].size(), static_cast<size_t>(kClasses));
  for (int64_t c = 0; c < kClasses; ++c) {
    const nlohmann::json &ours = j["classes"][c], &ref = expected["IoU"][c];
    EXPECT_EQ(ours["name"], std::vector<std::string>({"Sky", "Road", "Building", "Car", "Tree"})[c]);
    if (ref.is_null()) EXPECT_TRUE(ours["iou"].is_null()) << c;
    else EXPECT_NEAR(ours["iou"].get<double>(), ref.get<double>(), 1e-6) << c;
    EXPECT_EQ(ours["pixels"].get<double>(), expected["area_label"][c].get<double>()) << c;
  }
  EXPECT_TRUE(j["loss"].is_number());

  const auto text = test::run_reskit("eval-seg --weights " + test::shell_quote(f.weights) + " --data " +
                                     test::shell_quote(data) + " --size 32 --quiet");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("mIoU"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Building"), std::string::npos) << text.out;

  expect_one_line(test::run_reskit("eval-seg --quiet --weights " + test::shell_quote(f.weights) + " --data " +
                                   test::shell_quote(data) + " --split train"),
                  "train");
  expect_one_line(test::run_reskit("eval-seg --quiet --weights " + test::shell_quote(f.weights) + " --data " +
                                   test::shell_quote(data) + " --size 12"),
                  "multiple of 8");
  expect_one_line(test::run_reskit("eval-seg --quiet --weights " + test::shell_quote(f.weights)), "--data");
  fs::remove_all(f.dir);
}
#endif

}  // namespace
}  // namespace reskit
