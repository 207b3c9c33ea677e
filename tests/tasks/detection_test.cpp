// The detector around rfbnet against the RFBNet code base's own functions
// (tests/reference/make_rfbnet.py): prior boxes, decoding, test_RFB.py's
// post-processing, voc_eval's VOC07 AP, and `reskit detect` / `reskit
// eval-detect` end to end on a generated VOC-layout set.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/io/voc_annotation.h"
#include "reskit/tasks/detection.h"
#include "reskit/tasks/voc_eval.h"
#include "test_util.h"

namespace reskit {
namespace {

std::string dir(const std::string& sub) { return test::fixture("rfbnet/" + sub); }

TEST(PriorBoxes, EqualTheReferencesForEachSizeAndDataset) {
  for (const char* dataset : {"voc", "coco"})
    for (int64_t size : {300, 512}) {
      const at::Tensor ours = tasks::prior_boxes(size, tasks::parse_detection_dataset(dataset));
      const at::Tensor theirs = io::read_npy(dir("priors/") + dataset + "_" + std::to_string(size) + ".npy");
      ASSERT_TRUE(ours.sizes().equals(theirs.sizes())) << dataset << size << ": " << ours.sizes() << " vs " << theirs.sizes();
      EXPECT_TRUE(at::equal(ours, theirs)) << dataset << size << ": max |diff| " << (ours - theirs).abs().max().item<float>();
    }
  EXPECT_EQ(tasks::prior_boxes(300, tasks::DetectionDataset::kVoc).size(0), 11620);
  EXPECT_THROW(tasks::prior_boxes(416, tasks::DetectionDataset::kVoc), Error);
}

TEST(DecodeBoxes, EqualsTheReferencesDecode) {
  const at::Tensor ours = tasks::decode_boxes(io::read_npy(dir("decode/loc.npy")), io::read_npy(dir("decode/priors.npy")));
  EXPECT_TRUE(test::close(ours, io::read_npy(dir("decode/decoded.npy")), 1e-6));
}

TEST(Postprocess, EqualsTestRfbForEveryCase) {
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir("postprocess"))) {
    const std::string d = entry.path().string(), id = entry.path().filename().string();
    const nlohmann::json params = test::read_json(d + "/params.json");
    tasks::PostprocessOptions o;
    o.threshold = params.at("threshold");
    o.nms_iou = params.at("nms");
    o.max_detections = params.at("max_detections");
    const auto found = tasks::postprocess(io::read_npy(d + "/boxes.npy"), io::read_npy(d + "/scores.npy"), o);
    const nlohmann::json expected = test::read_json(d + "/expected.json");
    ASSERT_EQ(found.size(), expected.size()) << id;
    for (size_t i = 0; i < found.size(); ++i) {
      EXPECT_EQ(found[i].cls, expected[i].at("class").get<int64_t>()) << id << " #" << i;
      EXPECT_EQ(found[i].score, expected[i].at("score").get<float>()) << id << " #" << i;
      for (int k = 0; k < 4; ++k) EXPECT_EQ(found[i].box[k], expected[i].at("box")[k].get<float>()) << id << " #" << i;
    }
    ++cases;
  }
  EXPECT_GE(cases, 5);
}

TEST(VocAnnotation, ParsesAsTheReferenceDoes) {
  const nlohmann::json expected = test::read_json(dir("voc/annotations.json"));
  ASSERT_FALSE(expected.empty());
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const auto objects = io::read_voc_annotation(dir("voc/VOCtiny/Annotations/") + it.key() + ".xml");
    ASSERT_EQ(objects.size(), it.value().size()) << it.key();
    for (size_t i = 0; i < objects.size(); ++i) {
      const nlohmann::json& e = it.value()[i];
      EXPECT_EQ(objects[i].name, e.at("name").get<std::string>());
      EXPECT_EQ(objects[i].difficult, e.at("difficult").get<int>() != 0);
      EXPECT_EQ(objects[i].xmin, e.at("bbox")[0].get<double>());
      EXPECT_EQ(objects[i].ymin, e.at("bbox")[1].get<double>());
      EXPECT_EQ(objects[i].xmax, e.at("bbox")[2].get<double>());
      EXPECT_EQ(objects[i].ymax, e.at("bbox")[3].get<double>());
    }
  }
}

