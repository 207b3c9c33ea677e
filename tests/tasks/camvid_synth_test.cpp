// reskit make-data camvid (tasks/opencv/camvid_synth.h): the same seed gives
// the same bytes, another seed other scenes; the layout reads back as
// train-seg reads it, with seeds/004's tables; masks hold only the scene
// classes and the ignored border, and every class shows up; the three label
// formats hold the same indices; a foreign folder is refused and nothing is
// left half-written.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

#include "reskit/core/error.h"
#include "reskit/core/interrupt.h"
#include "reskit/core/progress.h"
#include "reskit/io/opencv/label_image.h"
#include "reskit/tasks/opencv/camvid_synth.h"
#include "reskit/tasks/seg_data.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> files_of(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = test::read_text(e.path().string());
  return files;
}

std::string make_data(const std::string& dir, const std::string& flags) {
  const auto r = test::run_reskit("make-data camvid " + test::shell_quote(dir) + " --quiet " + flags);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

void expect_one_line(const test::CommandResult& r, const std::string& message) {
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_EQ(r.err, "reskit: " + message + "\n");
}

TEST(CamvidSynth, SameSeedSameBytesAndTheLayoutReadsBack) {
  const std::string d = test::temp_dir("camvid_synth");
  EXPECT_EQ(make_data(d + "/a", "--images 6 --size 64x48 --seed 5"),
            "wrote " + d + "/a: 5 train, 1 valid, 2 test images of 64x48 (index labels, seed 5)\n");
  // The library makes the same bytes as the command; another seed other scenes.
  tasks::CamvidSynthOptions o;
  o.images = 6;
  o.width = 64;
  o.height = 48;
  o.seed = 5;
  tasks::write_camvid_synth(d + "/b", o, Progress::Style::kQuiet);
  o.seed = 6;
  tasks::write_camvid_synth(d + "/c", o, Progress::Style::kQuiet);
  const auto a = files_of(d + "/a"), b = files_of(d + "/b"), c = files_of(d + "/c");
  EXPECT_EQ(a.size(), 5u + 5 + 1 + 1 + 2 + 2 + 3);
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.at("train_images/street_0000.png"), c.at("train_images/street_0000.png"));
  for (const auto& entry : fs::directory_iterator(d))
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();

  const tasks::SegDataset data = tasks::read_seg_dataset(d + "/a");
  EXPECT_EQ(data.train.size(), 5u);
  EXPECT_EQ(data.valid.size(), 1u);
  EXPECT_EQ(tasks::read_seg_split(d + "/a", "test").size(), 2u);
  EXPECT_EQ(data.class_names, tasks::camvid_seed_names());
  EXPECT_EQ(data.colours, tasks::camvid_seed_colours());
  const io::LabelRead label = io::read_label(data.valid[0].label, data.colours);
  EXPECT_EQ(label.source, io::LabelSource::kIndex);  // a grayscale PNG is indices, a colour table or not
  EXPECT_EQ(label.labels.sizes(), (at::IntArrayRef{48, 64}));

  // Replacing its own earlier output is allowed, and the result is the same.
  o.seed = 5;
  tasks::write_camvid_synth(d + "/a", o, Progress::Style::kQuiet);
  EXPECT_TRUE(files_of(d + "/a") == b);
  EXPECT_FALSE(fs::exists(d + "/a.old." + std::to_string(::getpid())));
}

TEST(CamvidSynth, MasksHoldTheSceneClassesAndAnIgnoredBorder) {
  const std::vector<int64_t>& classes = tasks::camvid_synth_classes();
  std::set<int64_t> allowed(classes.begin(), classes.end());
  allowed.insert(tasks::kIgnoreLabel);
  std::set<int64_t> seen;
  for (uint64_t i = 0; i < 16; ++i) {
    const tasks::SynthScene s = tasks::make_street_scene(80, 60, 17, 0, i);
    ASSERT_EQ(s.image.sizes(), (at::IntArrayRef{60, 80, 3}));
    ASSERT_EQ(s.label.sizes(), (at::IntArrayRef{60, 80}));
    const at::Tensor values = std::get<0>(at::_unique(s.label.to(at::kLong)));
    std::set<int64_t> here;
    for (int64_t k = 0; k < values.numel(); ++k) here.insert(values[k].item<int64_t>());
    for (int64_t v : here) EXPECT_TRUE(allowed.count(v)) << "class " << v << " in scene " << i;
    for (const char* name : {"Sky", "Road", "Building"}) {
      const auto& names = tasks::camvid_seed_names();
      const int64_t index = std::find(names.begin(), names.end(), name) - names.begin();
      EXPECT_TRUE(here.count(index)) << name << " missing in scene " << i;
    }
    seen.insert(here.begin(), here.end());
    // The 2-pixel border is ignored, the inside is not.
    EXPECT_TRUE((s.label.slice(0, 0, 2) == 255).all().item<bool>());
    EXPECT_TRUE((s.label.slice(1, 78, 80) == 255).all().item<bool>());
    EXPECT_EQ((s.label.slice(0, 2, 58).slice(1, 2, 78) == 255).sum().item<int64_t>(), 0);
    // Image k does not depend on how many are made, nor on the machine's threads: a pure function.
    EXPECT_TRUE(tasks::make_street_scene(80, 60, 17, 0, i).image.equal(s.image));
  }
  EXPECT_EQ(seen, allowed) << "every scene class appears in 16 scenes";
  EXPECT_FALSE(tasks::make_street_scene(80, 60, 17, 1, 0).image.equal(tasks::make_street_scene(80, 60, 17, 0, 0).image));
}

