// The CamVid layout (tasks/seg_data.h): splits in name order, labels by the
// image's name, by <stem>.png or CamVid's <stem>_L.png; the class names and
// colours files; seeds/004's tables against the reference's copy; and the
// one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_data.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

void touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A layout whose files are placeholders: listing never decodes them.
std::string layout(const std::string& name) {
  const std::string d = test::temp_dir(name);
  for (const char* f : {"b.png", "a.png", "c.jpg", "d.png"}) touch(d + "/train_images/" + f);
  touch(d + "/train_images/notes.txt");  // not an image
  touch(d + "/train_labels/a.png");
  touch(d + "/train_labels/b_L.png");
  touch(d + "/train_labels/c.png");
  touch(d + "/train_labels/d.png");
  touch(d + "/train_labels/d_L.png");  // the same name wins
  touch(d + "/valid_images/v.png");
  touch(d + "/valid_labels/v.png");
  return d;
}

TEST(SegData, SplitsAreInNameOrderWithTheirLabels) {
  const std::string d = layout("seg_layout");
  const tasks::SegDataset data = tasks::read_seg_dataset(d);
  ASSERT_EQ(data.train.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"a.png", "a.png"}, {"b.png", "b_L.png"}, {"c.jpg", "c.png"}, {"d.png", "d.png"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(data.train[i].image, (fs::path(d) / "train_images" / expected[i].first).string());
    EXPECT_EQ(data.train[i].label, (fs::path(d) / "train_labels" / expected[i].second).string());
  }
  ASSERT_EQ(data.valid.size(), 1u);
  EXPECT_TRUE(data.class_names.empty());
  EXPECT_TRUE(data.colours.empty());

  write(d + "/class_names.txt", "Sky\r\n Road \nCar\n\n\n");
  write(d + "/class_colours.txt", "128 128 128 Sky\n128,64,128\n 64, 0, 128  Car\n");
  const tasks::SegDataset named = tasks::read_seg_dataset(d);
  EXPECT_EQ(named.class_names, (std::vector<std::string>{"Sky", "Road", "Car"}));
  EXPECT_EQ(named.colours, (tasks::ClassColours{{128, 128, 128}, {128, 64, 128}, {64, 0, 128}}));
  write(d + "/other.txt", "1 2 3\n");
  EXPECT_EQ(tasks::read_seg_dataset(d, d + "/other.txt").colours, (tasks::ClassColours{{1, 2, 3}}));
  EXPECT_EQ(tasks::read_seg_split(d, "valid")[0].label, (fs::path(d) / "valid_labels" / "v.png").string());
}

TEST(SegData, LayoutErrorsNameThePath) {
  const std::string d = layout("seg_layout_errors");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_dataset(d + "/nowhere"); }), "'" + d + "/nowhere' is not a directory");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_split(d, "test"); }),
            "'" + d + "/test_images' is missing (a CamVid-layout folder holds train_images/, train_labels/, "
            "valid_images/, valid_labels/)");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_split(d, "extra"); }), "unknown split 'extra' (train, valid or test)");
  touch(d + "/train_images/e.png");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_dataset(d); }),
            "image '" + d + "/train_images/e.png' has no label in '" + d + "/train_labels' (e.png, e.png or e_L.png)");
  fs::remove(d + "/train_images/e.png");
  fs::remove(d + "/valid_images/v.png");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_dataset(d); }), "'" + d + "/valid_images': no images in the directory");
  fs::remove_all(d + "/valid_labels");
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_split(d, "valid"); }).find("/valid_labels' is missing"), d.size() + 1);
  EXPECT_EQ(test::error_of([&] { tasks::read_seg_dataset(layout("seg_layout_colours"), d + "/absent.txt"); }),
            "cannot read class colours file '" + d + "/absent.txt'");
}

TEST(SegData, ClassFilesErrorsNameTheLine) {
  const auto colours = [](const std::string& text) { return test::error_of([&] { tasks::parse_class_colours(text, "c.txt"); }); };
  EXPECT_EQ(colours("1 2 3\n1 2 256\n"), "'c.txt' line 2: expects R G B (each 0-255), got '1 2 256'");
  EXPECT_EQ(colours("1 2\n"), "'c.txt' line 1: expects R G B (each 0-255), got '1 2'");
  EXPECT_EQ(colours("-1 2 3\n"), "'c.txt' line 1: expects R G B (each 0-255), got '-1 2 3'");
  EXPECT_EQ(colours("1.5 2 3\n"), "'c.txt' line 1: expects R G B (each 0-255), got '1.5 2 3'");
  EXPECT_EQ(colours("0001 2 3\n"), "'c.txt' line 1: expects R G B (each 0-255), got '0001 2 3'");
  EXPECT_EQ(colours("1 2 3\n\n4 5 6\n"), "'c.txt' line 2: empty");
  EXPECT_EQ(colours("1 2 3 a\n4 5 6\n1,2,3 b\n"), "'c.txt' line 3: colour 1 2 3 is given to an earlier class too");
  EXPECT_EQ(colours("\n \n"), "'c.txt': no classes in the file");
  std::string many;
  for (int i = 0; i < 256; ++i) many += std::to_string(i) + " 0 0\n";
  EXPECT_EQ(colours(many), "'c.txt': more than 255 lines (255 is the ignore label)");
  EXPECT_EQ(tasks::parse_class_colours(many.substr(0, many.rfind("255 0 0")), "c.txt").size(), 255u);
  EXPECT_EQ(test::error_of([] { tasks::parse_class_names(std::string("a\nb\0c\n", 6), "n.txt"); }), "'n.txt' line 2: not text");

  const std::string d = test::temp_dir("seg_class_files");
  write(d + "/big.txt", std::string(tasks::kMaxClassFileBytes + 1, 'a'));
  EXPECT_EQ(test::error_of([&] { tasks::read_class_names(d + "/big.txt"); }),
            "'" + d + "/big.txt' is larger than 1 MiB: not a class names file");
}

TEST(SegData, SeedTablesAreSeed004s) {
  const nlohmann::json tables = test::read_json(test::fixture("seg_data/seed_tables.json"));
  const tasks::ClassColours& colours = tasks::camvid_seed_colours();
  ASSERT_EQ(colours.size(), tables["colours"].size());
  for (size_t i = 0; i < colours.size(); ++i)
    for (int k = 0; k < 3; ++k) EXPECT_EQ(colours[i][k], tables["colours"][i][k].get<int>()) << i;
  EXPECT_EQ(tasks::camvid_seed_names(), tables["names"].get<std::vector<std::string>>());
}

TEST(SegData, LabelNames) {
  const std::vector<std::string> labels = {"a.png", "b_L.png", "c.png", "c_L.png"};
  EXPECT_EQ(tasks::label_name_for("a.png", labels), "a.png");
  EXPECT_EQ(tasks::label_name_for("b.png", labels), "b_L.png");
  EXPECT_EQ(tasks::label_name_for("c.jpg", labels), "c.png");
  EXPECT_EQ(tasks::label_name_for("d.png", labels), "");
}

}  // namespace
}  // namespace reskit