TEST(VocAnnotation, BrokenFilesAreOneLineErrors) {
  const std::string src = "test";
  for (const std::string& xml : {std::string("<annotation><object><name>dog</name></object>"),
                                 std::string("<annotation><object><bndbox><xmin>1</xmin></bndbox></object></annotation>"),
                                 std::string("<annotation><object><name>dog</name><bndbox><xmin>a</xmin><ymin>1</ymin>"
                                             "<xmax>2</xmax><ymax>3</ymax></bndbox></object></annotation>"),
                                 std::string("<other/>"), std::string("")}) {
    try {
      io::parse_voc_annotation(xml, src);
      ADD_FAILURE() << "accepted: " << xml;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(io::read_voc_annotation("/dev/zero"), Error);
  EXPECT_THROW(io::parse_voc_annotation("<annotation><object><name>a</name><difficult>x</difficult><bndbox><xmin>1"
                                        "</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>",
                                        src),
               Error);
}

// Many objects parse; a file past the cap is refused before it is parsed.
TEST(VocAnnotation, LargeFilesAreBounded) {
  const std::string object = "<object><name>dog</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>2</ymin>"
                             "<xmax>3</xmax><ymax>4</ymax></bndbox></object>";
  const std::string d = test::temp_dir("voc_large");
  auto write = [&](const std::string& name, size_t objects) {
    std::ofstream out(d + "/" + name);
    out << "<annotation>";
    for (size_t i = 0; i < objects; ++i) out << object;
    out << "</annotation>";
  };
  const size_t fits = (1u << 20) / object.size() - 1;
  write("fits.xml", fits);
  EXPECT_EQ(io::read_voc_annotation(d + "/fits.xml").size(), fits);
  write("too_large.xml", fits + 100);
  try {
    io::read_voc_annotation(d + "/too_large.xml");
    ADD_FAILURE() << "a file over 1 MiB was parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 1 MiB"), std::string::npos) << e.what();
  }
}

// The hand-made detections of make_rfbnet.py against voc_eval's APs.
std::vector<std::vector<tasks::ClassDetection>> detections_by_class(const nlohmann::json& dets,
                                                                    const std::vector<std::string>& ids) {
  std::vector<std::vector<tasks::ClassDetection>> by_class(tasks::voc_classes().size());
  for (const nlohmann::json& d : dets) {
    const auto& names = tasks::voc_classes();
    const size_t c = std::find(names.begin(), names.end(), d.at("class").get<std::string>()) - names.begin();
    const size_t image = std::find(ids.begin(), ids.end(), d.at("image").get<std::string>()) - ids.begin();
    tasks::ClassDetection cd{image, d.at("score").get<float>(), {}};
    for (int k = 0; k < 4; ++k) cd.box[k] = d.at("box")[k].get<float>();
    by_class.at(c).push_back(cd);
  }
  return by_class;
}

TEST(VocEval, Voc07ApEqualsVocEval) {
  const tasks::VocDataset data = tasks::open_voc_dataset(dir("voc/VOCtiny"));
  std::vector<std::vector<io::VocObject>> truth;
  for (const std::string& id : data.ids) truth.push_back(io::read_voc_annotation(data.annotation_path(id)));
  const auto by_class = detections_by_class(test::read_json(dir("voc/detections.json")), data.ids);
  const nlohmann::json expected = test::read_json(dir("voc/expected_ap.json"));
  double sum = 0;
  for (size_t c = 0; c < by_class.size(); ++c) {
    const std::string& name = tasks::voc_classes()[c];
    const double ap = tasks::voc07_average_precision(by_class[c], truth, name);
    EXPECT_NEAR(ap, expected.at(name).get<double>(), 1e-12) << name;
    sum += ap;
  }
  EXPECT_NEAR(sum / 20, expected.at("mAP").get<double>(), 1e-12);
  EXPECT_GT(expected.at("mAP").get<double>(), 0.05);  // the case exercises hits, not only zeros
}