TEST(CamvidSynth, LabelFormatsHoldTheSameIndices) {
  const std::string d = test::temp_dir("camvid_synth_formats");
  // The library, not the CLI: each reskit start loads LibTorch, seconds that buy nothing here.
  for (const auto& [name, format] : std::vector<std::pair<std::string, tasks::SynthLabelFormat>>{
           {"index", tasks::SynthLabelFormat::kIndex},
           {"palette", tasks::SynthLabelFormat::kPalette},
           {"colour", tasks::SynthLabelFormat::kColour}}) {
    tasks::CamvidSynthOptions o;
    o.images = 2;
    o.width = o.height = 48;
    o.test_images = 0;
    o.labels = format;
    tasks::write_camvid_synth(d + "/" + name, o, Progress::Style::kQuiet);
  }
  const auto index = files_of(d + "/index"), palette = files_of(d + "/palette"), colour = files_of(d + "/colour");
  EXPECT_EQ(index.at("train_images/street_0000.png"), palette.at("train_images/street_0000.png"));
  EXPECT_EQ(index.at("valid_images/street_0001.png"), colour.at("valid_images/street_0001.png"));
  for (const char* name : {"train_labels/street_0000.png", "valid_labels/street_0001.png"}) {
    const tasks::ClassColours colours = tasks::read_class_colours(d + "/colour/class_colours.txt");
    const io::LabelRead i = io::read_label(d + "/index/" + name);
    const io::LabelRead p = io::read_label(d + "/palette/" + name, colours);
    const io::LabelRead c = io::read_label(d + "/colour/" + name, colours);
    EXPECT_EQ(p.source, io::LabelSource::kPalette);
    EXPECT_EQ(c.source, io::LabelSource::kColours);
    EXPECT_TRUE(i.labels.equal(p.labels)) << name;
    EXPECT_TRUE(i.labels.equal(c.labels)) << name;
    EXPECT_EQ(i.labels.sizes(), (at::IntArrayRef{48, 48}));
  }
}

TEST(CamvidSynth, RefusesAForeignFolderAndBadFlags) {
  const std::string d = test::temp_dir("camvid_synth_refuse");
  fs::create_directories(d + "/mine");
  std::ofstream(d + "/mine/precious.txt") << "keep";
  expect_one_line(test::run_reskit("make-data camvid " + test::shell_quote(d + "/mine") + " --quiet --images 2"),
                  "make-data: '" + d + "/mine' is not empty and not an earlier make-data output");
  EXPECT_EQ(test::read_text(d + "/mine/precious.txt"), "keep");
  EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 1);
  const auto error_of = [&](const tasks::CamvidSynthOptions& o) {
    try {
      tasks::write_camvid_synth(d + "/x", o, Progress::Style::kQuiet);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  tasks::CamvidSynthOptions small;
  small.width = 16;
  small.height = 300;
  EXPECT_EQ(error_of(small), "make-data: --size must be 32 to 4096 pixels a side, got 16x300");
  tasks::CamvidSynthOptions one;
  one.images = 1;
  EXPECT_EQ(error_of(one), "make-data: --images must be 2 to 10000, got 1");
  std::ofstream(d + "/file") << "x";
  EXPECT_EQ([&] {
    try {
      tasks::write_camvid_synth(d + "/file", tasks::CamvidSynthOptions{}, Progress::Style::kQuiet);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), "make-data: '" + d + "/file' exists and is not a folder");
  {
    const InterruptScope scope;
    InterruptScope::request();  // as Ctrl-C would
    EXPECT_EQ(error_of(tasks::CamvidSynthOptions{}), "make-data: interrupted; '" + d + "/x' is as it was");
  }
  { const InterruptScope reset; }  // the flag down again for the tests after
  EXPECT_FALSE(InterruptScope::requested());
  EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 2);  // mine/ and file
  expect_one_line(test::run_reskit("make-data camvid " + test::shell_quote(d + "/x") + " --labels rgb"),
                  "make-data: --labels expects index, palette or colour, got 'rgb'");
  expect_one_line(test::run_reskit("make-data voc " + test::shell_quote(d + "/x")),
                  "make-data: the data set to make comes first: reskit make-data camvid DIR");
  expect_one_line(test::run_reskit("make-data camvid " + test::shell_quote(d + "/x") + " --size 1x2x3"),
                  "--size expects WxH or one number, got '1x2x3'");
  EXPECT_FALSE(fs::exists(d + "/x"));
}

}  // namespace
}  // namespace reskit