// An annotation's <size>, read off its text.
int64_t xml_int(const std::string& xml, const std::string& tag) {
  const size_t at = xml.find("<" + tag + ">");
  EXPECT_NE(at, std::string::npos) << tag;
  return std::stoll(xml.substr(at + tag.size() + 2));
}

// The network's saved outputs through decode, post-processing and voc_eval:
// exact, without the network's rounding in between.
TEST(VocEval, SavedNetworkOutputsGiveTheReferencesAps) {
  const std::string e2e = dir("eval_end_to_end");
  const tasks::VocDataset data = tasks::open_voc_dataset(dir("voc/VOCtiny"));
  const at::Tensor priors = tasks::prior_boxes(300, tasks::DetectionDataset::kVoc);
  tasks::PostprocessOptions o;
  o.threshold = 0.01;
  std::vector<std::vector<io::VocObject>> truth;
  std::vector<std::vector<tasks::ClassDetection>> by_class(20);
  for (size_t i = 0; i < data.ids.size(); ++i) {
    truth.push_back(io::read_voc_annotation(data.annotation_path(data.ids[i])));
    const std::string xml = test::read_text(data.annotation_path(data.ids[i]));
    const at::Tensor loc = io::read_npy(e2e + "/outputs/" + data.ids[i] + "_loc.npy").view({-1, 4});
    const at::Tensor conf = io::read_npy(e2e + "/outputs/" + data.ids[i] + "_conf.npy").view({-1, 21});
    for (const tasks::Detection& d :
         tasks::detections_from_outputs(loc, conf, priors, xml_int(xml, "width"), xml_int(xml, "height"), o))
      by_class[d.cls - 1].push_back({i, d.score, d.box});
  }
  const nlohmann::json expected = test::read_json(e2e + "/expected_ap.json");
  for (size_t c = 0; c < 20; ++c) {
    const std::string& name = tasks::voc_classes()[c];
    EXPECT_NEAR(tasks::voc07_average_precision(by_class[c], truth, name), expected.at(name).get<double>(), 1e-12) << name;
  }
  EXPECT_GT(expected.at("mAP").get<double>(), 0.0);  // some detections hit
}

TEST(EvalDetectCli, ApsEqualTheReferencePipeline) {
  const std::string e2e = dir("eval_end_to_end");
  const auto r = test::run_reskit("eval-detect rfbnet --weights " + test::shell_quote(e2e + "/weights.pth") + " --format json --quiet " +
                                  test::shell_quote(dir("voc/VOCtiny")));
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json ours = nlohmann::json::parse(r.out);
  const nlohmann::json expected = test::read_json(e2e + "/expected_ap.json");
  for (const std::string& name : tasks::voc_classes())
    EXPECT_NEAR(ours.at("ap").at(name).get<double>(), expected.at(name).get<double>(), 1e-9) << name;
  EXPECT_NEAR(ours.at("mAP").get<double>(), expected.at("mAP").get<double>(), 1e-9);
  EXPECT_GT(expected.at("mAP").get<double>(), 0.0);
}

// On either engine.
TEST(DetectCli, DetectionsEqualTheReferencesInPixels) {
  for (const std::string engine : {"eager", "fast"}) {
    SCOPED_TRACE(engine);
    const std::string e2e = dir("eval_end_to_end");
    const tasks::VocDataset data = tasks::open_voc_dataset(dir("voc/VOCtiny"));
    std::string images;
    for (const std::string& id : data.ids) images += " " + test::shell_quote(data.image_path(id));
    const std::string out = test::temp_dir("detect_out");
    const auto r = test::run_reskit("detect --engine " + engine + " --weights " + test::shell_quote(e2e + "/weights.pth") +
                                    " --format json --quiet --out " + test::shell_quote(out) + images);
    ASSERT_EQ(r.status, 0) << r.err;
    const nlohmann::json ours = nlohmann::json::parse(r.out);
    ASSERT_EQ(ours.size(), data.ids.size());
    size_t total = 0;
    for (size_t i = 0; i < data.ids.size(); ++i) {
      const nlohmann::json expected = test::read_json(e2e + "/detections/" + data.ids[i] + ".json").at("detections");
      const nlohmann::json& got = ours[i].at("detections");
      EXPECT_EQ(ours[i].at("image").get<std::string>(), data.image_path(data.ids[i]));
      ASSERT_EQ(got.size(), expected.size()) << data.ids[i];
      total += got.size();
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k].at("class"), expected[k].at("class")) << data.ids[i] << " #" << k;
        EXPECT_EQ(got[k].at("label"), expected[k].at("label")) << data.ids[i] << " #" << k;
        EXPECT_NEAR(got[k].at("score").get<double>(), expected[k].at("score").get<double>(), 1e-4);
        for (int c = 0; c < 4; ++c)
          EXPECT_NEAR(got[k].at("box")[c].get<double>(), expected[k].at("box")[c].get<double>(), 0.05)
              << data.ids[i] << " #" << k;
      }
      EXPECT_TRUE(std::filesystem::is_regular_file(out + "/" + data.ids[i] + ".jpg")) << "no drawn image";
    }
    EXPECT_GT(total, 0u);
  }
}

TEST(DetectCli, RunsOnARealPhotoAndDrawsIt) {
  const std::string photo = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";
  if (!std::filesystem::exists(photo)) GTEST_SKIP() << "opencv-doc is not installed";
  const std::string out = test::temp_dir("detect_photo");
  const auto r = test::run_reskit("detect rfbnet --threshold 0.02 --max-detections 5 --quiet --out " + test::shell_quote(out) +
                                  " " + photo);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("messi5.jpg: "), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::file_size(out + "/messi5.jpg") > 1000);
}

TEST(DetectCli, AMissingImageIsNamedBeforeAnyWork) {
  const auto r = test::run_reskit("detect --out " + test::shell_quote(test::temp_dir("detect_missing") + "/out") + " missing.jpg");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("image 'missing.jpg' does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(test::temp_dir("detect_missing") + "/out"));
}

TEST(DetectCli, CocoModelsGetCocosPriorsOrAClearError) {
  const auto r = test::run_reskit("detect --set num_classes=81 --dataset voc " +
                                  test::shell_quote(dir("voc/VOCtiny/JPEGImages/000001.jpg")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--dataset coco"), std::string::npos) << r.err;
  const auto coco = test::run_reskit("detect --set num_classes=81 --format json --quiet " +
                                     test::shell_quote(dir("voc/VOCtiny/JPEGImages/000001.jpg")));
  EXPECT_EQ(coco.status, 0) << coco.err;
}

TEST(DetectCli, BadInputsAreOneLineErrors) {
  const std::string d = test::temp_dir("detect_bad");
  std::ofstream(d + "/not_an_image.jpg") << "text";
  for (const std::string& args : {"detect " + test::shell_quote(d + "/not_an_image.jpg"), std::string("detect ") + test::shell_quote(d + "/missing.jpg"),
                                  "detect --size 416 " + test::shell_quote(d + "/not_an_image.jpg"),
                                  "detect --threshold x " + test::shell_quote(d + "/not_an_image.jpg"),
                                  "eval-detect " + test::shell_quote(d), std::string("eval-detect")}) {
    const auto r = test::run_reskit(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

TEST(DetectionLabels, OpencvDocListsMapToRfbnetsIndices) {
  if (!std::filesystem::exists("/usr/share/doc/opencv-doc/examples/data/dnn/object_detection_classes_coco.txt"))
    GTEST_SKIP() << "opencv-doc is not installed";
  const auto voc = tasks::detection_labels(tasks::DetectionDataset::kVoc, 21, "");
  EXPECT_EQ(nlohmann::json(voc), test::read_json(dir("labels/voc.json")));
  const auto coco = tasks::detection_labels(tasks::DetectionDataset::kCoco, 81, "");
  EXPECT_EQ(nlohmann::json(coco), test::read_json(dir("labels/coco.json")));
  // A model with more classes than names numbers the rest.
  EXPECT_EQ(tasks::detection_labels(tasks::DetectionDataset::kVoc, 23, "").back(), "22");
}

}  // namespace
}  // namespace reskit
